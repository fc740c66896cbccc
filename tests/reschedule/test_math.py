"""The new unpaid tail comes from the one schedule math; what was paid stays paid; arrears kept or waived."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Engine, text

from tests.ledger.helpers import TODAY, Staff, active_loan, pay, scalar
from tests.reschedule.helpers import approve, preview, request, rows, schedule_rows

DISBURSED = TODAY - timedelta(days=100)
FIRST = TODAY - timedelta(days=70)  # installments 1-3 are overdue today


def _loan(engine: Engine, staff: Staff) -> int:
    with engine.begin() as conn:
        return active_loan(conn, staff, disbursed=DISBURSED, first=FIRST)


def test_waived_arrears_leave_the_oracle_schedule_on_the_new_dates(engine: Engine, staff: Staff) -> None:
    loan = _loan(engine, staff)
    new_first = TODAY + timedelta(days=5)
    with engine.begin() as conn:
        shown = preview(conn, loan, new_next_due_date=new_first, arrears_handling="waive")
        entries = scalar(conn, "SELECT count(*) FROM journal_entries")
        rid = request(conn, staff, loan, new_next_due_date=new_first, arrears_handling="waive")
        assert approve(conn, staff, rid) == 12
    with engine.connect() as conn:
        now = rows(conn, loan)
        # the oracle of docs/database.md "Schedules": 10,000 at 24 %, 12 monthly → 745.60 + 200.00, then
        # 760.51 + 185.09; interest 1,347.15
        assert (now[0].principal_due, now[0].interest_due, now[0].due_date) == (Decimal("745.60"), Decimal("200.00"),
                                                                               new_first)
        assert (now[1].principal_due, now[1].interest_due) == (Decimal("760.51"), Decimal("185.09"))
        assert sum(r.interest_due for r in now) == Decimal("1347.15")
        assert sum(r.principal_due for r in now) == Decimal("10000.00")
        assert [(r.installment_number, r.due_date, r.principal_due, r.interest_due, r.total_due) for r in now] == \
            [(p.installment_number, p.due_date, p.principal_due, p.interest_due, p.total_due) for p in shown]
        assert scalar(conn, "SELECT loan_days_past_due(:l, :d)", l=loan, d=TODAY) == 0
        done = conn.execute(text("SELECT * FROM loan_reschedules WHERE id = :r"), {"r": rid}).one()
        assert (done.status, done.outstanding_moved, done.arrears_penalty) == ("approved", Decimal("10000.00"), 0)
        # The waived arrears: the interest of the three installments due before today (200.00 + 185.09 + 169.88).
        assert done.arrears_interest == Decimal("554.97")
        assert scalar(conn, "SELECT count(*) FROM payment_schedule_history WHERE reschedule_id = :r", r=rid) == 12
        assert scalar(conn, "SELECT count(*) FROM journal_entries") == entries  # nothing posted


def test_a_partly_paid_installment_closes_at_what_it_received_and_kept_arrears_fall_on_the_first_new_one(
        engine: Engine, staff: Staff) -> None:
    loan = _loan(engine, staff)
    new_first = TODAY + timedelta(days=5)
    with engine.begin() as conn:
        pay(conn, staff, loan, "500.00")  # installment 1: 200.00 interest, 300.00 principal
        before = rows(conn, loan)
        payments = scalar(conn, "SELECT count(*) FROM transactions")
        rid = request(conn, staff, loan, new_next_due_date=new_first, extra_installments=3)
        assert approve(conn, staff, rid) == 15
    with engine.connect() as conn:
        now = rows(conn, loan)
        first = now[0]
        assert (first.status, first.principal_due, first.interest_due, first.total_paid, first.paid_date) == (
            "paid", Decimal("300.00"), Decimal("200.00"), Decimal("500.00"), TODAY)
        tail = now[1:]
        math = schedule_rows(conn, "9700.00", 24, 15, new_first)
        arrears = Decimal("185.09") + Decimal("169.88")  # installments 2 and 3, due before today
        assert [r.installment_number for r in tail] == list(range(2, 17))
        assert [r.principal_due for r in tail] == [m.principal_due for m in math]
        assert tail[0].interest_due == math[0].interest_due + arrears == Decimal("194.00") + arrears
        assert [r.interest_due for r in tail[1:]] == [m.interest_due for m in math[1:]]
        assert all(r.status == "pending" and r.total_paid == 0 for r in tail)
        assert sum(r.principal_due for r in now) == Decimal("10000.00")
        loan_row = conn.execute(text("SELECT term, principal_outstanding, oldest_unpaid_due_date, interest_rate "
                                     "FROM loans WHERE id = :l"), {"l": loan}).one()
        assert tuple(loan_row) == (16, Decimal("9700.00"), new_first, Decimal("24.0000"))
        done = conn.execute(text("SELECT * FROM loan_reschedules WHERE id = :r"), {"r": rid}).one()
        assert (done.outstanding_moved, done.arrears_interest, done.previous_term, done.new_term) == (
            Decimal("9700.00"), arrears, 12, 16)
        history = list(conn.execute(text(
            "SELECT installment_number, due_date, principal_due, interest_due, total_paid, status "
            "FROM payment_schedule_history WHERE reschedule_id = :r ORDER BY installment_number"), {"r": rid}))
        assert [tuple(h) for h in history] == [(b.installment_number, b.due_date, b.principal_due, b.interest_due,
                                                b.total_paid, b.status) for b in before]
        assert scalar(conn, "SELECT count(*) FROM transactions") == payments
        # The next payment goes to the first new installment: arrears interest first.
        pay(conn, staff, loan, "100.00")
        assert rows(conn, loan)[1].interest_paid == Decimal("100.00")
        conn.rollback()


def test_grace_periods_a_new_rate_and_a_later_installment_leave_the_earlier_rows_alone(
        engine: Engine, staff: Staff) -> None:
    loan = _loan(engine, staff)
    new_first = TODAY + timedelta(days=20)
    with engine.begin() as conn:
        before = rows(conn, loan)
        rid = request(conn, staff, loan, from_installment=4, new_next_due_date=new_first, new_rate="12",
                      grace_periods=2, arrears_handling="waive", by=staff.supervisor)
        approve(conn, staff, rid, by=staff.supervisor2)
    with engine.connect() as conn:
        now = rows(conn, loan)
        assert now[:3] == before[:3]
        owed = Decimal("10000.00") - sum(r.principal_due for r in before[:3])
        assert owed == Decimal("7718.17")
        tail = now[3:]
        assert [(r.principal_due, r.interest_due) for r in tail[:2]] == [(0, Decimal("77.18"))] * 2
        math = schedule_rows(conn, owed, 12, 9, new_first, grace=2)
        assert [(r.due_date, r.principal_due, r.interest_due) for r in tail] == [
            (m.due_date, m.principal_due, m.interest_due) for m in math]
        assert sum(r.principal_due for r in now) == Decimal("10000.00")
        assert scalar(conn, "SELECT interest_rate FROM loans WHERE id = :l", l=loan) == Decimal("12.0000")
        assert scalar(conn, "SELECT previous_rate FROM loan_reschedules WHERE id = :r", r=rid) == Decimal("24.0000")


def test_grace_periods_in_the_schedule_math_flat_and_declining(engine: Engine) -> None:
    with engine.connect() as conn:
        for method in ("flat", "declining_balance"):
            plain = schedule_rows(conn, "10000.00", 24, 12, TODAY, method=method)
            assert plain == schedule_rows(conn, "10000.00", 24, 12, TODAY, grace=0, method=method)
            graced = schedule_rows(conn, "10000.00", 24, 12, TODAY, grace=3, method=method)
            assert [r.principal_due for r in graced[:3]] == [0, 0, 0]
            assert all(r.principal_due > 0 for r in graced[3:])
            assert sum(r.principal_due for r in graced) == Decimal("10000.00")
        flat = schedule_rows(conn, "10000.00", 24, 12, TODAY, grace=3, method="flat")
        assert sum(r.interest_due for r in flat) == Decimal("2400.00")
        assert flat[3].principal_due == Decimal("1111.11")
