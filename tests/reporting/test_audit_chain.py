"""The sealed audit chain: verify finds edited, deleted and inserted rows; sealing never loses a late row."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from astrofin_tui.cli import main
from db import audit
from db.engine import unit_of_work

ROOT = Path(__file__).resolve().parents[2]


def seal(engine: Engine) -> int:
    with engine.begin() as conn:
        return audit.seal(conn)


def verify(engine: Engine) -> audit.VerifyResult:
    with engine.connect() as conn:
        return audit.verify(conn)


def add_customers(engine: Engine, count: int) -> None:
    with engine.begin() as conn:
        for k in range(count):
            conn.execute(text("INSERT INTO customers (first_name, last_name) VALUES ('Audit', :l)"),
                         {"l": f"Row{k}"})


def as_attacker(engine: Engine, sql: str, **params: object) -> None:
    """A superuser switching the append-only trigger off, as someone covering their tracks would."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(sql), params)


def sealed_ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM audit_logs WHERE chain_seq IS NOT NULL ORDER BY chain_seq"))
                    .scalars())


@pytest.fixture
def cli_env(pg_server, db_url, monkeypatch):
    monkeypatch.setenv("DB_HOST", pg_server.server.socket_dir)
    monkeypatch.setenv("DB_PORT", str(pg_server.server.port))
    monkeypatch.setenv("DB_NAME", db_url.database)
    return db_url.database


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(["audit", "verify", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_untouched_log_verifies(engine, cli_env, capsys):
    add_customers(engine, 3)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM audit_logs")).scalar()
    assert total > 3
    code, out = run_cli(capsys)
    assert code == 0, out
    assert out.strip() == f"OK: {total} rows sealed and verified (0 not yet sealed)"
    # Nothing new: the next seal chains nothing, and verifying without sealing counts new rows.
    assert seal(engine) == 0
    add_customers(engine, 2)
    code, out = run_cli(capsys, "--no-seal", "-d", cli_env)
    assert code == 0
    assert out.strip() == f"OK: {total} rows sealed and verified (2 not yet sealed)"


def test_seal_orders_by_sealing_and_links_every_row(engine):
    add_customers(engine, 5)
    sealed = seal(engine)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT chain_seq, prev_hash, row_hash FROM audit_logs ORDER BY chain_seq")).all()
    assert sealed == len(rows)
    assert [r.chain_seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:], strict=False))
    result = verify(engine)
    assert result.ok and result.rows_checked == len(rows) and result.head_hash == rows[-1].row_hash


def test_edited_row_is_named(engine, cli_env, capsys):
    add_customers(engine, 4)
    seal(engine)
    victim = sealed_ids(engine)[5]
    as_attacker(engine, "UPDATE audit_logs SET new_values = new_values || '{\"last_name\": \"Nobody\"}' "
                        "WHERE id = :id", id=victim)
    result = verify(engine)
    assert (result.ok, result.broken_id, result.kind) == (False, victim, "edited")
    code, out = run_cli(capsys)
    assert code == 1
    assert f"BROKEN at audit row ID: {victim} (edited)" in out


def test_edit_of_who_or_when_is_found_too(engine):
    add_customers(engine, 2)
    seal(engine)
    victim = sealed_ids(engine)[-1]
    as_attacker(engine, "UPDATE audit_logs SET changed_at = changed_at - interval '1 microsecond' WHERE id = :id",
                id=victim)
    assert (verify(engine).broken_id, verify(engine).kind) == (victim, "edited")


def test_deleted_row_is_named_by_the_row_after_the_gap(engine, cli_env, capsys):
    add_customers(engine, 4)
    seal(engine)
    ids = sealed_ids(engine)
    as_attacker(engine, "DELETE FROM audit_logs WHERE id = :id", id=ids[3])
    result = verify(engine)
    assert (result.ok, result.broken_id, result.kind) == (False, ids[4], "deleted")
    assert "4 to 4" in (result.reason or "")
    code, out = run_cli(capsys)
    assert code == 1 and f"BROKEN at audit row ID: {ids[4]} (deleted)" in out


def test_deleted_rows_at_the_end_are_found(engine):
    add_customers(engine, 3)
    seal(engine)
    ids = sealed_ids(engine)
    as_attacker(engine, "DELETE FROM audit_logs WHERE id = ANY(:ids)", ids=ids[-2:])
    result = verify(engine)
    assert (result.ok, result.broken_id, result.kind) == (False, ids[-3], "deleted")
    assert "at the end of the chain" in (result.reason or "")


def test_deleted_and_renumbered_row_is_found(engine):
    add_customers(engine, 3)
    seal(engine)
    ids = sealed_ids(engine)
    as_attacker(engine, "DELETE FROM audit_logs WHERE id = :id", id=ids[2])
    as_attacker(engine, "UPDATE audit_logs SET chain_seq = chain_seq - 1 WHERE chain_seq > 3")
    result = verify(engine)
    assert (result.broken_id, result.kind) == (ids[3], "deleted")


