"""Revision 0012 (schedule HOT): the unpaid-installment indexes are predicated on paid_date IS NULL, so a payment
that leaves an installment partly paid is a heap-only update; a CHECK keeps status and paid_date in step; the
queries that read unpaid installments still use the partial indexes; the revision comes and goes cleanly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from db import migrate
from db.repositories.dashboard import _due_today, _overdue_loans
from db.repositories.reports import _queue_sql
from tests.ledger.helpers import TODAY, Staff, active_loan, pay, refused, scalar, schedule
from tests.ledger.test_migration import CATALOG, _catalog

# What 0012 changes and a plain catalog listing does not show: index and constraint definitions, and the text
# and settings of every function.
DEFINITIONS = CATALOG + """
UNION ALL
SELECT 'index ' || c.relname || ' ' || pg_get_indexdef(i.indexrelid) FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'constraint ' || conrelid::regclass::text || '.' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'body ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc) || ' ' || coalesce(p.proconfig::text, '')
       || ' ' || p.prosecdef::text || ' ' || p.provolatile::text || ' ' || coalesce(p.proacl::text, '')
  FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'view ' || c.relname || ' ' || md5(pg_get_viewdef(c.oid)) FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')
"""


def _definitions(url: object) -> set[str]:
    return _catalog(url, DEFINITIONS)


def _updates(conn: Connection) -> tuple[int, int]:
    """(updates, heap-only updates) of payment_schedules as the statistics system has them."""
    conn.execute(text("SELECT pg_stat_clear_snapshot()"))
    row = conn.execute(text("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                            "WHERE relid = 'payment_schedules'::regclass")).one()
    return int(row[0]), int(row[1])


def _flushed_updates(conn: Connection, at_least: int) -> tuple[int, int]:
    """The counters once this session's pending statistics (at least `at_least` updates) have been flushed."""
    for _ in range(50):
        conn.execute(text("SELECT pg_stat_force_next_flush()"))  # flushed when the session goes idle
        found = _updates(conn)
        if found[0] >= at_least:
            return found
        time.sleep(0.1)
    return _updates(conn)


def test_a_partial_payment_updates_its_installment_in_place(engine: Engine, staff: Staff) -> None:
    """Pending → partial and partial → partial are heap-only updates (no index entry written); the payment
    that completes the installment sets paid_date, an index predicate column, and is not."""
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        base_upd, base_hot = _flushed_updates(conn, 0)
        pay(conn, staff, loan, Decimal("100.00"))  # installment 1: pending → partial
        upd, hot = _flushed_updates(conn, base_upd + 1)
        assert (upd - base_upd, hot - base_hot) == (1, 1)
        pay(conn, staff, loan, Decimal("50.00"))  # partial → partial
        upd2, hot2 = _flushed_updates(conn, upd + 1)
        assert (upd2 - upd, hot2 - hot) == (1, 1)
        rest = scalar(conn, "SELECT total_due - total_paid FROM payment_schedules "
                            "WHERE loan_id = :l AND installment_number = 1", l=loan)
        pay(conn, staff, loan, rest)  # partial → paid: paid_date changes
        upd3, hot3 = _flushed_updates(conn, upd2 + 1)
        assert (upd3 - upd2, hot3 - hot2) == (1, 0)
        rows = schedule(conn, loan)
    assert (rows[0].status, rows[0].paid_date) == ("paid", TODAY)
    assert all((r.status, r.paid_date) == ("pending", None) for r in rows[1:])


