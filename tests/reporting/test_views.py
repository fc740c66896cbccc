"""The four views: their columns, what they show, who reads them, and the monthly summary's sums."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.engine import unit_of_work
from tests.reporting.conftest import AS_OF, Inst, monthly

SUMMARY_COLUMNS = {
    "loan_id", "loan_number", "customer_id", "customer_number", "customer_name", "principal_amount",
    "interest_rate", "interest_method", "term", "status", "total_due", "total_paid", "outstanding_principal",
    "outstanding_total", "next_due_date", "days_past_due", "loan_officer_id", "loan_officer_name",
}
OVERDUE_COLUMNS = {
    "loan_id", "customer_id", "customer_name", "phone", "loan_number", "days_past_due", "amount_overdue",
    "oldest_due_date", "outstanding_principal", "loan_officer_id", "loan_officer_name",
}
DAILY_COLUMNS = {"transaction_date", "transaction_type", "transaction_count", "total_amount"}
MONTHLY_COLUMNS = {
    "month", "disbursed", "principal_collected", "interest_collected", "penalties_collected", "new_loans",
    "loans_closed", "active_loans_at_month_end",
}


def columns(engine, relation):
    with engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:r AS regclass) AND attnum > 0 "
            "AND NOT attisdropped"), {"r": relation}).scalars())


@pytest.mark.parametrize(("relation", "expected"), [
    ("vw_loan_summary", SUMMARY_COLUMNS), ("vw_overdue_loans", OVERDUE_COLUMNS),
    ("vw_daily_transactions", DAILY_COLUMNS), ("mvw_monthly_financial_summary", MONTHLY_COLUMNS),
])
def test_views_have_the_contract_columns(engine, relation, expected):
    assert expected <= columns(engine, relation)


def test_loan_summary_figures_as_of_a_day(factory, engine):
    customer = factory.customer("Amani", "Mwangi", "+254711111111")
    rows = monthly(Decimal("900.00"), 3, date(2025, 5, 10), paid=1)
    rows[1].interest_paid = Decimal("10.00")
    loan = factory.loan(rows, customer_id=customer)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM loan_summary_as_of(:d) WHERE loan_id = :l"),
                           {"d": AS_OF, "l": loan}).mappings().one()
    assert row["customer_name"] == "Amani Mwangi"
    assert row["principal_amount"] == Decimal("900.00")
    assert row["total_due"] == Decimal("930.00")
    assert row["total_paid"] == Decimal("320.00")
    assert row["outstanding_principal"] == Decimal("600.00")
    assert row["outstanding_total"] == Decimal("610.00")
    assert row["next_due_date"] == date(2025, 6, 10)
    assert row["days_past_due"] == 20
    assert row["loan_officer_name"] == "Grace Wanjiru"
    assert row["status"] == "active" and row["term"] == 3 and row["interest_method"] == "flat"


def test_loan_summary_has_one_row_per_loan_including_undisbursed(factory, engine):
    factory.overdue_loan(10)
    factory.overdue_loan(0)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
            "repayment_frequency) VALUES (:c, 100, 10, 'flat', 2, 'weekly')"), {"c": factory.customer()})
        rows = conn.execute(text("SELECT loan_id, days_past_due, outstanding_total FROM vw_loan_summary")).all()
        loans = conn.execute(text("SELECT count(*) FROM loans")).scalar()
    assert len(rows) == loans == 3
    assert len({r.loan_id for r in rows}) == 3


def test_overdue_view_shows_only_dpd_above_zero(factory, engine):
    today = date.today()
    late = factory.loan([Inst(today - timedelta(days=5), Decimal("100.00")),
                         Inst(today + timedelta(days=25), Decimal("100.00"))])
    factory.loan([Inst(today, Decimal("100.00"))])                       # due today: not overdue
    factory.loan([Inst(today + timedelta(days=3), Decimal("100.00"))])   # not due yet
    factory.loan([Inst(today - timedelta(days=50), Decimal("100.00"))], status="written_off")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM vw_overdue_loans")).mappings().all()
        summary = conn.execute(text("SELECT loan_id, days_past_due FROM vw_loan_summary WHERE days_past_due > 0 "
                                    "AND status IN ('active', 'defaulted')")).all()
    assert [r["loan_id"] for r in rows] == [late] == [s.loan_id for s in summary]
    (row,) = rows
    assert row["days_past_due"] == 5
    assert row["amount_overdue"] == Decimal("100.00")
    assert row["oldest_due_date"] == today - timedelta(days=5)
    assert row["outstanding_principal"] == Decimal("200.00")
    assert row["phone"].startswith("+2547")


def test_overdue_as_of_matches_dpd_function(factory, engine):
    loans = {d: factory.overdue_loan(d) for d in (0, 1, 29, 30, 31, 90, 91, 400)}
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT loan_id, days_past_due FROM overdue_loans_as_of(:d)"),
                                 {"d": AS_OF}).all())
        for days, loan in loans.items():
            assert conn.execute(text("SELECT loan_days_past_due(:l, :d)"), {"l": loan, "d": AS_OF}).scalar() == days
    assert rows == {loan: days for days, loan in loans.items() if days > 0}


def test_views_use_the_unpaid_index_for_one_loan(factory, engine):
    loan = factory.overdue_loan(10)
    # One loan among many, in an analyzed book: in a book of one loan, reading all its unpaid installments
    # through payment_schedules_due_idx costs the same, and the planner may take it.
    for dpd in range(20):
        factory.overdue_loan(dpd)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE loans, payment_schedules"))
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(conn.execute(text("EXPLAIN SELECT * FROM vw_loan_summary WHERE loan_id = :l"),
                                      {"l": loan}).scalars())
        overdue = "\n".join(conn.execute(text("EXPLAIN SELECT * FROM vw_overdue_loans WHERE loan_id = :l"),
                                         {"l": loan}).scalars())
    # The as-of functions are inlined: the loan id reaches the index scans instead of a function scan.
    assert "Function Scan" not in plan and "Function Scan" not in overdue
    assert "payment_schedules_unpaid_idx" in overdue


@pytest.mark.parametrize("username", ["cashier", "officer", "supervisor", "accountant", "admin"])
def test_everyone_reads_the_loan_summary(factory, engine, username):
    factory.overdue_loan(10)
    with unit_of_work(engine, factory.actor(username)) as session:
        assert session.execute(text("SELECT count(*) FROM vw_loan_summary")).scalar() == 1


@pytest.mark.parametrize(("relation", "allowed"), [
    ("vw_overdue_loans", {"officer", "supervisor"}),
    ("vw_daily_transactions", {"officer", "supervisor", "accountant"}),
    # Staff read the monthly summary of their own branches through a function; the consolidated view is the owner's.
    ("monthly_financial_summary", {"officer", "supervisor", "accountant"}),
    ("mvw_monthly_financial_summary", set()),
])
def test_view_grants_follow_the_matrix(factory, engine, relation, allowed):
    sql = {
        "vw_overdue_loans": "SELECT count(*) FROM vw_overdue_loans",
        "vw_daily_transactions": "SELECT count(*) FROM vw_daily_transactions",
        "mvw_monthly_financial_summary": "SELECT count(*) FROM mvw_monthly_financial_summary",
        "monthly_financial_summary": "SELECT count(*) FROM monthly_financial_summary()",
    }[relation]
    for username in ("cashier", "officer", "supervisor", "accountant", "admin"):
        if username in allowed:
            with unit_of_work(engine, factory.actor(username)) as session:
                session.execute(text(sql)).scalar()
        else:
            with pytest.raises(DBAPIError) as exc, unit_of_work(engine, factory.actor(username)) as session:
                session.execute(text(sql)).scalar()
            assert exc.value.orig.sqlstate == "42501", username


def test_daily_transactions_count_and_total_per_day_and_type(factory, engine):
    factory.loan(monthly(Decimal("300.00"), 3, date(2025, 3, 1), paid=2), disbursed=date(2025, 2, 1))
    factory.loan(monthly(Decimal("600.00"), 3, date(2025, 3, 1), paid=1), disbursed=date(2025, 2, 1))
    with engine.connect() as conn:
        rows = {(r.transaction_date, r.transaction_type): (r.transaction_count, r.total_amount)
                for r in conn.execute(text("SELECT * FROM vw_daily_transactions"))}
    assert rows == {
        (date(2025, 2, 1), "disbursement"): (2, Decimal("900.00")),
        (date(2025, 3, 1), "repayment"): (2, Decimal("320.00")),
        (date(2025, 4, 1), "repayment"): (1, Decimal("110.00")),
    }


def refresh(engine):
    with engine.begin() as conn:
        conn.execute(text("SELECT refresh_monthly_financial_summary()"))


def monthly_rows(engine):
    """The consolidated summary, which must equal the per-branch one added up over every branch."""
    with engine.connect() as conn:
        rows = {r.month: r for r in conn.execute(text("SELECT * FROM mvw_monthly_financial_summary"))}
        by_branch = {r.month: r for r in conn.execute(text("SELECT * FROM monthly_financial_summary()"))}
    assert {m: tuple(r) for m, r in by_branch.items()} == {m: tuple(r) for m, r in rows.items()}
    return rows


def test_monthly_summary_sums_repayments_net_of_reversals(factory, engine):
    cashier = factory.user_id("cashier")
    a = factory.loan(monthly(Decimal("300.00"), 3, date(2025, 2, 15), paid=3), disbursed=date(2025, 1, 15),
                     status="closed")
    factory.loan(monthly(Decimal("600.00"), 3, date(2025, 3, 10), paid=1), disbursed=date(2025, 2, 10))
    with engine.begin() as conn:
        conn.execute(text("UPDATE loans SET closed_at = '2025-04-20 12:00+00' WHERE id = :a"), {"a": a})
        penalty = conn.execute(text(
            "INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, interest_amount, "
            "penalty_amount, transaction_date, created_by) "
            "VALUES (:a, 'repayment', 57.50, 40.00, 10.00, 7.50, '2025-03-20', :u) RETURNING id"),
            {"a": a, "u": cashier}).scalar_one()
        conn.execute(text(
            "INSERT INTO transactions (loan_id, transaction_type, amount, transaction_date, "
            "reverses_transaction_id, created_by) VALUES (:a, 'reversal', 57.50, '2025-04-02', :t, :u)"),
            {"a": a, "t": penalty, "u": cashier})
    refresh(engine)
    rows = monthly_rows(engine)
    jan, feb, mar, apr = (rows[date(2025, m, 1)] for m in (1, 2, 3, 4))
    assert (jan.disbursed, feb.disbursed, mar.disbursed) == (Decimal("300.00"), Decimal("600.00"), 0)
    # February: loan a installment 1 (100 + 10). March: a #2 (100 + 10), b #1 (200 + 10), the extra 57.50.
    assert (feb.principal_collected, feb.interest_collected) == (Decimal("100.00"), Decimal("10.00"))
    assert (mar.principal_collected, mar.interest_collected, mar.penalties_collected) == (
        Decimal("340.00"), Decimal("30.00"), Decimal("7.50"))
    # April: a #3 (100 + 10) less the reversal of March's 40 + 10 + 7.50.
    assert (apr.principal_collected, apr.interest_collected, apr.penalties_collected) == (
        Decimal("60.00"), Decimal("0.00"), Decimal("-7.50"))
    assert (jan.new_loans, feb.new_loans, mar.new_loans) == (1, 1, 0)
    assert (apr.loans_closed, mar.loans_closed) == (1, 0)
    assert (jan.active_loans_at_month_end, feb.active_loans_at_month_end, mar.active_loans_at_month_end,
            apr.active_loans_at_month_end) == (1, 2, 2, 1)
    # Every month up to this one is there, so a month with no activity still shows the loans open.
    this_month = date.today().replace(day=1)
    assert max(rows) == this_month and rows[this_month].active_loans_at_month_end == 1


def test_monthly_summary_refreshes_concurrently_while_it_is_read(factory, engine):
    factory.loan(monthly(Decimal("300.00"), 3, date(2025, 2, 15), paid=1), disbursed=date(2025, 1, 15))
    refresh(engine)
    before = monthly_rows(engine)
    factory.loan(monthly(Decimal("500.00"), 2, date(2025, 2, 15)), disbursed=date(2025, 1, 20))
    # A reader holding ACCESS SHARE on the view in an open transaction does not block a concurrent refresh.
    reader = engine.connect()
    reader.begin()
    reader.execute(text("SELECT count(*) FROM mvw_monthly_financial_summary")).scalar()
    done = threading.Event()

    def run_refresh():
        refresh(engine)
        done.set()

    worker = threading.Thread(target=run_refresh)
    worker.start()
    assert done.wait(10), "the refresh waited for a reader"
    worker.join()
    reader.rollback()
    reader.close()
    after = monthly_rows(engine)
    assert before[date(2025, 1, 1)].disbursed == Decimal("300.00")
    assert after[date(2025, 1, 1)].disbursed == Decimal("800.00")
    assert after[date(2025, 1, 1)].new_loans == 2


@pytest.mark.parametrize("username", ["supervisor", "accountant", "admin"])
def test_refresh_is_open_to_supervisor_accountant_admin(factory, engine, username):
    with unit_of_work(engine, factory.actor(username)) as session:
        session.execute(text("SELECT refresh_monthly_financial_summary()"))


@pytest.mark.parametrize("username", ["cashier", "officer"])
def test_refresh_is_refused_to_others(factory, engine, username):
    with pytest.raises(DBAPIError) as exc, unit_of_work(engine, factory.actor(username)) as session:
        session.execute(text("SELECT refresh_monthly_financial_summary()"))
    assert exc.value.orig.sqlstate == "42501"
