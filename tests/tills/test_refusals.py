"""Every refusal of the tills and the payment methods: its message, beside its field where it has one, and nothing
written. SQL level through the login role (the functions themselves), and the repositories on top."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from db.engine import Actor
from db.errors import AstrofinError, NotFound, Refused, ValidationError
from db.repositories.loans import LoanRepository
from db.repositories.payments import PaymentRepository, new_idempotency_key
from db.repositories.tills import TillRepository
from tests.tills.book import TODAY, TillBook, make_loan, one
from tests.tills.books import written


@contextmanager
def nothing_written(owner: Engine) -> Iterator[None]:
    before = written(owner)
    yield
    assert written(owner) == before


def refused(owner: Engine, call: Callable[[], Any], kind: type[AstrofinError] = Refused) -> AstrofinError:
    """The error the call raises (of `kind`), having written nothing."""
    with nothing_written(owner), pytest.raises(kind) as info:
        call()
    return info.value


def invalid(owner: Engine, call: Callable[[], Any]) -> dict[str, str]:
    """The fields and messages of the ValidationError the call raises, having written nothing."""
    error = refused(owner, call, ValidationError)
    assert isinstance(error, ValidationError)
    return error.fields


def sql_refusal(owner: Engine, app: Engine, actor: Actor, sql: str, **params: Any) -> tuple[str, str, str]:
    """(SQLSTATE, message, COLUMN) of a function's refusal, through the login role; nothing written."""
    with nothing_written(owner), pytest.raises(DBAPIError) as info:
        one(app, actor, sql, **params)
    orig = info.value.orig
    diag = getattr(orig, "diag", None)
    return (getattr(orig, "sqlstate", "") or "", getattr(diag, "message_primary", "") or "",
            getattr(diag, "column_name", "") or "")


def test_one_open_session_per_till_and_per_cashier(till_book: TillBook) -> None:
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    TillRepository(app, nrb.staff["cashier"]).open(nrb.tills["T1"], Decimal("1000.00"))
    fields = invalid(owner, lambda: TillRepository(app, nrb.staff["cashier2"]).open(nrb.tills["T1"], Decimal("0")))
    assert fields["till_id"].startswith("Till T1 is already open, held by Cashier NRB01 since ")
    fields = invalid(owner, lambda: TillRepository(app, nrb.staff["cashier"]).open(nrb.tills["T2"], Decimal("0")))
    assert fields["till_id"].startswith("You already hold till T1 open since ")
    # A session waiting for approval blocks neither the till nor the cashier.
    mine = TillRepository(app, nrb.staff["cashier"])
    session = mine.my_open_session()
    assert session is not None
    assert mine.close(session.id, Decimal("900.00"), "Short by a hundred").status == "pending_approval"
    assert mine.open(nrb.tills["T1"], Decimal("0")).status == "open"


def test_cash_without_an_open_till_where_tills_are_required(till_book: TillBook) -> None:
    nrb, msa, app, owner = till_book.nrb, till_book.msa, till_book.app, till_book.owner
    pay = PaymentRepository(app, nrb.staff["cashier"])
    error = refused(owner, lambda: pay.record(nrb.loans[0], Decimal("100.00"), TODAY, new_idempotency_key()))
    assert str(error) == "Open your till first: cash in NRB01 is taken into an open till (press o on the home screen)"
    assert sql_refusal(owner, app, nrb.staff["cashier"], "SELECT record_loan_payment(:l, 100, :d, :me)",
                       l=nrb.loans[0], d=TODAY, me=nrb.staff["cashier"].user_id)[0] == "P0110"
    approved = make_loan(app, nrb, "Waiting", disburse=False)
    error = refused(owner, lambda: LoanRepository(app, nrb.staff["cashier"]).disburse(approved, TODAY))
    assert str(error) == ("Open your till first: cash in NRB01 is paid out of an open till "
                          "(press o on the home screen)")
    # M-Pesa and bank need no till.
    receipt = pay.record(nrb.loans[0], Decimal("100.00"), TODAY, new_idempotency_key(), method="bank",
                         reference="EQ-2231-77")
    assert (receipt.payment_method, receipt.till_code) == ("bank", None)
    # Where tills are not required, cash without a till is taken as before.
    receipt = PaymentRepository(app, msa.staff["cashier"]).record(msa.loans[0], Decimal("100.00"), TODAY,
                                                                    new_idempotency_key())
    assert (receipt.payment_method, receipt.till_code) == ("cash", None)


