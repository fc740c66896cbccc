"""Cash reversed goes back out of a till: the open session of the till the payment went into, else the reversing
supervisor's own, else the reversal is refused. M-Pesa reversals, and write-offs, never touch a till."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine, text

from db.errors import Refused
from db.repositories.loans import LoanRepository
from db.repositories.payments import PaymentRepository, new_idempotency_key
from db.repositories.tills import TillRepository
from tests.tills.book import TODAY, TillBook
from tests.tills.books import entry_lines, transaction_lines, written


def _till_of(owner: Engine, transaction_id: int) -> int | None:
    with owner.connect() as conn:
        return conn.execute(text("SELECT till_session_id FROM transactions WHERE id = :t"),
                            {"t": transaction_id}).scalar_one()


def test_a_cash_reversal_goes_out_of_the_payments_till_else_the_supervisors_else_it_is_refused(
        till_book: TillBook) -> None:
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    cashier, sup = nrb.staff["cashier"], nrb.staff["supervisor"]
    tills, pay = TillRepository(app, cashier), PaymentRepository(app, cashier)
    loans = LoanRepository(app, sup)

    # 1. The payment's till is still open: the cash goes back out of it.
    first = tills.open(nrb.tills["T1"], Decimal("1000.00"))
    p1 = pay.record(nrb.loans[0], Decimal("300.00"), TODAY, new_idempotency_key())
    p2 = pay.record(nrb.loans[1], Decimal("200.00"), TODAY, new_idempotency_key())
    p3 = pay.record(nrb.loans[2], Decimal("100.00"), TODAY, new_idempotency_key())
    r1 = loans.reverse_payment(p1.transaction_id, "Paid on the wrong loan")
    assert _till_of(owner, r1) == first.id
    assert transaction_lines(owner, r1)[0] == ("1000", 0, Decimal("300.00"))  # the mirror of Dr 1000
    mine = tills.my_open_session()
    assert mine is not None and (mine.cash_in, mine.cash_out, mine.expected_cash) == (
        Decimal("600.00"), Decimal("300.00"), Decimal("1300.00"))
    assert [line.kind for line in tills.sheet(first.id).lines] == ["float", "receipt", "receipt", "receipt",
                                                                   "reversal"]
    assert tills.close(first.id, Decimal("1300.00"), None).status == "closed"

    # 3. Neither the payment's till nor the supervisor's is open: refused, nothing written.
    before = written(owner)
    try:
        loans.reverse_payment(p2.transaction_id, "Customer's cheque bounced")
        raise AssertionError("the reversal was not refused")
    except Refused as exc:
        assert str(exc) == "Till T1 of NRB01 is not open: the cash goes back out of a till; open it first"
    assert written(owner) == before

    # 2. The payment's till is closed, but the supervisor has a till open: it goes out of theirs.
    theirs = TillRepository(app, sup).open(nrb.tills["T2"], Decimal("500.00"))
    r2 = loans.reverse_payment(p2.transaction_id, "Customer's cheque bounced")
    assert _till_of(owner, r2) == theirs.id
    # … unless the payment's till is open again: then out of that one.
    again = TillRepository(app, nrb.staff["cashier2"]).open(nrb.tills["T1"], Decimal("200.00"))
    r3 = loans.reverse_payment(p3.transaction_id, "Double entry")
    assert _till_of(owner, r3) == again.id


def test_without_a_till_and_tills_not_required_a_cash_reversal_needs_none(till_book: TillBook) -> None:
    msa, app, owner = till_book.msa, till_book.app, till_book.owner
    paid = PaymentRepository(app, msa.staff["cashier"]).record(msa.loans[0], Decimal("100.00"), TODAY,
                                                               new_idempotency_key())
    reversal = LoanRepository(app, msa.staff["supervisor"]).reverse_payment(paid.transaction_id, "Wrong loan")
    assert _till_of(owner, reversal) is None
    # In a branch that requires tills, a cash payment taken before tills still needs the supervisor's till.
    nrb = till_book.nrb
    with owner.begin() as conn:
        conn.execute(text("UPDATE branches SET tills_required = false WHERE id = :b"), {"b": nrb.id})
    early = PaymentRepository(app, nrb.staff["cashier"]).record(nrb.loans[0], Decimal("100.00"), TODAY,
                                                                new_idempotency_key())
    with owner.begin() as conn:
        conn.execute(text("UPDATE branches SET tills_required = true WHERE id = :b"), {"b": nrb.id})
    try:
        LoanRepository(app, nrb.staff["supervisor"]).reverse_payment(early.transaction_id, "Wrong loan")
        raise AssertionError("the reversal was not refused")
    except Refused as exc:
        assert str(exc) == "Open your till first: the cash of a reversal in NRB01 goes back out of an open till"


def test_an_mpesa_reversal_touches_no_till(till_book: TillBook) -> None:
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    cashier, sup = nrb.staff["cashier"], nrb.staff["supervisor"]
    session = TillRepository(app, cashier).open(nrb.tills["T1"], Decimal("1000.00"))
    paid = PaymentRepository(app, cashier).record(nrb.loans[0], Decimal("400.00"), TODAY, new_idempotency_key(),
                                                  method="mobile_money", reference="QK7HX2Y9ZA")
    reversal = LoanRepository(app, sup).reverse_payment(paid.transaction_id, "Sent to the wrong paybill")
    assert _till_of(owner, reversal) is None
    with owner.connect() as conn:
        method = conn.execute(text("SELECT payment_method, payment_reference FROM transactions WHERE id = :t"),
                              {"t": reversal}).one()
    assert tuple(method) == ("mobile_money", "QK7HX2Y9ZA")
    assert transaction_lines(owner, reversal)[0] == ("1150", 0, Decimal("400.00"))  # the mirror of Dr 1150
    mine = TillRepository(app, cashier).my_open_session()
    assert mine is not None and (mine.id, mine.cash_in, mine.cash_out) == (session.id, 0, 0)


def test_a_write_off_never_moves_a_till(till_book: TillBook) -> None:
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    sup = nrb.staff["supervisor"]
    session = TillRepository(app, sup).open(nrb.tills["T1"], Decimal("1000.00"))
    LoanRepository(app, sup).write_off(nrb.loans[0], "Customer left the country", TODAY)
    with owner.connect() as conn:
        txn, till, entry = conn.execute(text(
            "SELECT t.id, t.till_session_id, e.id FROM transactions t "
            "JOIN journal_entries e ON e.transaction_id = t.id "
            "WHERE t.loan_id = :l AND t.transaction_type = 'write_off'"), {"l": nrb.loans[0]}).one()
    assert till is None
    assert {code for code, _, _ in entry_lines(owner, entry)} == {"5000", "1200"}
    mine = TillRepository(app, sup).my_open_session()
    assert mine is not None and (mine.id, mine.expected_cash, mine.cash_out) == (session.id, Decimal("1000.00"), 0)
    assert txn
