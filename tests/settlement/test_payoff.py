"""payoff_quote: the spec's oracles, each product rule, and the refusals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.settlement.loans import make_loan, make_product, pay, quote
from tests.tills.book import TillBook, one


def _sqlstate(exc: pytest.ExceptionInfo[DBAPIError]) -> str:
    return str(getattr(exc.value.orig, "sqlstate", ""))


def test_the_specs_oracles_on_a_loan_without_a_product(book: TillBook) -> None:
    msa, app = book.msa, book.app
    loan = make_loan(app, msa, "Oracle")
    assert quote(app, msa, loan, date(2026, 1, 15)) == (D("10000.00"), D("200.00"), D("0.00"), D("10200.00"))
    pay(app, msa, loan, "945.60", date(2026, 1, 31))  # installment 1
    assert quote(app, msa, loan, date(2026, 2, 10)) == (D("9254.40"), D("185.09"), D("0.00"), D("9439.49"))
    # On a due date that installment is due and the next period has not begun.
    assert quote(app, msa, loan, date(2026, 2, 28)) == (D("9254.40"), D("185.09"), D("0.00"), D("9439.49"))
    assert quote(app, msa, loan, date(2026, 3, 1))[1] == D("185.09") + D("169.88")
    # The disbursement day itself lies in no period: the principal alone.
    other = make_loan(app, msa, "SameDay")
    assert quote(app, msa, other, date(2025, 12, 31)) == (D("10000.00"), D("0.00"), D("0.00"), D("10000.00"))


def test_each_rule_of_the_product_and_penalties_due(book: TillBook, engine: Engine) -> None:
    msa, app = book.msa, book.app
    day = date(2026, 1, 15)
    flat_all = make_loan(app, msa, "FlatAll", method="flat", product=make_product(engine, "FLAT-ALL", "flat",
                                                                                   "all_remaining"))
    flat_current = make_loan(app, msa, "FlatCur", method="flat", product=make_product(engine, "FLAT-CUR", "flat",
                                                                                       "current_period"))
    db_none = make_loan(app, msa, "DbNone", product=make_product(engine, "DB-NONE", "declining_balance", "none"))
    db_all = make_loan(app, msa, "DbAll", product=make_product(engine, "DB-ALL", "declining_balance",
                                                               "all_remaining"))
    assert quote(app, msa, flat_all, day) == (D("10000.00"), D("2400.00"), D("0.00"), D("12400.00"))
    assert quote(app, msa, flat_current, day) == (D("10000.00"), D("200.00"), D("0.00"), D("10200.00"))
    assert quote(app, msa, db_none, day) == (D("10000.00"), D("0.00"), D("0.00"), D("10000.00"))
    assert quote(app, msa, db_all, day) == (D("10000.00"), D("1347.15"), D("0.00"), D("11347.15"))
    # Late: everything due is in whatever the rule; a penalty written on installment 1 is owed too.
    with engine.begin() as conn:
        conn.execute(text("UPDATE payment_schedules SET penalty_due = 47.28, total_due = total_due + 47.28 "
                          "WHERE loan_id = :l AND installment_number = 1"), {"l": db_none})
    assert quote(app, msa, db_none, date(2026, 2, 10)) == (D("10000.00"), D("200.00"), D("47.28"), D("10247.28"))


def test_refusals_another_state_a_day_before_disbursement_another_branch(book: TillBook) -> None:
    msa, nrb, app = book.msa, book.nrb, book.app
    loan = make_loan(app, msa, "Refused")
    with pytest.raises(DBAPIError) as before:
        quote(app, msa, loan, date(2025, 12, 30))
    assert _sqlstate(before) == "P0104" and "before loan" in str(before.value.orig)
    with pytest.raises(DBAPIError) as sibling:
        quote(app, nrb, loan, date(2026, 1, 15))  # NRB01 cannot see MSA01's loan
    assert _sqlstate(sibling) == "P0101"
    sup = msa.staff["supervisor"]
    one(app, sup, "SELECT write_off_loan(:l, :me, 'Gone', :d)", l=loan, me=sup.user_id, d=date(2026, 6, 1))
    with pytest.raises(DBAPIError) as written_off:
        quote(app, msa, loan, date(2026, 6, 2))
    assert _sqlstate(written_off) == "P0102" and "written_off" in str(written_off.value.orig)
    # Every role that sees the loan may ask for its quote.
    active = make_loan(app, msa, "Roles")
    for role in ("officer", "accountant", "admin", "supervisor"):
        assert quote(app, msa, active, date(2026, 1, 15), role)[3] == D("10200.00")
