"""Revision 0010 (payment cost): the same payment, cheaper. The one-read allocation against ledger_allocate
(through preview_loan_payment), the audit rows' content, the updated_at stamp, the loan summary after schedule
updates, the storage settings, and the revision coming and going cleanly."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, pool, text
from sqlalchemy.engine import URL

from db import migrate
from tests.ledger.helpers import TODAY, Staff, active_loan, owed, pay, scalar, schedule
from tests.ledger.test_migration import _catalog


def _summary_is_right(conn: Connection, loan: int) -> bool:
    return bool(scalar(conn, """
        SELECT l.principal_outstanding = coalesce(s.owed, 0)
               AND l.oldest_unpaid_due_date IS NOT DISTINCT FROM s.oldest
          FROM loans l,
               LATERAL (SELECT sum(ps.principal_due - ps.principal_paid) AS owed, min(ps.due_date) AS oldest
                          FROM payment_schedules ps WHERE ps.loan_id = l.id AND ps.status <> 'paid') s
         WHERE l.id = :l""", l=loan))


def _add_penalty(conn: Connection, loan: int, installment: int, amount: Decimal) -> None:
    conn.execute(text(
        "UPDATE payment_schedules SET penalty_due = penalty_due + :a, total_due = total_due + :a "
        "WHERE loan_id = :l AND installment_number = :n"), {"a": amount, "l": loan, "n": installment})


def test_payments_apply_the_preview_allocation(engine: Engine, staff: Staff) -> None:
    """Random payments on loans with penalties: each installment receives what preview_loan_payment
    (ledger_allocate) says, the transaction carries its split, and paying all that is owed closes the loan."""
    rng = random.Random(10)
    with engine.begin() as conn:
        loans = [active_loan(conn, staff, term=rng.choice([3, 6, 12]),
                             frequency=rng.choice(["weekly", "monthly"])) for _ in range(4)]
        for loan in loans:
            _add_penalty(conn, loan, 1, Decimal("25.50"))
            _add_penalty(conn, loan, 2, Decimal("10.00"))
    for loan in loans:
        while True:
            with engine.begin() as conn:
                left = owed(conn, loan)
                if left == 0:
                    break
                amount = min(left, Decimal(rng.randint(1, 400_000)) / 100) if rng.random() < 0.8 else left
                preview = {r.installment_number: r for r in conn.execute(text(
                    "SELECT * FROM preview_loan_payment(:l, :a, :d)"), {"l": loan, "a": amount, "d": TODAY})}
                before = {r.installment_number: r for r in schedule(conn, loan)}
                txn = pay(conn, staff, loan, amount)
                after = {r.installment_number: r for r in schedule(conn, loan)}
                split = conn.execute(text(
                    "SELECT penalty_amount, interest_amount, principal_amount FROM transactions WHERE id = :t"),
                    {"t": txn}).one()
                changed = {n for n in after if after[n] != before[n]}
                assert changed == set(preview)
                for n, p in preview.items():
                    assert after[n].penalty_paid - before[n].penalty_paid == p.penalty
                    assert after[n].interest_paid - before[n].interest_paid == p.interest
                    assert after[n].principal_paid - before[n].principal_paid == p.principal
                    assert after[n].status == p.status_after
                    assert after[n].paid_date == (TODAY if p.status_after == "paid" else before[n].paid_date)
                assert tuple(split) == (sum(p.penalty for p in preview.values()),
                                        sum(p.interest for p in preview.values()),
                                        sum(p.principal for p in preview.values()))
                status = scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan)
                assert status == ("closed" if amount == left else "active")
                assert _summary_is_right(conn, loan)


def _audit(conn: Connection, table: str, record: int, action: str = "INSERT") -> list[Any]:
    return list(conn.execute(text(
        "SELECT action, old_values, new_values, changed_by, db_role FROM audit_logs "
        "WHERE table_name = :t AND record_id = :r AND action = :a ORDER BY id"),
        {"t": table, "r": record, "a": action}))


def test_a_payment_audits_every_row_it_writes_with_the_row_content(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff, term=6)
        before = {r.id: r.row for r in conn.execute(text(
            "SELECT id, to_jsonb(s) AS row FROM payment_schedules s WHERE loan_id = :l"), {"l": loan})}
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(staff.cashier)})
        conn.execute(text("SET LOCAL ROLE astrofin_cashier"))
        first = scalar(conn, "SELECT min(id) FROM payment_schedules WHERE loan_id = :l", l=loan)
        amount = scalar(conn, "SELECT total_due + 1.00 FROM payment_schedules WHERE id = :s", s=first)
        txn = pay(conn, staff, loan, amount)
        conn.execute(text("RESET ROLE"))
        owner = scalar(conn, "SELECT session_user || '/' || pg_get_userbyid(proowner) FROM pg_proc "
                             "WHERE oid = 'audit_statement_change()'::regprocedure")
    with engine.begin() as conn:
        row = scalar(conn, "SELECT to_jsonb(t) FROM transactions t WHERE id = :t", t=txn)
        assert [tuple(a) for a in _audit(conn, "transactions", txn)] == [("INSERT", None, row, staff.cashier, owner)]
        changed = list(conn.execute(text(
            "SELECT id, to_jsonb(s) AS row FROM payment_schedules s WHERE loan_id = :l AND total_paid > 0 "
            "ORDER BY id"), {"l": loan}))
        assert len(changed) == 2
        for sched in changed:
            assert [tuple(a) for a in _audit(conn, "payment_schedules", sched.id, "UPDATE")] == [
                ("UPDATE", before[sched.id], sched.row, staff.cashier, owner)]
        entry = conn.execute(text("SELECT id, to_jsonb(e) AS row FROM journal_entries e WHERE transaction_id = :t"),
                             {"t": txn}).one()
        assert [tuple(a) for a in _audit(conn, "journal_entries", entry.id)] == [
            ("INSERT", None, entry.row, staff.cashier, owner)]
        lines = list(conn.execute(text(
            "SELECT id, to_jsonb(d) AS row FROM journal_entry_details d WHERE journal_entry_id = :e ORDER BY id"),
            {"e": entry.id}))
        assert len(lines) >= 2
        for line in lines:
            assert [tuple(a) for a in _audit(conn, "journal_entry_details", line.id)] == [
                ("INSERT", None, line.row, staff.cashier, owner)]
        # In the order the statements ran: the transaction, the installments by id, the entry, its lines.
        order = list(conn.execute(text(
            "SELECT table_name, record_id FROM audit_logs WHERE id > (SELECT min(id) - 1 FROM audit_logs "
            "WHERE table_name = 'transactions' AND record_id = :t) ORDER BY id"), {"t": txn}).tuples())
        assert order == [("transactions", txn), *(("payment_schedules", s.id) for s in changed),
                         ("journal_entries", entry.id), *(("journal_entry_details", d.id) for d in lines)]


def test_updated_at_is_stamped_by_payments_and_by_other_writers(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff, term=3)
        conn.execute(text("UPDATE payment_schedules SET updated_at = '2001-01-01' WHERE loan_id = :l"), {"l": loan})
        conn.execute(text("UPDATE loans SET updated_at = '2001-01-01' WHERE id = :l"), {"l": loan})
        stamped = scalar(conn, "SELECT bool_and(updated_at = now()) FROM payment_schedules WHERE loan_id = :l",
                         l=loan)
        assert stamped  # an explicit older value is overwritten with now(), as before
    with engine.begin() as conn:
        pay(conn, staff, loan, "10.00")
        now = scalar(conn, "SELECT now()")
        first = conn.execute(text("SELECT updated_at FROM payment_schedules WHERE loan_id = :l "
                                  "ORDER BY installment_number LIMIT 1"), {"l": loan}).scalar_one()
        assert first == now
    with engine.begin() as conn:
        # A writer that does not set the column: the trigger stamps it.
        conn.execute(text("UPDATE payment_schedules SET due_date = due_date WHERE loan_id = :l"), {"l": loan})
        now = scalar(conn, "SELECT now()")
        assert scalar(conn, "SELECT bool_and(updated_at = :n) FROM payment_schedules WHERE loan_id = :l",
                      n=now, l=loan)
        conn.execute(text("UPDATE loans SET purpose = 'stock' WHERE id = :l"), {"l": loan})
        assert scalar(conn, "SELECT updated_at FROM loans WHERE id = :l", l=loan) == now


def test_loan_summary_follows_every_kind_of_schedule_update(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff, term=6, disbursed=TODAY - timedelta(days=200))
        assert _summary_is_right(conn, loan)
    with engine.begin() as conn:
        pay(conn, staff, loan, "1.00")  # interest only: nothing the summary reads changes
        assert _summary_is_right(conn, loan)
        big = pay(conn, staff, loan, "3000.00")  # principal paid, installments become paid
        assert _summary_is_right(conn, loan)
    with engine.begin() as conn:
        conn.execute(text("UPDATE payment_schedules SET due_date = due_date - 3 WHERE loan_id = :l"), {"l": loan})
        assert _summary_is_right(conn, loan)
        conn.execute(text("SELECT reverse_transaction(:t, :s, 'entered twice')"), {"t": big, "s": staff.supervisor})
        assert _summary_is_right(conn, loan)
    with engine.begin() as conn:
        other = active_loan(conn, staff, term=3)
        # An installment moved to another loan: both loans' summaries follow.
        conn.execute(text("UPDATE payment_schedules SET loan_id = :o, installment_number = 99 "
                          "WHERE loan_id = :l AND installment_number = 6"), {"o": other, "l": loan})
        assert _summary_is_right(conn, loan) and _summary_is_right(conn, other)
        conn.execute(text("UPDATE payment_schedules SET loan_id = :l, installment_number = 6 "
                          "WHERE loan_id = :o AND installment_number = 99"), {"o": other, "l": loan})
        assert _summary_is_right(conn, loan) and _summary_is_right(conn, other)


def test_storage_settings(engine: Engine) -> None:
    with engine.connect() as conn:
        assert "fillfactor=90" in (scalar(conn, "SELECT reloptions FROM pg_class WHERE oid = "
                                                "'payment_schedules'::regclass") or [])
        methods = dict(conn.execute(text(
            "SELECT c.relname, a.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = 'audit_logs'::regclass")).tuples().all())
    assert methods.get("audit_logs_changed_at_brin") == "brin"
    assert "audit_logs_changed_at_idx" not in methods


def test_revision_0010_comes_and_goes_cleanly(empty_database: URL) -> None:
    url = empty_database
    migrate.upgrade(url, "0009")
    at_0009 = _catalog(url)
    migrate.upgrade(url, "0010")
    assert _catalog(url) != at_0009
    migrate.downgrade(url, "0009")
    assert _catalog(url) == at_0009
    eng = create_engine(url, poolclass=pool.NullPool)
    with eng.connect() as conn:
        assert scalar(conn, "SELECT reloptions FROM pg_class WHERE oid = 'payment_schedules'::regclass") is None
        assert scalar(conn, "SELECT count(*) FROM pg_trigger WHERE tgqual IS NOT NULL AND tgname IN "
                            "('payment_schedules_updated_at', 'loans_updated_at')") == 0
    eng.dispose()
    migrate.upgrade(url, "head")
