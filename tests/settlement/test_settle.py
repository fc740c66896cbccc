"""settle_loan: exactly the quote closes the loan, the rest of the interest waived; anything else is refused with
nothing written; a retry returns the first settlement; another branch's loan cannot be settled."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.settlement.loans import make_loan, make_product, pay, quote
from tests.tills.book import TillBook, TillBranch, one
from tests.tills.books import transaction_lines, trial_balance_difference, written


def settle(book: TillBook, branch: TillBranch, loan: int, amount: str, day: date, key: str | None,
           role: str = "cashier") -> int:
    actor = branch.staff[role]
    return int(one(book.app, actor, "SELECT settle_loan(:l, :a, :d, :me, :k, 'bank', 'EQ-9')", l=loan,
                   a=D(amount), d=day, me=actor.user_id, k=key))


def _closed_then_settle(book: TillBook, loan: int, day: date) -> int:
    """MSA01's books closed through the day: the settlement is refused like any posting (the close is kept)."""
    sup = book.msa.staff["supervisor"]
    one(book.app, sup, "SELECT close_branch_period(:b, :d, :me)", b=book.msa.id, d=day, me=sup.user_id)
    return settle(book, book.msa, loan, "11347.15", day, None)


def _schedule(owner: Engine, loan: int) -> list[tuple[object, ...]]:
    with owner.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT installment_number, principal_due, interest_due, total_due, total_paid, status, paid_date "
            "FROM payment_schedules WHERE loan_id = :l ORDER BY installment_number"), {"l": loan})]


def test_the_quote_closes_the_loan_waiving_the_rest_of_the_interest(book: TillBook) -> None:
    msa, app, owner = book.msa, book.app, book.owner
    loan = make_loan(app, msa, "Settles")
    pay(app, msa, loan, "945.60", date(2026, 1, 31))
    day = date(2026, 2, 10)
    assert quote(app, msa, loan, day)[3] == D("9439.49")
    txn = settle(book, msa, loan, "9439.49", day, "settle-1")
    with owner.connect() as conn:
        status, closed_at = conn.execute(text("SELECT status, closed_at::date FROM loans WHERE id = :l"),
                                         {"l": loan}).one()
        t = conn.execute(text("SELECT transaction_type, amount, principal_amount, interest_amount, receipt_number "
                              "FROM transactions WHERE id = :t"), {"t": txn}).one()
    assert (status, closed_at) == ("closed", day)
    assert tuple(t[:4]) == ("repayment", D("9439.49"), D("9254.40"), D("185.09"))
    assert t.receipt_number.startswith("MSA01-R-")
    rows = _schedule(owner, loan)
    assert all(r[5] == "paid" and r[4] == r[3] for r in rows)
    assert sum(r[1] for r in rows) == D("10000.00")  # principal still sums to the loan's
    assert [r[2] for r in rows[:3]] == [D("200.00"), D("185.09"), D("0.00")]  # the rest of the interest waived
    assert rows[1][6] == day and rows[2][6] == day
    assert transaction_lines(owner, txn) == [("1100", D("9439.49"), 0), ("1200", 0, D("9254.40")),
                                             ("4000", 0, D("185.09"))]
    assert trial_balance_difference(owner) == 0

    # The same key again returns the same settlement and writes nothing.
    before = written(owner)
    assert settle(book, msa, loan, "9439.49", day, "settle-1") == txn
    assert written(owner) == before

    # Reversed, the settlement reopens the loan; the interest it waived stays waived (the quote of that day).
    sup = msa.staff["supervisor"]
    one(book.app, sup, "SELECT reverse_transaction(:t, :me, 'Cheque bounced')", t=txn, me=sup.user_id)
    with owner.connect() as conn:
        assert conn.execute(text("SELECT status FROM loans WHERE id = :l"), {"l": loan}).scalar_one() == "active"
    assert quote(app, msa, loan, day)[3] == D("9439.49")
    assert trial_balance_difference(owner) == 0


def test_another_amount_is_refused_naming_the_quote_and_nothing_is_written(book: TillBook, engine: Engine) -> None:
    msa, app, owner = book.msa, book.app, book.owner
    loan = make_loan(app, msa, "Wrong", product=make_product(engine, "DB-ALL", "declining_balance", "all_remaining"))
    day = date(2026, 1, 15)
    before = written(owner)
    for amount in ("10200.00", "11347.16", "0.00"):
        with pytest.raises(DBAPIError) as refused:
            settle(book, msa, loan, amount, day, f"wrong-{amount}")
        assert getattr(refused.value.orig, "sqlstate", "") in {"P0103"}
    assert "The payoff quote for loan" in str(refused.value.orig) or "more than zero" in str(refused.value.orig)
    with pytest.raises(DBAPIError) as named:
        settle(book, msa, loan, "10200.00", day, "wrong-again")
    assert "is 11,347.15" in str(named.value.orig)
    # A day in the future, before the disbursement, by a loan officer, by another branch: refused too.
    for call, state in ((lambda: settle(book, msa, loan, "11347.15", date(2099, 1, 1), None), "P0104"),
                        (lambda: settle(book, msa, loan, "10000.00", date(2025, 12, 1), None), "P0104"),
                        (lambda: settle(book, msa, loan, "11347.15", day, None, role="officer"), "42501"),
                        (lambda: settle(book, book.nrb, loan, "11347.15", day, None), "P0101"),
                        (lambda: _closed_then_settle(book, loan, day), "P0104")):
        with pytest.raises(DBAPIError) as other:
            call()
        assert getattr(other.value.orig, "sqlstate", "") == state, other.value.orig
    assert written(owner) == before
    # After the closed day, the right amount closes it: all remaining interest kept under all_remaining.
    settle(book, msa, loan, "11347.15", day + timedelta(days=1), "right")
    assert trial_balance_difference(owner) == 0


def test_a_cash_settlement_goes_through_the_till_where_tills_are_required(book: TillBook) -> None:
    nrb, app, owner = book.nrb, book.app, book.owner
    loan = make_loan(app, nrb, "Counter")
    cashier = nrb.staff["cashier"]
    args = {"l": loan, "a": D("10200.00"), "d": date(2026, 1, 15), "me": cashier.user_id}
    with pytest.raises(DBAPIError) as no_till:
        one(app, cashier, "SELECT settle_loan(:l, :a, :d, :me, 'k1')", **args)
    assert getattr(no_till.value.orig, "sqlstate", "") == "P0110"
    session = one(app, cashier, "SELECT open_till(:t, 0, :me)", t=nrb.tills["T1"], me=cashier.user_id)
    txn = one(app, cashier, "SELECT settle_loan(:l, :a, :d, :me, 'k1')", **args)
    with owner.connect() as conn:
        assert conn.execute(text("SELECT till_session_id FROM transactions WHERE id = :t"),
                            {"t": txn}).scalar_one() == session
        assert conn.execute(text("SELECT cash_in FROM till_session_cash(:s)"), {"s": session}).scalar_one() == D(
            "10200.00")
