"""Payment methods on disbursements and receipts, and a payment's retry after its till has closed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import text

from db.repositories.loans import LoanRepository
from db.repositories.payments import PaymentRepository, new_idempotency_key
from db.repositories.tills import TillRepository
from tests.tills.book import TODAY, TillBook, make_loan
from tests.tills.books import transaction_lines


def _disbursement(till_book: TillBook, loan: int) -> int:
    with till_book.owner.connect() as conn:
        return int(conn.execute(text("SELECT id FROM transactions WHERE loan_id = :l "
                                     "AND transaction_type = 'disbursement'"), {"l": loan}).scalar_one())


def test_disbursements_pay_out_of_the_methods_account(till_book: TillBook) -> None:
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    cashier = nrb.staff["cashier"]
    by_bank = make_loan(app, nrb, "ByBank", principal=3000, disburse=False)
    by_mpesa = make_loan(app, nrb, "ByMpesa", principal=4000, disburse=False)
    in_cash = make_loan(app, nrb, "InCash", principal=2000, disburse=False)
    loans = LoanRepository(app, cashier)
    # No till is open: bank and M-Pesa need none.
    loans.disburse(by_bank, TODAY, TODAY + timedelta(days=30), method="bank", reference="EQ-0042")
    loans.disburse(by_mpesa, TODAY, TODAY + timedelta(days=30), method="mobile_money", reference="QK7HX2Y9ZB")
    TillRepository(app, cashier).open(nrb.tills["T1"], Decimal("5000.00"))
    loans.disburse(in_cash, TODAY, TODAY + timedelta(days=30))
    receipts = PaymentRepository(app, cashier)
    bank, mpesa, cash = (receipts.disbursement_receipt(_disbursement(till_book, loan))
                         for loan in (by_bank, by_mpesa, in_cash))
    assert (bank.payment_method, bank.payment_reference, bank.till_code) == ("bank", "EQ-0042", None)
    assert (mpesa.payment_method, mpesa.payment_reference, mpesa.till_code) == ("mobile_money", "QK7HX2Y9ZB", None)
    assert (cash.payment_method, cash.payment_reference, cash.till_code) == ("cash", None, "T1")
    assert transaction_lines(owner, bank.transaction_id) == [("1200", Decimal("3000.00"), 0),
                                                             ("1100", 0, Decimal("3000.00"))]
    assert transaction_lines(owner, mpesa.transaction_id) == [("1200", Decimal("4000.00"), 0),
                                                              ("1150", 0, Decimal("4000.00"))]
    mine = TillRepository(app, cashier).my_open_session()
    assert mine is not None and (mine.cash_out, mine.expected_cash) == (Decimal("2000.00"), Decimal("3000.00"))


def test_a_payment_retried_after_its_till_closed_returns_the_first(till_book: TillBook) -> None:
    nrb, app = till_book.nrb, till_book.app
    cashier = nrb.staff["cashier"]
    tills = TillRepository(app, cashier)
    session = tills.open(nrb.tills["T1"], Decimal("0.00"))
    key = new_idempotency_key()
    first = PaymentRepository(app, cashier).record(nrb.loans[0], Decimal("250.00"), TODAY, key)
    tills.close(session.id, Decimal("250.00"), None)
    again = PaymentRepository(app, cashier).record(nrb.loans[0], Decimal("250.00"), TODAY, key)
    assert (again.transaction_id, again.till_code) == (first.transaction_id, "T1")