def test_status_and_paid_date_go_together(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
        one = scalar(conn, "SELECT id FROM payment_schedules WHERE loan_id = :l AND installment_number = 1", l=loan)
    with engine.begin() as conn, refused("23514", "payment_schedules_paid_date_check"):
        conn.execute(text("UPDATE payment_schedules SET principal_paid = principal_due, interest_paid = interest_due, "
                          "total_paid = total_due, status = 'paid' WHERE id = :i"), {"i": one})
    with engine.begin() as conn, refused("23514", "payment_schedules_paid_date_check"):
        conn.execute(text("UPDATE payment_schedules SET paid_date = :d WHERE id = :i"), {"i": one, "d": TODAY})
    with engine.begin() as conn, refused("23514", "payment_schedules_paid_date_check"):
        conn.execute(text("UPDATE payment_schedules SET status = 'partial', paid_date = :d WHERE id = :i"),
                     {"i": one, "d": TODAY})
    with engine.begin() as conn, refused("23514", "payment_schedules_paid_date_check"):
        conn.execute(text(
            "INSERT INTO payment_schedules (loan_id, installment_number, due_date, principal_due, total_due, "
            "principal_paid, total_paid, status) VALUES (:l, 99, :d, 10, 10, 10, 10, 'paid')"),
            {"l": loan, "d": TODAY})


def test_every_writer_keeps_status_and_paid_date_together(engine: Engine, staff: Staff) -> None:
    """Payments, a reversal that un-pays installments, and a write-off leave every row consistent."""
    with engine.begin() as conn:
        loan = active_loan(conn, staff, term=6)
        first = pay(conn, staff, loan, Decimal("2500.00"))
        pay(conn, staff, loan, Decimal("700.00"))
        conn.execute(text("SELECT reverse_transaction(:t, :s, 'wrong loan')"), {"t": first, "s": staff.supervisor})
        statuses = [r.status for r in schedule(conn, loan)]
        assert "partial" in statuses or "paid" in statuses
        conn.execute(text("SELECT write_off_loan(:l, :s, 'gone')"), {"l": loan, "s": staff.supervisor})
        assert scalar(conn, "SELECT count(*) FROM payment_schedules "
                            "WHERE (status = 'paid') <> (paid_date IS NOT NULL)") == 0


@contextmanager
def _plans(conn: Connection) -> Iterator[list[str]]:
    """The plans of every statement run in the block, nested ones (inside functions and triggers) included,
    with sequential scans disabled (a test book is a few pages: the question is whether an index can serve)."""
    found: list[str] = []
    raw = conn.connection.dbapi_connection
    assert raw is not None

    def handler(diagnostic: object) -> None:
        found.append(str(getattr(diagnostic, "message_primary", "")))

    raw.add_notice_handler(handler)  # type: ignore[attr-defined]
    for setting in ("LOAD 'auto_explain'", "SET LOCAL auto_explain.log_min_duration = 0",
                    "SET LOCAL auto_explain.log_nested_statements = on", "SET LOCAL client_min_messages = log",
                    "SET LOCAL enable_seqscan = off"):
        conn.execute(text(setting))
    try:
        yield found
    finally:
        conn.execute(text("SET LOCAL client_min_messages = notice"))
        raw.remove_notice_handler(handler)  # type: ignore[attr-defined]


def _plan_of(found: list[str], fragment: str) -> str:
    matching = [p for p in found if fragment in p]
    assert matching, f"no plan for {fragment!r} among {len(found)}"
    return "\n".join(matching)


def test_the_readers_of_unpaid_installments_still_use_the_partial_indexes(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loans = [active_loan(conn, staff) for _ in range(3)]
        pay(conn, staff, loans[0], Decimal("100.00"))
        before = conn.execute(text("SELECT * FROM overdue_loans_as_of(:d) ORDER BY loan_id"), {"d": TODAY}).all()
        par = scalar(conn, "SELECT calculate_par(30, :d)", d=TODAY)
        conn.execute(text("ANALYZE loans, payment_schedules"))
    with engine.begin() as conn:
        with _plans(conn) as found:
            page = conn.execute(_queue_sql("all", False, False, False),
                                {"d": TODAY, "low": 1, "n": 50}).all()
            assert scalar(conn, "SELECT calculate_par(30, :d)", d=TODAY) == par
            dpd = scalar(conn, "SELECT loan_days_past_due(:l, :d)", l=loans[1], d=TODAY)
            pay(conn, staff, loans[1], Decimal("1000.00"))  # pays principal: the row trigger's summary refresh
            conn.execute(text("SELECT mark_defaulted_loans(0, :s, :d)"), {"s": staff.supervisor, "d": TODAY})
            # The home screen's own queries, run on this connection (inside the block's transaction).
            with Session(bind=conn) as session:
                due_today = _due_today(session, TODAY - timedelta(days=30))
                overdue = _overdue_loans(session, TODAY)
        queue = _plan_of(found, "FROM overdue_loans_as_of")
        par_plan = _plan_of(found, "a.oldest_unpaid_due_date < v_as_of - p_days_threshold")
        days = _plan_of(found, "WHERE ps.loan_id = p_loan_id AND ps.paid_date IS NULL")
        refresh = _plan_of(found, "WHERE ps.loan_id = NEW.loan_id AND ps.paid_date IS NULL")
        default = _plan_of(found, "UPDATE loans l SET status = 'defaulted'")
        due = _plan_of(found, "payment_schedules.due_date = ")
        late = _plan_of(found, "payment_schedules.due_date < ")
    assert [r.loan_id for r in page] == sorted(r.loan_id for r in before)
    assert dpd > 0 and due_today is not None and overdue > 0
    # The overdue queue's page: loans in arrears order, each page row's sums from its unpaid installments.
    assert "loans_arrears_idx" in queue and "payment_schedules_unpaid_idx" in queue, queue
    # PAR adds up the running totals the loans' summary columns (0005) feed (0026), never the loans themselves.
    assert "loan_arrears_totals" in par_plan and " on loans " not in par_plan, par_plan
    for plan in (days, refresh, default):
        assert "payment_schedules_unpaid_idx" in plan, plan
    assert "payment_schedules_due_idx" in due, due
    assert "payment_schedules_unpaid_idx" in late, late


def test_revision_0012_comes_and_goes_cleanly(empty_database: URL) -> None:
    url = empty_database
    migrate.upgrade(url, "0011")
    at_0011 = _definitions(url)
    assert "index payment_schedules_unpaid_idx CREATE INDEX payment_schedules_unpaid_idx ON " \
           "public.payment_schedules USING btree (loan_id, due_date) WHERE (status <> 'paid'::text)" in at_0011
    migrate.upgrade(url, "0012")
    at_0012 = _definitions(url)
    assert "index payment_schedules_due_idx CREATE INDEX payment_schedules_due_idx ON " \
           "public.payment_schedules USING btree (due_date) WHERE (paid_date IS NULL)" in at_0012
    assert any(d.startswith("constraint payment_schedules.payment_schedules_paid_date_check") for d in at_0012)
    changed = {d.split(" ")[1] for d in at_0012 - at_0011 if d.startswith("body ")}
    assert changed == {"loan_days_past_due(bigint,date)", "overdue_loans_as_of(date)",
                       "mark_defaulted_loans_unchecked(integer,date)", "scale_refresh_loan_summary(bigint[])",
                       "scale_schedule_changed()", "scale_schedule_row_changed()"}
    migrate.downgrade(url, "0011")
    assert _definitions(url) == at_0011
    migrate.upgrade(url, "head")
    assert _definitions(url) == at_0012 or migrate.head_revision() != "0012"
