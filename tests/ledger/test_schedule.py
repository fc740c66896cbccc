"""Schedule math: the oracles of docs/database.md, frequencies, zero rate, month ends, single installment."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Engine, text

from tests.ledger.helpers import TODAY, Staff, active_loan, make_loan, refused, scalar, schedule

D = Decimal


def preview(conn: Connection, principal: str, rate: str, method: str, term: int, frequency: str,
            first: date | None) -> list:
    return list(conn.execute(
        text("SELECT * FROM preview_payment_schedule(:p, :r, :m, :t, :f, :d)"),
        {"p": D(principal), "r": D(rate), "m": method, "t": term, "f": frequency, "d": first},
    ))


def test_declining_balance_oracle(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = preview(conn, "10000.00", "24", "declining_balance", 12, "monthly", date(2025, 1, 15))
    assert len(rows) == 12
    assert rows[0].total_due == D("945.60")
    assert (rows[0].principal_due, rows[0].interest_due, rows[0].balance_after) == (D("745.60"), D("200.00"),
                                                                                    D("9254.40"))
    assert (rows[1].principal_due, rows[1].interest_due, rows[1].balance_after) == (D("760.51"), D("185.09"),
                                                                                    D("8493.89"))
    assert all(r.total_due == D("945.60") for r in rows[:-1])
    assert sum(r.interest_due for r in rows) == D("1347.15")
    assert sum(r.principal_due for r in rows) == D("10000.00")
    assert rows[-1].balance_after == 0
    assert [r.due_date for r in rows[:3]] == [date(2025, 1, 15), date(2025, 2, 15), date(2025, 3, 15)]


def test_flat_oracle(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = preview(conn, "10000.00", "24", "flat", 12, "monthly", date(2025, 1, 15))
    assert [(r.principal_due, r.interest_due) for r in rows[:11]] == [(D("833.33"), D("200.00"))] * 11
    assert (rows[11].principal_due, rows[11].interest_due) == (D("833.37"), D("200.00"))
    assert sum(r.principal_due for r in rows) == D("10000.00")
    assert sum(r.interest_due for r in rows) == D("2400.00")


def test_weekly_loan(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = preview(conn, "5200.00", "52", "declining_balance", 10, "weekly", date(2025, 3, 3))
    # r = 52 % / 52 = 1 % a week; EMI = round(5200·0.01 / (1 − 1.01^−10)) = round(549.0268) = 549.03
    assert rows[0].total_due == D("549.03")
    assert rows[0].interest_due == D("52.00")
    assert [r.due_date for r in rows] == [date(2025, 3, 3) + timedelta(days=7 * k) for k in range(10)]
    assert sum(r.principal_due for r in rows) == D("5200.00")


def test_biweekly_loan(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = preview(conn, "2600.00", "26", "flat", 4, "biweekly", date(2025, 3, 3))
    # I = round(2600 · 0.26 / 26 · 4) = 104.00; 650.00 + 26.00 each
    assert [(r.principal_due, r.interest_due) for r in rows] == [(D("650.00"), D("26.00"))] * 4
    assert [r.due_date for r in rows] == [date(2025, 3, 3) + timedelta(days=14 * k) for k in range(4)]


def test_zero_rate(engine: Engine) -> None:
    with engine.connect() as conn:
        declining = preview(conn, "1000.00", "0", "declining_balance", 3, "monthly", date(2025, 1, 1))
        flat = preview(conn, "1000.00", "0", "flat", 3, "monthly", date(2025, 1, 1))
    for rows in (declining, flat):
        assert [r.principal_due for r in rows] == [D("333.33"), D("333.33"), D("333.34")]
        assert all(r.interest_due == 0 for r in rows)


def test_month_end_dates_clamp_and_return_to_the_31st(engine: Engine) -> None:
    with engine.connect() as conn:
        leap = preview(conn, "1000.00", "12", "flat", 5, "monthly", date(2024, 1, 31))
        common = preview(conn, "1000.00", "12", "flat", 3, "monthly", date(2025, 1, 31))
    assert [r.due_date for r in leap] == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31),
                                          date(2024, 4, 30), date(2024, 5, 31)]
    assert [r.due_date for r in common] == [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31)]


def test_single_installment(engine: Engine) -> None:
    with engine.connect() as conn:
        declining = preview(conn, "1000.00", "24", "declining_balance", 1, "monthly", date(2025, 1, 1))
        flat = preview(conn, "1000.00", "24", "flat", 1, "monthly", date(2025, 1, 1))
    assert [(r.principal_due, r.interest_due, r.balance_after) for r in declining] == [(D("1000.00"), D("20.00"), 0)]
    assert [(r.principal_due, r.interest_due, r.balance_after) for r in flat] == [(D("1000.00"), D("20.00"), 0)]


def test_no_first_date_means_one_period_from_today(engine: Engine) -> None:
    with engine.connect() as conn:
        weekly = preview(conn, "1000.00", "10", "flat", 2, "weekly", None)
    assert weekly[0].due_date == TODAY + timedelta(days=7)


def test_preview_refuses_bad_terms(engine: Engine) -> None:
    cases = [
        (("0", "24", "flat", 12, "monthly"), "P0103"),
        (("-5", "24", "flat", 12, "monthly"), "P0103"),
        (("100.001", "24", "flat", 12, "monthly"), "P0103"),
        (("1000", "-1", "flat", 12, "monthly"), "P0107"),
        (("1000", "24", "balloon", 12, "monthly"), "P0107"),
        (("1000", "24", "flat", 0, "monthly"), "P0107"),
        (("1000", "24", "flat", 12, "daily"), "P0107"),
    ]
    for (p, r, m, t, f), code in cases:
        with engine.connect() as conn, refused(code):
            preview(conn, p, r, m, t, f, date(2025, 1, 1))


def test_generated_schedule_matches_preview(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff, disbursed=TODAY - timedelta(days=40), first=None)
        rows = schedule(conn, loan)
        first = scalar(conn, "SELECT first_repayment_date FROM loans WHERE id = :l", l=loan)
        expected = preview(conn, "10000.00", "24", "declining_balance", 12, "monthly", first)
    assert rows[0].due_date == first
    assert [r.due_date for r in rows] == [e.due_date for e in expected]
    assert [(r.principal_due, r.interest_due) for r in rows] == [(e.principal_due, e.interest_due) for e in expected]
    assert all(r.status == "pending" and r.total_paid == 0 for r in rows)


def test_disbursement_without_first_date_starts_one_period_later(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        monthly = active_loan(conn, staff, disbursed=date(2025, 1, 31))
        weekly = active_loan(conn, staff, disbursed=date(2025, 1, 31), frequency="weekly", term=3)
        assert schedule(conn, monthly)[0].due_date == date(2025, 2, 28)
        # The first date is 28 February; later dates count from it (docs/database.md), so 28 April, not the 30th.
        assert schedule(conn, monthly)[2].due_date == date(2025, 4, 28)
        assert [r.due_date for r in schedule(conn, weekly)] == [date(2025, 2, 7), date(2025, 2, 14), date(2025, 2, 21)]
        first = scalar(conn, "SELECT first_repayment_date FROM loans WHERE id = :l", l=monthly)
        assert first == date(2025, 2, 28)


def test_first_repayment_on_31_january(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff, disbursed=date(2024, 12, 20), first=date(2025, 1, 31), term=4)
        assert [r.due_date for r in schedule(conn, loan)] == [date(2025, 1, 31), date(2025, 2, 28),
                                                             date(2025, 3, 31), date(2025, 4, 30)]


def test_generate_replaces_a_schedule_without_payments_and_refuses_one_with(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
        before = schedule(conn, loan)
        assert scalar(conn, "SELECT generate_payment_schedule(:l, :c)", l=loan, c=staff.cashier) == 12
        assert [tuple(r) for r in schedule(conn, loan)] == [tuple(r) for r in before]
        conn.execute(text("SELECT record_loan_payment(:l, 100, current_date, :c)"), {"l": loan, "c": staff.cashier})
    with engine.begin() as conn, refused("P0102", "has repayments"):
        conn.execute(text("SELECT generate_payment_schedule(:l, :c)"), {"l": loan, "c": staff.cashier})
    with engine.begin() as conn, refused("P0102"):
        pending = make_loan(conn, staff)
        conn.execute(text("SELECT generate_payment_schedule(:l, :c)"), {"l": pending, "c": staff.cashier})
