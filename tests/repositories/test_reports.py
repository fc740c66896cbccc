"""Reports and the overdue queue against loans made through the ledger's own functions."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from db.errors import Refused, ValidationError
from db.repositories.reports import ReportRepository
from tests.repositories.conftest import make_active_loan

TODAY = date.today()


@pytest.fixture
def portfolio(engine, actors):
    """Four loans: current, 1–30, 31–60 (no phone), 61–90 days past due."""
    return {
        "current": make_active_loan(engine, actors, "Current", "Client", days_ago=10),
        "late10": make_active_loan(engine, actors, "Ten", "Late", days_ago=40),
        "late45": make_active_loan(engine, actors, "Fortyfive", "Late", days_ago=75, phone=None),
        "late70": make_active_loan(engine, actors, "Seventy", "Late", days_ago=100),
    }


def test_par_equals_calculate_par(engine, actors, portfolio):
    figures = ReportRepository(engine, actors["accountant"]).par(TODAY)
    with engine.connect() as conn:
        par30 = conn.execute(text("SELECT calculate_par(30, :d)"), {"d": TODAY}).scalar_one()
    assert figures.par30 == par30
    assert figures.par1 > figures.par30 > 0 and figures.par90 == 0


def test_aging_buckets_count_each_loan_once(engine, actors, portfolio):
    buckets = {b.label: b for b in ReportRepository(engine, actors["supervisor"]).aging(TODAY)}
    assert [buckets[k].loans for k in ("current", "1-30", "31-60", "61-90", "91-180", "over 180")] == [1, 1, 1, 1, 0, 0]
    assert buckets["current"].outstanding_principal == Decimal("10000.00")


def test_overdue_queue_is_sorted_paged_and_filtered(engine, actors, portfolio):
    officer = ReportRepository(engine, actors["officer"])
    first = officer.overdue_queue(TODAY, limit=2)
    assert [r.loan_number for r in first.rows] == [portfolio["late70"].loan_number, portfolio["late45"].loan_number]
    assert first.more
    second = officer.overdue_queue(TODAY, after=first.rows[-1], limit=2)
    assert [r.loan_number for r in second.rows] == [portfolio["late10"].loan_number] and not second.more
    only = officer.overdue_queue(TODAY, bucket="31-60")
    assert [r.loan_number for r in only.rows] == [portfolio["late45"].loan_number]
    mine = officer.overdue_queue(TODAY, officer_first=True)
    assert len(mine.rows) == 3
    with pytest.raises(ValidationError):
        officer.overdue_queue(TODAY, bucket="ancient")
    with pytest.raises(Refused, match="your role may not"):
        ReportRepository(engine, actors["cashier"]).overdue_queue(TODAY)


def test_reminders_for_chosen_loans_queue_once_a_day(engine, actors, portfolio):
    supervisor = ReportRepository(engine, actors["supervisor"])
    chosen = [portfolio["late10"].id, portfolio["late45"].id, portfolio["current"].id]
    assert supervisor.remind(chosen, TODAY) == 1  # 45 days late has no phone; the current loan is not overdue
    assert supervisor.remind(chosen, TODAY) == 0
    assert supervisor.remind_all(1, TODAY) == 1  # the 70-day loan; the 10-day one was reminded already
    with engine.connect() as conn:
        messages = conn.execute(text("SELECT message FROM sms_histories ORDER BY id")).scalars().all()
    assert len(messages) == 2 and "is 10 days overdue" in messages[0]
    with pytest.raises(ValidationError):
        supervisor.remind([], TODAY)
    with pytest.raises(Refused):
        ReportRepository(engine, actors["cashier"]).remind(chosen, TODAY)


def test_monthly_summary_after_refresh(engine, actors, portfolio):
    reports = ReportRepository(engine, actors["accountant"])
    reports.refresh_monthly_summary()
    months = reports.monthly_summary(months=12)
    assert sum(m.disbursed for m in months) == Decimal("40000.00")
    assert months[-1].active_loans_at_month_end == 4
