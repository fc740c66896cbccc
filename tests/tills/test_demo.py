"""The demo: NRB01 and MSA01 take cash only into tills T1 and T2, their vaults hold 200,000.00 from an entry posted
after the demo history (which was taken before tills and is as it was), and no session is open."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from db.demo_loans import DEMO_VAULT, TILL_BRANCHES
from db.repositories.auth import authenticate
from db.repositories.payments import PaymentRepository, new_idempotency_key
from db.repositories.tills import TillRepository
from db.seed import demo_password, seed_database
from tests.tills.book import TODAY


def test_the_demo_branches_have_tills_and_a_vault(db_url: URL, engine: Engine) -> None:
    seed_database(db_url, demo=True)
    with engine.connect() as conn:
        history_end = conn.execute(text(
            "SELECT max(id) FROM journal_entries WHERE description NOT LIKE 'Vault of %'")).scalar_one()
        vaults = conn.execute(text(
            "SELECT b.code, e.id, e.description FROM journal_entries e JOIN branches b ON b.id = e.branch_id "
            "WHERE e.description LIKE 'Vault of %' ORDER BY b.code")).all()
        assert [(v.code, v.description) for v in vaults] == [
            (code, f"Vault of {code} opened for the tills") for code in sorted(TILL_BRANCHES)]
        assert all(v.id > history_end for v in vaults)
        assert conn.execute(text("SELECT count(*) FROM till_sessions")).scalar_one() == 0
        assert conn.execute(text(
            "SELECT count(*) FROM transactions WHERE till_session_id IS NOT NULL OR payment_method <> 'cash'"
        )).scalar_one() == 0
        required = dict(conn.execute(text("SELECT code, tills_required FROM branches")).tuples().all())
    assert required == {"HQ": False, "NRB01": True, "MSA01": True}

    for cashier_name in ("cashier.nrb", "cashier.msa"):
        cashier = authenticate(engine, cashier_name, demo_password(cashier_name))
        tills = TillRepository(engine, cashier)
        assert tills.tills_required()
        assert [(t.code, t.name, t.is_active, t.open_session_id) for t in tills.tills()] == [
            ("T1", "Counter 1", True, None), ("T2", "Counter 2", True, None)]
        assert tills.vault_balance() == DEMO_VAULT
        assert tills.my_open_session() is None

    # A demo cashier's day starts as the counter's does: open a till, take cash.
    cashier = authenticate(engine, "cashier.nrb", demo_password("cashier.nrb"))
    tills = TillRepository(engine, cashier)
    tills.open(tills.tills()[0].id, Decimal("5000.00"))
    with engine.connect() as conn:
        loan = conn.execute(text(
            "SELECT l.id FROM loans l JOIN branches b ON b.id = l.branch_id WHERE b.code = 'NRB01' "
            "AND l.status = 'active' ORDER BY l.id LIMIT 1")).scalar_one()
    receipt = PaymentRepository(engine, cashier).record(loan, Decimal("100.00"), TODAY, new_idempotency_key())
    assert receipt.till_code == "T1"

    # Seeding again adds nothing.
    with engine.connect() as conn:
        before = conn.execute(text("SELECT (SELECT count(*) FROM tills), (SELECT count(*) FROM journal_entries)")).one()
    seed_database(db_url, demo=True)
    with engine.connect() as conn:
        after = conn.execute(text("SELECT (SELECT count(*) FROM tills), (SELECT count(*) FROM journal_entries)")).one()
    assert tuple(after) == tuple(before)
