"""The penalty rule, proved on the spec's oracles and around them (as the maintenance job: the owner)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine, text

from tests.penalties.book import charges, loan, penalty_due, product, run, scalar, staff

D = Decimal


def test_oracle_once(engine: Engine) -> None:
    """5 % of the overdue installment, grace 3, once: nothing on 02-03; 47.28 on 02-04; a second run nothing."""
    lid = loan(engine, product(engine))
    assert run(engine, date(2026, 2, 3)) == 0
    assert charges(engine, lid) == []
    assert run(engine, date(2026, 2, 4)) == 1
    assert charges(engine, lid) == [(1, 1, date(2026, 2, 4), D("47.28"), D("0.00"))]
    assert run(engine, date(2026, 2, 4)) == 0
    assert run(engine, date(2026, 2, 27)) == 0
    assert charges(engine, lid) == [(1, 1, date(2026, 2, 4), D("47.28"), D("0.00"))]
    assert penalty_due(engine, lid) == {1: D("47.28")}
    assert scalar(engine, "SELECT total_due FROM payment_schedules WHERE loan_id = :l AND installment_number = 1",
                  l=lid) == D("992.88")


def test_oracle_every_seven_days_up_to_the_cap(engine: Engine) -> None:
    """Interval 7, cap 100: 47.28 on 02-04, 47.28 on 02-11, 5.44 on 02-18, nothing after."""
    lid = loan(engine, product(engine, interval=7, cap="100"))
    for day, written in ((4, 1), (10, 0), (11, 1), (17, 0), (18, 1), (25, 0)):
        assert run(engine, date(2026, 2, day)) == written, day
    assert charges(engine, lid) == [(1, 1, date(2026, 2, 4), D("47.28"), D("0.00")),
                                    (1, 2, date(2026, 2, 11), D("47.28"), D("0.00")),
                                    (1, 3, date(2026, 2, 18), D("5.44"), D("0.00"))]
    assert penalty_due(engine, lid) == {1: D("100.00")}


def test_catch_up_and_reruns_equal_daily_runs(engine: Engine) -> None:
    """Three loans alike: one run every day; one missing three days (an occurrence among them); one run twice on
    the last day only. Each is made after the runs of the one before, so the runs it gets are its own."""
    rule = product(engine, interval=5, cap="400")
    first, last = date(2026, 2, 1), date(2026, 3, 18)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    daily = loan(engine, rule, surname="Daily")
    assert [run(engine, day) for day in days[:4]] == [0, 0, 0, 1]
    for day in days[4:]:
        run(engine, day)
    gaps = loan(engine, rule, surname="Gaps")
    missed = {date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 7)}  # occurrence 7 falls on 03-06
    for day in days:
        if day not in missed:
            run(engine, day)
    once = loan(engine, rule, surname="Once")
    assert run(engine, last) > 9
    assert run(engine, last) == 0
    got = charges(engine, daily)
    assert charges(engine, gaps) == got
    assert charges(engine, once) == got
    assert [(n, k) for n, k, *_ in got if n == 1] == [(1, k) for k in range(1, 10)]
    assert sum(c[3] for c in got if c[0] == 1) == D("400.00")
    assert [c[3] for c in got if c[0] == 1][-1] == D("21.76")
    assert penalty_due(engine, daily) == penalty_due(engine, once) == penalty_due(engine, gaps)


def test_flat_and_percent_of_principal_and_grace_zero(engine: Engine) -> None:
    flat = loan(engine, product(engine, code="FLAT", method="flat", value="150.555", grace=0), surname="Flat")
    prin = loan(engine, product(engine, code="PRIN", method="percent_of_overdue_principal", value="2.5", grace=0),
                surname="Prin")
    assert run(engine, date(2026, 1, 31)) == 0  # due today is not overdue
    assert run(engine, date(2026, 2, 1)) == 2
    assert charges(engine, flat) == [(1, 1, date(2026, 2, 1), D("150.56"), D("0.00"))]  # half up to the cent
    # principal of installment 1 is 745.60: 2.5 % = 18.64
    assert charges(engine, prin) == [(1, 1, date(2026, 2, 1), D("18.64"), D("0.00"))]


def test_no_rule_and_other_statuses_are_not_charged(engine: Engine) -> None:
    none = loan(engine, product(engine, code="NONE", method="none"), surname="None")
    no_product = loan(engine, None, surname="NoProduct")
    rule = product(engine)
    written_off, pending = loan(engine, rule, surname="Off"), loan(engine, rule, surname="Pending", disburse=False)
    defaulted = loan(engine, rule, surname="Defaulted")
    with engine.begin() as conn:
        conn.execute(text("UPDATE loans SET status = 'defaulted' WHERE id = :l"), {"l": defaulted})
        conn.execute(text("SELECT write_off_loan(:l, :me, 'gone', :d)"),
                     {"l": written_off, "me": staff(engine)["supervisor"].user_id, "d": date(2026, 2, 2)})
    assert run(engine, date(2026, 3, 1)) == 1
    for lid in (none, no_product, written_off, pending):
        assert charges(engine, lid) == []
    assert charges(engine, defaulted) == [(1, 1, date(2026, 2, 4), D("47.28"), D("0.00"))]


def test_paid_installments_are_not_charged_and_the_base_is_what_is_owed(engine: Engine) -> None:
    rule = product(engine, interval=7)
    lid = loan(engine, rule)
    cashier = staff(engine)["cashier"]
    with engine.begin() as conn:
        # Installment 1 paid in full before its grace ended; installment 2 half paid.
        conn.execute(text("SELECT record_loan_payment(:l, 945.60, :d, :me)"),
                     {"l": lid, "d": date(2026, 2, 2), "me": cashier.user_id})
        conn.execute(text("SELECT record_loan_payment(:l, 472.80, :d, :me)"),
                     {"l": lid, "d": date(2026, 3, 1), "me": cashier.user_id})
    assert run(engine, date(2026, 3, 4)) == 1
    # installment 2 owes 945.60 - 472.80 = 472.80: 5 % = 23.64
    assert charges(engine, lid) == [(2, 1, date(2026, 3, 4), D("23.64"), D("0.00"))]
