"""Days past due and PAR (docs/database.md: PAR30 counts a loan 31 days late, not one 30 days late)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.engine import unit_of_work
from tests.reporting.conftest import AS_OF, Inst, monthly


def dpd(factory, loan_id, as_of=AS_OF):
    return factory.scalar("SELECT loan_days_past_due(:l, :d)", l=loan_id, d=as_of)


def par(factory, days, as_of=AS_OF):
    return factory.scalar("SELECT calculate_par(:n, :d)", n=days, d=as_of)


def sqlstate(exc_info):
    return exc_info.value.orig.sqlstate


def test_installment_due_today_is_not_overdue(factory):
    loan = factory.loan([Inst(AS_OF, Decimal("500.00")), Inst(AS_OF + timedelta(days=30), Decimal("500.00"))])
    assert dpd(factory, loan) == 0
    assert dpd(factory, loan, AS_OF + timedelta(days=1)) == 1
    assert dpd(factory, loan, AS_OF - timedelta(days=5)) == 0


def test_dpd_counts_from_the_oldest_installment_still_owing(factory):
    rows = monthly(Decimal("900.00"), 3, date(2025, 4, 10), paid=1)
    loan = factory.loan(rows)
    # Installment 1 (April 10) is paid; installment 2 (May 10) is the oldest still owing.
    assert dpd(factory, loan) == (AS_OF - date(2025, 5, 10)).days == 51


def test_partially_paid_oldest_installment_still_counts(factory):
    rows = monthly(Decimal("900.00"), 3, date(2025, 5, 20))
    rows[0].interest_paid = rows[0].interest
    rows[0].principal_paid = Decimal("100.00")
    assert rows[0].status == "partial"
    loan = factory.loan(rows)
    assert dpd(factory, loan) == 41


def test_fully_paid_loan_and_loan_without_schedule_have_zero_dpd(factory, engine):
    paid = factory.loan(monthly(Decimal("300.00"), 3, date(2025, 1, 5), paid=3), status="closed")
    assert dpd(factory, paid) == 0
    with engine.begin() as conn:
        pending = conn.execute(text(
            "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
            "repayment_frequency) VALUES (:c, 100, 10, 'flat', 2, 'weekly') RETURNING id"
        ), {"c": factory.customer()}).scalar_one()
    assert dpd(factory, pending) == 0


def test_dpd_defaults_to_today(factory):
    loan = factory.loan([Inst(date.today() - timedelta(days=3), Decimal("100.00"))])
    assert factory.scalar("SELECT loan_days_past_due(:l)", l=loan) == 3


def test_dpd_refuses_a_missing_or_unknown_loan(factory):
    with pytest.raises(DBAPIError) as exc:
        factory.scalar("SELECT loan_days_past_due(NULL)")
    assert sqlstate(exc) == "P0107"
    with pytest.raises(DBAPIError) as exc:
        factory.scalar("SELECT loan_days_past_due(987654)")
    assert sqlstate(exc) == "P0101"
    assert "loan 987654 not found" in str(exc.value.orig)


def test_par30_counts_31_days_late_not_30(factory):
    factory.overdue_loan(30, principal=Decimal("1000.00"))  # 750.00 principal still owed
    factory.overdue_loan(31, principal=Decimal("1000.00"))  # 750.00 principal still owed
    assert par(factory, 30) == Decimal("50.00")
    assert par(factory, 29) == Decimal("100.00")
    assert par(factory, 31) == Decimal("0.00")


def test_par1_and_par90_over_a_mixed_portfolio(factory):
    factory.overdue_loan(0, principal=Decimal("4000.00"))     # current: 3000.00 owed
    factory.overdue_loan(1, principal=Decimal("2000.00"))     # 1 day: 1500.00
    factory.overdue_loan(2, principal=Decimal("1200.00"))     # 2 days: 900.00
    factory.overdue_loan(95, principal=Decimal("800.00"), status="defaulted")  # 600.00
    # Loans that are not active or defaulted never count, whatever they owe.
    factory.overdue_loan(200, principal=Decimal("9000.00"), status="written_off")
    total = Decimal("6000.00")
    assert par(factory, 1) == (100 * Decimal("1500.00") / total).quantize(Decimal("0.01"))  # 25.00
    assert par(factory, 0) == Decimal("50.00")
    assert par(factory, 90) == Decimal("10.00")
    assert par(factory, 180) == Decimal("0.00")


def test_par_rounds_half_away_from_zero(factory):
    factory.overdue_loan(0, principal=Decimal("2.00"), n=1)   # its one installment is paid: nothing owed
    factory.loan([Inst(AS_OF - timedelta(days=40), Decimal("1.00"))])
    factory.loan([Inst(AS_OF + timedelta(days=40), Decimal("7.00"))])
    # 1 / 8 = 12.5 %
    assert par(factory, 30) == Decimal("12.50")
    factory.loan([Inst(AS_OF + timedelta(days=40), Decimal("1.00"))])
    # 1 / 9 = 11.111… %
    assert par(factory, 30) == Decimal("11.11")


def test_par_is_zero_when_nothing_is_owed(factory):
    assert par(factory, 30) == Decimal("0.00")
    factory.loan(monthly(Decimal("300.00"), 3, date(2025, 1, 5), paid=3), status="closed")
    assert par(factory, 30) == Decimal("0.00")


@pytest.mark.parametrize(("days", "message"), [(None, "needs a number of days"), (-1, "0 or more")])
def test_par_refuses_bad_days(factory, days, message):
    with pytest.raises(DBAPIError) as exc:
        par(factory, days)
    assert sqlstate(exc) == "P0107"
    assert message in str(exc.value.orig)


@pytest.mark.parametrize("username", ["officer", "supervisor", "accountant"])
def test_par_is_open_to_portfolio_roles(factory, engine, username):
    factory.overdue_loan(45)
    with unit_of_work(engine, factory.actor(username)) as session:
        assert session.execute(text("SELECT calculate_par(30, :d)"), {"d": AS_OF}).scalar() == Decimal("100.00")


@pytest.mark.parametrize("username", ["cashier", "admin"])
def test_par_is_refused_to_other_roles(factory, engine, username):
    with pytest.raises(DBAPIError) as exc, unit_of_work(engine, factory.actor(username)) as session:
        session.execute(text("SELECT calculate_par(30)"))
    assert sqlstate(exc) == "42501"
