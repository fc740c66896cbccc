"""The penalty repository as the screens use it: a loan's charges, a waiver with its refusals beside the fields,
the run by hand and the monthly report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from db.errors import Refused, ValidationError
from db.repositories.penalties import PenaltyRepository
from tests.penalties.book import loan, product, staff

D = Decimal


def test_charges_waivers_run_and_the_monthly_report(engine: Engine, app_engine: Engine) -> None:
    people = staff(engine)
    lid = loan(engine, product(engine, interval=7, cap="100"))
    sup = PenaltyRepository(app_engine, people["supervisor"])
    assert sup.run(date(2026, 2, 11)) == 2
    first, second = sup.charges(lid)
    assert (first.installment_number, first.occurrence, first.amount, first.unpaid) == (1, 1, D("47.28"), D("47.28"))
    for amount, reason, field, words in ((D("-1"), "ok", "amount", "more than zero"),
                                         (D("1.005"), "ok", "amount", "two decimals"),
                                         (D("47.29"), "ok", "amount", "Only 47.28"),
                                         (D("1"), "x" * 5000, "reason", "500 characters"),
                                         (D("1"), "[b]bold[/b]\x1b[31m", "reason", "control characters"),
                                         (D("1"), "", "reason", "Say why")):
        with pytest.raises(ValidationError) as info:
            sup.waive(first.id, amount, reason)
        assert list(info.value.fields) == [field] and words in info.value.fields[field]
    assert sup.waive(first.id, D("7.28"), "[b]Agreed[/b] at the branch") == D("40.00")
    first = sup.charges(lid)[0]
    assert (first.waived_amount, first.unpaid, first.waive_reason) == (D("7.28"), D("40.00"),
                                                                      "[b]Agreed[/b] at the branch")
    with engine.connect() as conn:
        name = conn.execute(text("SELECT full_name FROM users WHERE id = :u"),
                            {"u": people["supervisor"].user_id}).scalar()
    assert first.waived_by_name == name and first.waived_at is not None
    with pytest.raises(Refused):
        PenaltyRepository(app_engine, people["officer"]).run()
    with pytest.raises(ValidationError) as info:
        sup.run(date(2999, 1, 1))
    assert "as_of" in info.value.fields
    with engine.begin() as conn:
        conn.execute(text("SELECT record_loan_payment(:l, 50, :d, :me)"),
                     {"l": lid, "d": date(2026, 3, 2), "me": people["cashier"].user_id})
    report = {(m.month, m.branch_code): m for m in sup.monthly()}
    feb = report[(date(2026, 2, 1), "HQ")]
    assert (feb.charged, feb.collected) == (D("94.56"), D("0"))
    this_month = report[(date.today().replace(day=1), "HQ")]
    assert this_month.waived == D("7.28")
    assert report[(date(2026, 3, 1), "HQ")].collected == D("50.00")