def test_row_slipped_in_under_an_old_id_is_found_after_sealing(engine, cli_env, capsys):
    add_customers(engine, 1)
    with engine.begin() as conn:  # an id handed out and never used: a rolled-back write leaves the same
        hole = conn.execute(text("SELECT nextval(pg_get_serial_sequence('audit_logs', 'id'))")).scalar()
    add_customers(engine, 2)
    seal(engine)
    with engine.begin() as conn:  # no trigger needs disabling to insert
        conn.execute(text(
            "INSERT INTO audit_logs (id, table_name, record_id, action, new_values, changed_by, changed_at) "
            "VALUES (:id, 'transactions', 1, 'INSERT', '{\"amount\": \"5000.00\"}', 2, now() - interval '3 days')"),
            {"id": hole})
    # Before sealing, verify already names it; `audit verify` seals first and still names it.
    assert (verify(engine).broken_id, verify(engine).kind) == (hole, "inserted")
    code, out = run_cli(capsys)
    assert code == 1 and f"BROKEN at audit row ID: {hole} (inserted)" in out
    with engine.connect() as conn:
        assert conn.execute(text("SELECT chain_seq IS NOT NULL FROM audit_logs WHERE id = :id"),
                            {"id": hole}).scalar()


def test_forged_sealed_row_is_found(engine):
    add_customers(engine, 2)
    seal(engine)
    with engine.begin() as conn:
        head = conn.execute(text(
            "SELECT chain_seq, row_hash FROM audit_logs ORDER BY chain_seq DESC LIMIT 1")).one()
        forged = conn.execute(text(
            "INSERT INTO audit_logs (table_name, record_id, action, new_values, chain_seq, prev_hash, row_hash, "
            "sealed_at) VALUES ('loans', 1, 'UPDATE', '{}', :seq, :prev, :hash, now()) RETURNING id"),
            {"seq": head.chain_seq + 1, "prev": head.row_hash, "hash": "f" * 64}).scalar_one()
    assert (verify(engine).broken_id, verify(engine).kind) == (forged, "edited")


def test_forged_row_with_a_correct_hash_is_still_found(engine):
    add_customers(engine, 2)
    seal(engine)
    with engine.begin() as conn:
        head = conn.execute(text(
            "SELECT chain_seq, row_hash FROM audit_logs ORDER BY chain_seq DESC LIMIT 1")).one()
        forged = conn.execute(text(
            "INSERT INTO audit_logs (table_name, record_id, action, new_values, changed_by, db_role, changed_at, "
            "chain_seq, prev_hash, row_hash, sealed_at) "
            "VALUES ('loans', 1, 'UPDATE', '{}', 2, 'x', '2025-01-01', :seq, :prev, "
            "audit_log_hash(:prev, currval(pg_get_serial_sequence('audit_logs', 'id')), :seq, 'loans', 1, 'UPDATE', "
            "NULL, '{}', 2, 'x', '2025-01-01', NULL), now()) RETURNING id"),
            {"seq": head.chain_seq + 1, "prev": head.row_hash}).scalar_one()
    result = verify(engine)
    assert (result.broken_id, result.kind) == (forged, "inserted")


def test_late_committing_row_is_sealed_not_skipped(engine):
    add_customers(engine, 1)
    seal(engine)
    slow = engine.connect()
    slow.begin()
    slow.execute(text("INSERT INTO customers (first_name, last_name) VALUES ('Slow', 'Writer')"))
    add_customers(engine, 2)           # commits rows with higher ids
    first = seal(engine)               # seals them; the slow row is not committed yet
    slow.commit()
    slow.close()
    with engine.connect() as conn:
        slow_id, slow_seq = conn.execute(text(
            "SELECT id, chain_seq FROM audit_logs WHERE new_values->>'first_name' = 'Slow'")).one()
        highest_sealed = conn.execute(text("SELECT max(id) FROM audit_logs WHERE chain_seq IS NOT NULL")).scalar()
    assert first == 2 and slow_seq is None and slow_id < highest_sealed
    assert verify(engine).unsealed == 1 and verify(engine).ok
    assert seal(engine) == 1
    result = verify(engine)
    assert result.ok and result.unsealed == 0, result


def test_application_roles_cannot_change_the_log(factory, engine):
    add_customers(engine, 1)
    seal(engine)
    admin = factory.actor("admin")
    for sql in ("UPDATE audit_logs SET changed_by = 1", "DELETE FROM audit_logs",
                "UPDATE audit_logs SET chain_seq = NULL", "DELETE FROM audit_seals"):
        with pytest.raises(DBAPIError) as exc, unit_of_work(engine, admin) as session:
            session.execute(text(sql))
        assert exc.value.orig.sqlstate == "42501", sql
    with unit_of_work(engine, admin) as session:
        assert session.execute(text("SELECT count(*) FROM audit_logs")).scalar() > 0
        assert session.execute(text("SELECT ok FROM (SELECT broken_id IS NULL AS ok FROM verify_audit_log()) v"))\
            .scalar()


