"""A payment on a written-off loan is a recovery: Dr the method's account / Cr 4300, never more than was written off,
the schedule untouched, reversed like a repayment; cash goes through the till."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.settlement.loans import make_loan, pay
from tests.tills.book import TODAY, TillBook, TillBranch, one
from tests.tills.books import account_balance, transaction_lines, trial_balance_difference, written


def write_off(book: TillBook, branch: TillBranch, loan: int) -> None:
    sup = branch.staff["supervisor"]
    one(book.app, sup, "SELECT write_off_loan(:l, :me, 'Customer left the district', :d)", l=loan, me=sup.user_id,
        d=date(2026, 6, 1))


def recover(book: TillBook, branch: TillBranch, loan: int, amount: str, key: str | None = None,
            method: str = "cash", reference: str | None = None) -> int:
    actor = branch.staff["cashier"]
    return int(one(book.app, actor, "SELECT record_loan_payment(:l, :a, :d, :me, :k, :m, :r)", l=loan, a=D(amount),
                   d=TODAY, me=actor.user_id, k=key, m=method, r=reference))


def _schedule(owner: Engine, loan: int) -> str:
    with owner.connect() as conn:
        return str(conn.execute(text("SELECT string_agg((to_jsonb(s) - 'updated_at')::text, '|' ORDER BY s.id) "
                                     "FROM payment_schedules s WHERE s.loan_id = :l"), {"l": loan}).scalar_one())


def test_a_recovery_posts_to_4300_up_to_what_was_written_off_and_reverses(book: TillBook) -> None:
    msa, app, owner = book.msa, book.app, book.owner
    loan = make_loan(app, msa, "Recovered", principal="2000")
    pay(app, msa, loan, "500.00", date(2026, 1, 31))
    write_off(book, msa, loan)
    with owner.connect() as conn:
        written_off = conn.execute(text("SELECT amount FROM transactions WHERE loan_id = :l "
                                        "AND transaction_type = 'write_off'"), {"l": loan}).scalar_one()
    schedule = _schedule(owner, loan)
    first = recover(book, msa, loan, "600.00", key="rec-1")
    mpesa = recover(book, msa, loan, "100.00", method="mobile_money", reference="QK7HX2Y9ZB")
    assert transaction_lines(owner, first) == [("1000", D("600.00"), 0), ("4300", 0, D("600.00"))]
    assert transaction_lines(owner, mpesa) == [("1150", D("100.00"), 0), ("4300", 0, D("100.00"))]
    assert _schedule(owner, loan) == schedule  # no schedule change
    with owner.connect() as conn:
        status, kind, receipt = conn.execute(text(
            "SELECT l.status, t.transaction_type, t.receipt_number FROM transactions t "
            "JOIN loans l ON l.id = t.loan_id WHERE t.id = :t"), {"t": first}).one()
    assert (status, kind) == ("written_off", "recovery") and receipt.startswith("MSA01-R-")
    assert recover(book, msa, loan, "600.00", key="rec-1") == first  # the same key: the same recovery

    # More than is left of the write-off: refused, nothing written.
    left = written_off - D("700.00")
    before = written(owner)
    with pytest.raises(DBAPIError) as too_much:
        recover(book, msa, loan, str(left + D("0.01")))
    assert getattr(too_much.value.orig, "sqlstate", "") == "P0103"
    assert f"at most {left:,.2f} more" in str(too_much.value.orig)
    assert written(owner) == before

    # A reversal mirrors the entry, leaves the schedule, and frees the amount again.
    sup2 = msa.staff["supervisor2"]
    reversal = int(one(app, sup2, "SELECT reverse_transaction(:t, :me, 'Wrong customer')", t=first, me=sup2.user_id))
    assert transaction_lines(owner, reversal) == [("1000", 0, D("600.00")), ("4300", D("600.00"), 0)]
    assert _schedule(owner, loan) == schedule
    assert account_balance(owner, "4300") == D("-100.00")
    recover(book, msa, loan, str(left + D("600.00")))
    assert trial_balance_difference(owner) == 0


def test_a_cash_recovery_goes_into_the_open_till_where_tills_are_required(book: TillBook) -> None:
    nrb, app = book.nrb, book.app
    loan = make_loan(app, nrb, "TillRecovery", principal="2000")
    write_off(book, nrb, loan)
    with pytest.raises(DBAPIError) as no_till:
        recover(book, nrb, loan, "50.00")
    assert getattr(no_till.value.orig, "sqlstate", "") == "P0110"
    cashier = nrb.staff["cashier"]
    session = one(app, cashier, "SELECT open_till(:t, 0, :me)", t=nrb.tills["T1"], me=cashier.user_id)
    recover(book, nrb, loan, "50.00")
    with book.owner.connect() as conn:
        cash_in, receipts = conn.execute(text("SELECT cash_in, receipts FROM till_session_cash(:s)"),
                                         {"s": session}).one()
    assert (cash_in, receipts) == (D("50.00"), 1)
    # Another branch's written-off loan finds no loan.
    with pytest.raises(DBAPIError) as sibling:
        recover(book, book.msa, loan, "10.00")
    assert getattr(sibling.value.orig, "sqlstate", "") == "P0101"