def test_approval_is_never_by_the_cashier_nor_by_the_person_who_counted(till_book: TillBook) -> None:
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    sup, sup2, cashier = nrb.staff["supervisor"], nrb.staff["supervisor2"], nrb.staff["cashier"]
    # A supervisor's own till: they may not approve its count.
    own = TillRepository(app, sup).open(nrb.tills["T2"], Decimal("500.00"))
    TillRepository(app, sup).close(own.id, Decimal("450.00"), "Fifty missing")
    assert str(refused(owner, lambda: TillRepository(app, sup).approve(own.id))) == (
        "Till T2 was yours; another supervisor must approve its count")
    # A supervisor who counted an absent cashier's till: another must approve.
    theirs = TillRepository(app, cashier).open(nrb.tills["T1"], Decimal("500.00"))
    TillRepository(app, sup2).close(theirs.id, Decimal("520.00"), "Twenty over, found on the floor")
    assert str(refused(owner, lambda: TillRepository(app, sup2).approve(theirs.id))) == (
        "You counted till T1; another supervisor must approve")
    # The cashier's role may not approve at all.
    assert str(refused(owner, lambda: TillRepository(app, cashier).approve(theirs.id))) == (
        "your role may not do this (the database refused it)")
    assert sql_refusal(owner, app, sup, "SELECT approve_till_close(:s, :me)", s=own.id, me=sup.user_id)[0] == "P0105"
    assert TillRepository(app, sup).approve(theirs.id).status == "closed"
    assert TillRepository(app, sup2).approve(own.id).status == "closed"
    # A cashier may not count another cashier's till.
    other = TillRepository(app, nrb.staff["cashier2"]).open(nrb.tills["T1"], Decimal("0"))
    assert str(refused(owner, lambda: TillRepository(app, cashier).close(other.id, Decimal("0"), None))) == (
        "Till T1 is held by Cashier2 NRB01; only they or a supervisor may count it")


@pytest.mark.parametrize(("counted", "message"), [
    (Decimal("-5.00"), "The counted cash cannot be negative (got -5.00)"),
    (Decimal("NaN"), "The counted cash is not a number"),
    (Decimal("1000.005"), "The counted cash 1000.005 has more than two decimals"),
])
def test_a_count_that_is_not_an_amount(till_book: TillBook, counted: Decimal, message: str) -> None:
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    cashier = nrb.staff["cashier"]
    session = TillRepository(app, cashier).open(nrb.tills["T1"], Decimal("1000.00"))
    fields = invalid(owner, lambda: TillRepository(app, cashier).close(session.id, counted, "x"))
    assert fields == {"counted": message}
    state, sql_message, column = sql_refusal(owner, app, cashier, "SELECT close_till(:s, :c, 'x', :me)",
                                             s=session.id, c=counted, me=cashier.user_id)
    assert (state, sql_message, column) == ("P0103", message, "counted_cash")


def test_a_count_with_a_difference_needs_a_reason_and_denominations_must_add_up(till_book: TillBook) -> None:
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    cashier = nrb.staff["cashier"]
    tills = TillRepository(app, cashier)
    session = tills.open(nrb.tills["T1"], Decimal("1000.00"))
    for reason in (None, "   "):
        fields = invalid(owner, functools.partial(tills.close, session.id, Decimal("950.00"), reason))
        assert fields == {
            "reason": "The count is KES 50.00 short of the KES 1,000.00 expected; say why"}
    fields = invalid(owner, lambda: tills.close(session.id, Decimal("1000.00"), None, {"1000": "1", "5": "2"}))
    assert fields == {
        "denominations": "The notes and coins add up to KES 1,010.00, not the KES 1,000.00 counted"}
    fields = invalid(owner, lambda: tills.close(session.id, Decimal("1000.00"), None, {"2000": "1"}))
    assert "There is no 2000 note or coin" in fields["denominations"]
    fields = invalid(owner, lambda: tills.close(session.id, Decimal("1000.00"), None, {"500": "two"}))
    assert fields == {
        "denominations": "The number of 500 pieces must be a whole number of 0 or more, not two"}
    assert tills.close(session.id, Decimal("1000.00"), None, {"500": "1", "100": "4", "other": "100.00"}).status \
        == "closed"
    error = refused(owner, lambda: tills.close(session.id, Decimal("1000.00"), None), Refused)
    assert str(error) == "Till T1 was already counted (closed); it cannot be counted again"


def test_a_float_is_an_amount_the_vault_holds(till_book: TillBook) -> None:
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    tills = TillRepository(app, nrb.staff["cashier"])
    fields = invalid(owner, lambda: tills.open(nrb.tills["T1"], Decimal("250000.00")))
    assert fields == {
        "opening_float": "The vault of NRB01 holds KES 200,000.00; a float of KES 250,000.00 is more than it holds"}
    for bad, message in ((Decimal("-1"), "The opening float cannot be negative (got -1)"),
                         (Decimal("10.001"), "The opening float 10.001 has more than two decimals")):
        fields = invalid(owner, functools.partial(tills.open, nrb.tills["T1"], bad))
        assert fields == {"opening_float": message}
    one(app, nrb.staff["supervisor"], "SELECT set_till_active(:t, false, :me)", t=nrb.tills["T2"],
        me=nrb.staff["supervisor"].user_id)
    fields = invalid(owner, lambda: tills.open(nrb.tills["T2"], Decimal("0")))
    assert fields == {"till_id": "Till T2 of NRB01 is deactivated; choose another till"}
    # Another branch's till is not there at all.
    assert str(refused(owner, lambda: tills.open(till_book.msa.tills["T1"], Decimal("0")), NotFound)) == (
        f"Till {till_book.msa.tills['T1']} does not exist or is not one of your branch's")