def test_trigger_lets_sealing_set_the_chain_columns_once_and_nothing_else(engine):
    add_customers(engine, 1)
    with engine.connect() as conn:
        unsealed = conn.execute(text("SELECT min(id) FROM audit_logs WHERE chain_seq IS NULL")).scalar()
    refused = [
        "UPDATE audit_logs SET table_name = 'x' WHERE id = :id",
        "UPDATE audit_logs SET chain_seq = 999, prev_hash = 'a', row_hash = 'b', sealed_at = now(), "
        "changed_by = 1 WHERE id = :id",
        "DELETE FROM audit_logs WHERE id = :id",
        "TRUNCATE audit_logs",
    ]
    for sql in refused:
        with pytest.raises(DBAPIError) as exc, engine.begin() as conn:
            conn.execute(text(sql), {"id": unsealed})
        assert exc.value.orig.sqlstate == "P0010", sql
    seal(engine)
    with pytest.raises(DBAPIError) as exc, engine.begin() as conn:
        conn.execute(text("UPDATE audit_logs SET row_hash = 'x', seal_note = 'y' WHERE id = :id"), {"id": unsealed})
    assert exc.value.orig.sqlstate == "P0010"
    assert verify(engine).ok


@pytest.mark.parametrize("username", ["cashier", "officer", "supervisor", "accountant"])
def test_only_admin_seals(factory, engine, username):
    with pytest.raises(DBAPIError) as exc, unit_of_work(engine, factory.actor(username)) as session:
        session.execute(text("SELECT seal_audit_log()"))
    assert exc.value.orig.sqlstate == "42501"
    with unit_of_work(engine, factory.actor("admin")) as session:
        assert session.execute(text("SELECT seal_audit_log()")).scalar() > 0


def test_seal_refuses_repeatable_read(engine):
    with pytest.raises(DBAPIError) as exc, engine.connect() as conn:
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        conn.execute(text("SELECT seal_audit_log()"))
    assert exc.value.orig.sqlstate == "P0107"
    assert "READ COMMITTED" in str(exc.value.orig)


def test_writers_and_a_repeated_sealer_leave_a_chain_that_verifies(engine):
    stop = threading.Event()
    errors: list[BaseException] = []
    seals = 0

    def writer(worker: int) -> None:
        rng = random.Random(worker)
        try:
            for k in range(25):
                with engine.begin() as conn:
                    cid = conn.execute(text(
                        "INSERT INTO customers (first_name, last_name) VALUES ('W', :l) RETURNING id"),
                        {"l": f"{worker}-{k}"}).scalar_one()
                    time.sleep(rng.random() * 0.01)   # hold the transaction open across seals
                    conn.execute(text("UPDATE customers SET occupation = 'trader' WHERE id = :c"), {"c": cid})
        except BaseException as exc:  # reported below
            errors.append(exc)

    def sealer() -> None:
        nonlocal seals
        try:
            while not stop.is_set():
                seal(engine)
                seals += 1
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    sealers = [threading.Thread(target=sealer) for _ in range(2)]
    for thread in writers + sealers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in sealers:
        thread.join()
    assert not errors, errors
    assert seals > 5
    seal(engine)
    result = verify(engine)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM audit_logs")).scalar()
        notes = conn.execute(text("SELECT count(*) FROM audit_logs WHERE seal_note IS NOT NULL")).scalar()
        out_of_order = conn.execute(text(
            "SELECT count(*) FROM (SELECT id < lag(id) OVER (ORDER BY chain_seq) AS back FROM audit_logs) x "
            "WHERE back")).scalar()
    assert result.ok, result
    assert (result.rows_checked, result.unsealed, notes) == (total, 0, 0)
    assert total >= 6 * 25 * 2
    # Rows committed late were chained after rows with higher ids, and none was flagged.
    print(f"{seals} seals, {out_of_order} rows chained after a higher id")


def test_cli_in_a_subprocess(pg_server, db_url, engine):
    add_customers(engine, 2)
    env = dict(os.environ, DB_HOST=pg_server.server.socket_dir, DB_PORT=str(pg_server.server.port),
               DB_NAME=db_url.database)
    command = [sys.executable, "-m", "astrofin_tui.cli", "audit", "verify"]
    ok = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: ") and "(0 not yet sealed)" in ok.stdout
    victim = sealed_ids(engine)[1]
    as_attacker(engine, "UPDATE audit_logs SET action = 'DELETE' WHERE id = :id", id=victim)
    broken = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1
    assert broken.stdout.startswith(f"BROKEN at audit row ID: {victim} (edited)")


def test_cli_names_a_database_without_the_chain(pg_server, cli_env, capsys):
    name = "t_audit_empty_db"
    pg_server.create_database(name, template=None)
    try:
        code, out = run_cli(capsys, "-d", name)
    finally:
        pg_server.drop_database(name)
    assert code == 1
    assert out.strip() == f"astrofin: database '{name}' has no audit chain yet; run `astrofin db migrate` first"
