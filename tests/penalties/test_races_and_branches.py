"""Two runs at once write each charge once; a branch supervisor's run and waiver keep to their branches."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.exc import DBAPIError

from db.engine import Actor
from tests.branches.book import FAKE_HASH
from tests.penalties.book import charges, loan, one, penalty_due, product, run, scalar

D = Decimal


def test_two_runs_at_once_write_each_charge_once(engine: Engine) -> None:
    rule = product(engine, interval=7, cap="200")
    loans = [loan(engine, rule, surname=f"Race{n}") for n in range(3)]
    racer = create_engine(engine.url, poolclass=pool.NullPool)
    results: dict[str, int] = {}
    errors: list[BaseException] = []
    with engine.connect() as first:
        first.begin()
        results["first"] = int(first.execute(text("SELECT apply_overdue_penalties(:d)"),
                                             {"d": date(2026, 3, 20)}).scalar_one())
        first_pid = first.execute(text("SELECT pg_backend_pid()")).scalar()

        def second() -> None:
            try:
                with racer.begin() as conn:
                    results["second"] = int(conn.execute(text("SELECT apply_overdue_penalties(:d)"),
                                                         {"d": date(2026, 3, 20)}).scalar_one())
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        # The second run waits for the first's uncommitted charges (its unique key), then writes nothing.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with engine.connect() as probe:
                waiting = probe.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE :p = ANY (pg_blocking_pids(pid))"),
                    {"p": first_pid}).scalar()
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the second run never waited for the first"
        first.commit()
    thread.join(30)
    racer.dispose()
    assert not errors, errors
    assert results["first"] > 0 and results["second"] == 0
    for lid in loans:
        got = charges(engine, lid)
        assert len({(n, k) for n, k, *_ in got}) == len(got)
        owed = {n: sum(c[3] for c in got if c[0] == n) for n in {c[0] for c in got}}
        assert penalty_due(engine, lid) == owed
        assert owed[1] == D("200.00")
    # And a second run the same day, alone: nothing.
    assert run(engine, date(2026, 3, 20)) == 0


def _branch_with_supervisor(engine: Engine, code: str) -> tuple[int, Actor]:
    with engine.begin() as conn:
        hq = conn.execute(text("SELECT id FROM branches WHERE parent_id IS NULL")).scalar_one()
        admin = conn.execute(text("SELECT id FROM users WHERE username = 'admin'")).scalar_one()
        branch = conn.execute(text("SELECT create_branch(:c, :c, :p, :a)"), {"c": code, "p": hq, "a": admin}).scalar()
        uid = conn.execute(text(
            "INSERT INTO users (username, password_hash, full_name, role, branch_id) "
            "VALUES (:u, :h, :u, 'supervisor', :b) RETURNING id"),
            {"u": f"sup_{code}".lower(), "b": branch, "h": FAKE_HASH}).scalar()
    return branch, Actor(uid, f"sup_{code}".lower(), "supervisor", branch_id=branch)


def test_a_branch_supervisor_charges_and_waives_only_in_their_branches(engine: Engine, app_engine: Engine) -> None:
    rule = product(engine)
    nrb, nrb_sup = _branch_with_supervisor(engine, "NRB01")
    msa, _ = _branch_with_supervisor(engine, "MSA01")
    ours = loan(engine, rule, surname="Ours", branch_id=nrb)
    theirs = loan(engine, rule, surname="Theirs", branch_id=msa)
    assert run(app_engine, date(2026, 2, 4), nrb_sup) == 1
    assert len(charges(engine, ours)) == 1 and charges(engine, theirs) == []
    # Another branch's charge: as if it did not exist, and nothing changes.
    assert run(engine, date(2026, 2, 4)) == 1
    charge = scalar(engine, "SELECT id FROM loan_charges WHERE loan_id = :l", l=theirs)
    with pytest.raises(DBAPIError) as info:
        one(app_engine, nrb_sup, "SELECT waive_charge(:c, 1, 'not mine', :me)", c=charge, me=nrb_sup.user_id)
    assert info.value.orig.sqlstate == "P0101"
    assert charges(engine, theirs)[0][4] == D("0.00")
    assert one(app_engine, nrb_sup, "SELECT count(*) FROM loan_charges") == 1
    assert one(app_engine, nrb_sup, "SELECT loan_charge_unpaid(:c)", c=charge) is None
    # The run's refusal of a future day.
    with pytest.raises(DBAPIError) as info:
        run(app_engine, date(2999, 1, 1), nrb_sup)
    assert info.value.orig.sqlstate == "P0104"