@pytest.mark.parametrize(("method", "reference", "field", "message"), [
    ("mobile_money", None, "reference", "Type the M-Pesa transaction code of this payment"),
    ("mobile_money", "  ", "reference", "Type the M-Pesa transaction code of this payment"),
    ("bank", None, "reference", "Type the bank's reference for this payment"),
    ("bank", "x" * 101, "reference", "A payment reference has 1 to 100 characters, typed plainly"),
    ("cash", "QK7HX2Y9ZA", "reference", "Cash has no reference; clear it, or choose mobile_money or bank"),
    ("cheque", "123", "method", "Choose how the money is paid: cash, mobile_money or bank (not 'cheque')"),
])
def test_payment_methods_and_references(till_book: TillBook, method: str, reference: str | None, field: str,
                                        message: str) -> None:
    msa, app, owner = till_book.msa, till_book.app, till_book.owner
    cashier = msa.staff["cashier"]
    pay = PaymentRepository(app, cashier)
    fields = invalid(owner, lambda: pay.record(msa.loans[0], Decimal("100.00"), TODAY, new_idempotency_key(),
                                               method=method, reference=reference))
    assert fields == {field: message}
    approved = make_loan(app, msa, "Waiting", disburse=False)
    fields = invalid(owner, lambda: LoanRepository(app, cashier).disburse(approved, TODAY, method=method,
                                                                          reference=reference))
    assert fields == {field: message}


def test_tills_are_kept_by_supervisors(till_book: TillBook) -> None:
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    sup = TillRepository(app, nrb.staff["supervisor"])
    fields = invalid(owner, lambda: sup.create_till("t1", "Another"))
    assert fields == {"code": "NRB01 already has a till T1; choose another code"}
    fields = invalid(owner, lambda: sup.create_till("T 3", "Another"))
    assert fields == {
        "code": "A till's code has 1 to 10 letters, digits or '-', e.g. T1"}
    fields = invalid(owner, lambda: sup.create_till("T3", " "))
    assert fields == {"name": "Type the till's name, e.g. Counter 1"}
    assert sup.create_till(" t3 ", " Back office ").code == "T3"
    TillRepository(app, nrb.staff["cashier"]).open(nrb.tills["T1"], Decimal("0"))
    fields = invalid(owner, lambda: sup.set_till_active(nrb.tills["T1"], False))
    assert fields == {
        "active": "Till T1 is open (Cashier NRB01); it can be deactivated once it is closed"}
    error = refused(owner, lambda: TillRepository(app, nrb.staff["cashier"]).create_till("T4", "Mine"))
    assert str(error) == "your role may not do this (the database refused it)"


def test_a_drawer_never_pays_out_more_cash_than_it_holds(till_book: TillBook) -> None:
    """A cash disbursement or a reversal's cash back is refused when the till does not hold it; M-Pesa pays out."""
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    cashier, sup = nrb.staff["cashier"], nrb.staff["supervisor"]
    session = TillRepository(app, cashier).open(nrb.tills["T1"], Decimal("0"))
    paid = PaymentRepository(app, cashier).record(nrb.loans[0], Decimal("500.00"), TODAY, new_idempotency_key())
    big = make_loan(app, nrb, "Big", disburse=False)
    loans = LoanRepository(app, cashier)
    error = refused(owner, lambda: loans.disburse(big, TODAY))
    assert str(error) == ("Till T1 holds KES 500.00 in cash, less than the KES 12,000.00 to pay out: pay by M-Pesa "
                          "or bank, or take more cash from the vault (close the till and open it with a larger float)")
    assert sql_refusal(owner, app, cashier, "SELECT disburse_loan(:l, :me)", l=big, me=cashier.user_id)[0] == "P0110"
    small = make_loan(app, nrb, "Small", principal=400, disburse=False)
    loans.disburse(small, TODAY)  # 400.00 out of the 500.00
    error = refused(owner, lambda: LoanRepository(app, sup).reverse_payment(paid.transaction_id, "Wrong loan"))
    assert str(error).startswith("Till T1 holds KES 100.00 in cash, less than the KES 500.00 to pay out")
    assert TillRepository(app, cashier).my_open_session() == TillRepository(app, cashier).session(session.id)
    assert TillRepository(app, cashier).session(session.id).expected_cash == Decimal("100.00")
    loans.disburse(big, TODAY, method="mobile_money", reference="QK7ABC1234")  # off the till
