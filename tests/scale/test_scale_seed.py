"""The synthetic book: every status, PAR30 in range, the ledger's invariants, the ledger's own schedule math,
reproducible, and usable by the ledger's functions afterwards."""

from __future__ import annotations

import sys
import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from db.errors import AstrofinError
from db.scale_seed import CHECKS, add_months, due_date, seed_scale
from tests.scale.conftest import SCALE, TODAY


def test_book_has_every_status_and_par30_in_range(scale_book):
    engine, report = scale_book
    assert report.customers == SCALE
    assert 1.1 * SCALE < report.loans < 1.3 * SCALE
    assert set(report.by_status) == {"pending", "approved", "rejected", "active", "defaulted", "closed",
                                     "written_off"}
    assert Decimal("5") <= report.par30 <= Decimal("15")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT calculate_par(30, :d)"), {"d": TODAY}).scalar_one() == report.par30
        # The load bypassed the loans' triggers; PAR's running totals were computed from the loans after it.
        assert conn.execute(text("SELECT count(*) FROM loan_arrears_drift()")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == SCALE
        # Defaulted means more than 90 days late, active at most 90.
        worst_active, least_defaulted = conn.execute(text("""
            SELECT max(:d - oldest_unpaid_due_date) FILTER (WHERE status = 'active'),
                   min(:d - oldest_unpaid_due_date) FILTER (WHERE status = 'defaulted') FROM loans"""),
            {"d": TODAY}).one()
        assert worst_active <= 90 < least_defaulted


def test_invariants_hold_after_the_load(scale_book):
    engine, _report = scale_book
    with engine.connect() as conn:
        for meanings, sql in CHECKS:
            found = conn.exec_driver_sql(sql).one()
            assert dict(zip(meanings, found, strict=True)) == dict.fromkeys(meanings, 0)
        # Loans are spread over the products their terms fit; each disbursement collected its loan's fee.
        used = dict(conn.execute(text("SELECT p.code, count(l.id) FROM loan_products p "
                                      "LEFT JOIN loans l ON l.product_id = p.id GROUP BY p.code")).tuples().all())
        assert min(used.values()) > 0 and sum(used.values()) < conn.execute(text("SELECT count(*) FROM loans")).scalar()
        wrong = conn.execute(text("""
            SELECT count(*) FROM loans l LEFT JOIN transactions t ON t.loan_id = l.id
                                                                   AND t.transaction_type = 'disbursement'
             WHERE l.fee_amount <> CASE WHEN l.product_id IS NULL THEN 0
                                        ELSE loan_product_fee(l.product_id, l.principal_amount) END
                OR t.fee_amount <> l.fee_amount""")).scalar_one()
        fees = conn.execute(text("SELECT sum(d.credit) FROM journal_entry_details d JOIN chart_of_accounts a "
                                 "ON a.id = d.account_id WHERE a.account_code = '4100'")).scalar_one()
        collected = conn.execute(text("SELECT sum(fee_amount) FROM transactions")).scalar_one()
        assert wrong == 0 and fees == collected > 0


def test_checks_find_a_book_that_breaks_each_invariant(scale_book):
    """Each figure of the seed's checks turns non-zero when its invariant is broken (in a transaction rolled
    back; the replica role lets the test write past the ledger's own guards)."""
    engine, _report = scale_book
    breakages = {
        "journal entries that do not balance": "UPDATE journal_entry_details SET debit = debit + 1 WHERE id = (SELECT "
                                               "min(d.id) FROM journal_entry_details d JOIN chart_of_accounts a "
                                               "ON a.id = d.account_id WHERE a.account_code = '1000' AND d.debit > 0)",
        # Still balanced, but principal disbursed booked as cash.
        "Loan Portfolio (1200) minus": "UPDATE journal_entry_details SET account_id = (SELECT id FROM "
                                       "chart_of_accounts WHERE account_code = '1000') WHERE id = (SELECT min(d.id) "
                                       "FROM journal_entry_details d JOIN chart_of_accounts a ON a.id = d.account_id "
                                       "WHERE a.account_code = '1200')",
        "loans whose summary columns": "UPDATE payment_schedules SET due_date = due_date + 1 WHERE id = (SELECT "
                                       "min(ps.id) FROM payment_schedules ps JOIN loans l ON l.id = ps.loan_id "
                                       "WHERE l.status = 'active' AND l.oldest_unpaid_due_date = ps.due_date)",
        "closed loans that still owe": "UPDATE loans SET status = 'closed' WHERE id = (SELECT min(id) FROM loans "
                                       "WHERE status = 'active')",
    }
    for broken, sql in breakages.items():
        with engine.connect() as conn:
            conn.exec_driver_sql("SET session_replication_role = replica")
            conn.exec_driver_sql(sql)
            found = {meaning: value for meanings, check in CHECKS
                     for meaning, value in zip(meanings, conn.exec_driver_sql(check).one(), strict=True)}
            conn.rollback()
        meant = [m for m in found if m.startswith(broken)]
        assert len(meant) == 1, broken
        assert [m for m, value in found.items() if value != 0] == meant


def test_schedules_are_the_ledgers_own(scale_book):
    engine, _report = scale_book
    with engine.connect() as conn:
        loans = conn.execute(text("""
            SELECT id, principal_amount, interest_rate, interest_method, term, repayment_frequency,
                   first_repayment_date FROM loans
            WHERE disbursement_date IS NOT NULL ORDER BY id LIMIT 40""")).all()
        methods = set()
        for loan in loans:
            methods.add((loan.interest_method, loan.repayment_frequency))
            stored = conn.execute(text("""
                SELECT installment_number, due_date, principal_due, interest_due, total_due
                FROM payment_schedules WHERE loan_id = :id ORDER BY installment_number"""), {"id": loan.id}).all()
            preview = conn.execute(text("""
                SELECT installment_number, due_date, principal_due, interest_due, total_due
                FROM preview_payment_schedule(:p, :r, :m, :n, :f, :first)"""),
                {"p": loan.principal_amount, "r": loan.interest_rate, "m": loan.interest_method, "n": loan.term,
                 "f": loan.repayment_frequency, "first": loan.first_repayment_date}).all()
            assert [tuple(r) for r in stored] == [tuple(r) for r in preview]
        assert len(methods) >= 4


def test_due_dates_mirror_the_ledger():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert due_date(date(2026, 1, 31), "monthly", 3) == date(2026, 3, 31)
    assert due_date(date(2026, 1, 1), "biweekly", 3) == date(2026, 1, 29)


def test_the_ledger_works_on_the_seeded_book(scale_book):
    engine, _report = scale_book
    with engine.begin() as conn:
        cashier = conn.execute(text("SELECT id FROM users WHERE username = 'cashier'")).scalar_one()
        supervisor = conn.execute(text("SELECT id FROM users WHERE username = 'supervisor'")).scalar_one()
        loan = conn.execute(text("""
            SELECT id, principal_outstanding, oldest_unpaid_due_date FROM loans
            WHERE status = 'active' AND oldest_unpaid_due_date < current_date ORDER BY id LIMIT 1""")).one()
        txn = conn.execute(text("SELECT record_loan_payment(:l, 100.00, current_date, :u, :k)"),
                           {"l": loan.id, "u": cashier, "k": f"scale-{uuid.uuid4()}"}).scalar_one()
        after = conn.execute(text("SELECT principal_outstanding FROM loans WHERE id = :l"), {"l": loan.id}).scalar_one()
        owed = conn.execute(text("SELECT sum(principal_due - principal_paid) FROM payment_schedules "
                                 "WHERE loan_id = :l"), {"l": loan.id}).scalar_one()
        assert after == owed <= loan.principal_outstanding
        receipt = conn.execute(text("SELECT receipt_number FROM transactions WHERE id = :t"), {"t": txn}).scalar_one()
        assert "-R-" in receipt and len(receipt) >= 10
        conn.execute(text("SELECT reverse_transaction(:t, :u, 'typing error')"), {"t": txn, "u": supervisor})
        back = conn.execute(text("SELECT principal_outstanding, oldest_unpaid_due_date FROM loans WHERE id = :l"),
                            {"l": loan.id}).one()
        assert tuple(back) == (loan.principal_outstanding, loan.oldest_unpaid_due_date)
        conn.rollback()


def test_same_seed_same_book_and_a_used_book_is_refused(pg_server, scale_book):
    engine, _report = scale_book
    name = f"s_{uuid.uuid4().hex[:16]}"
    url = pg_server.create_database(name)
    try:
        seed_scale(url, 300, random_seed=7, today=TODAY)
        with pytest.raises(AstrofinError, match="no customers"):
            seed_scale(url, 10, random_seed=7, today=TODAY)
        fingerprint = """SELECT md5(string_agg(concat_ws('|', c.customer_number, c.first_name, c.last_name, c.phone,
                                                          l.loan_number, l.status, l.principal_amount,
                                                          l.principal_outstanding), ',' ORDER BY c.id, l.id))
                         FROM customers c LEFT JOIN loans l ON l.customer_id = c.id WHERE c.id <= 300"""
        other = pg_server.create_database(name + "b")
        try:
            seed_scale(other, 300, random_seed=7, today=TODAY)
            from sqlalchemy import create_engine, pool
            first = create_engine(url, poolclass=pool.NullPool)
            second = create_engine(other, poolclass=pool.NullPool)
            with first.connect() as a, second.connect() as b:
                assert a.execute(text(fingerprint)).scalar_one() == b.execute(text(fingerprint)).scalar_one()
            first.dispose()
            second.dispose()
        finally:
            pg_server.drop_database(name + "b")
    finally:
        pg_server.drop_database(name)


def test_numbers_grow_past_their_width(scale_book):
    engine, _report = scale_book
    with engine.begin() as conn:
        conn.execute(text("SELECT setval('customer_number_seq', 999999)"))
        numbers = [conn.execute(text("INSERT INTO customers (first_name, last_name) VALUES ('A', 'B') "
                                     "RETURNING customer_number")).scalar_one() for _ in range(2)]
        assert numbers == ["C-1000000", "C-1000001"]
        conn.rollback()


def _catalog(url) -> dict[str, list[tuple[str, ...]]]:
    """The big tables' triggers (with their enabled state), indexes and constraints, as text."""
    from sqlalchemy import create_engine, pool
    engine = create_engine(url, poolclass=pool.NullPool)
    tables = "ARRAY['customers', 'loans', 'payment_schedules', 'transactions', 'journal_entries', " \
             "'journal_entry_details']::regclass[]"
    with engine.connect() as conn:
        out = {
            "triggers": [tuple(r) for r in conn.execute(text(
                f"SELECT tgname, pg_get_triggerdef(oid), tgenabled::text FROM pg_trigger "  # noqa: S608
                f"WHERE NOT tgisinternal AND tgrelid = ANY ({tables}) ORDER BY 1")).all()],
            "indexes": [tuple(r) for r in conn.execute(text(
                f"SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "  # noqa: S608
                f"WHERE indrelid = ANY ({tables}) ORDER BY 1")).all()],
            "constraints": [tuple(r) for r in conn.execute(text(
                f"SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "  # noqa: S608
                f"WHERE conrelid = ANY ({tables}) ORDER BY 1")).all()],
        }
    engine.dispose()
    return out


def test_triggers_keys_and_indexes_are_back_after_the_load(pg_server, scale_book):
    engine, _report = scale_book
    name = f"s_{uuid.uuid4().hex[:16]}"
    fresh = pg_server.create_database(name)
    try:
        expected = _catalog(fresh)
        assert expected["triggers"] and expected["indexes"]
        assert _catalog(engine.url) == expected
    finally:
        pg_server.drop_database(name)


def test_a_failing_check_leaves_nothing_written(pg_server, monkeypatch):
    import db.scale_seed as scale_seed
    never = (("a check that holds", "a check that never holds"), "SELECT 0, 1")
    monkeypatch.setattr(scale_seed, "CHECKS", (*scale_seed.CHECKS, never))
    name = f"s_{uuid.uuid4().hex[:16]}"
    url = pg_server.create_database(name)
    try:
        from sqlalchemy import create_engine, pool
        engine = create_engine(url, poolclass=pool.NullPool)
        # The book's own sequences (the staff users, branches and loan products it adds and rolls back take ids,
        # as any rolled-back insert).
        sequences = "SELECT string_agg(sequencename || ':' || coalesce(last_value::text, '-'), ',' " \
                    "ORDER BY sequencename) FROM pg_sequences WHERE schemaname = 'public' " \
                    "AND sequencename NOT IN ('users_id_seq', 'audit_logs_id_seq', 'branches_id_seq', " \
                    "'loan_products_id_seq')"
        with engine.connect() as conn:
            users = conn.execute(text("SELECT count(*) FROM users")).scalar_one()
            before = conn.execute(text(sequences)).scalar_one()
        catalog = _catalog(url)
        interval = sys.getswitchinterval()
        with pytest.raises(AstrofinError, match="a check that never holds: 1"):
            seed_scale(url, 300, random_seed=7, today=TODAY)
        assert sys.getswitchinterval() == interval  # the loader's shorter one is given back
        with engine.connect() as conn:
            for table in ("customers", "loans", "payment_schedules", "transactions", "journal_entries",
                          "journal_entry_details"):
                assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table  # noqa: S608
            assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == users
            assert conn.execute(text(sequences)).scalar_one() == before
        assert _catalog(url) == catalog
        engine.dispose()
    finally:
        pg_server.drop_database(name)
