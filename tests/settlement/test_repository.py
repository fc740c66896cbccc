"""The repositories: the quote, a settlement's receipt that says the loan is closed, a refusal beside the amount,
and a recovery's receipt and totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from db.errors import Refused, ValidationError
from db.repositories.accounting import AccountingRepository
from db.repositories.loans import LoanRepository
from db.repositories.payments import PaymentRepository, new_idempotency_key
from screens.output import receipt_text
from tests.settlement.loans import make_loan
from tests.tills.book import TODAY, TillBook, one


def test_quote_settle_and_recover_through_the_repositories(book: TillBook) -> None:
    msa, app = book.msa, book.app
    cashier = msa.staff["cashier"]
    payments, loans = PaymentRepository(app, cashier), LoanRepository(app, cashier)
    loan = make_loan(app, msa, "Repo")
    day = date(2026, 1, 15)
    quote = loans.payoff_quote(loan, day)
    assert (quote.principal, quote.interest, quote.penalty, quote.total) == (D("10000.00"), D("200.00"), 0,
                                                                             D("10200.00"))
    key = new_idempotency_key()
    with pytest.raises(ValidationError) as wrong:
        payments.settle(loan, D("10199.99"), day, key, method="bank", reference="EQ-5")
    assert "10,200.00" in wrong.value.fields["amount"]
    receipt = payments.settle(loan, quote.total, day, key, method="bank", reference="EQ-5")
    assert receipt.loan_closed and receipt.kind == "repayment" and receipt.balance_after == 0
    assert "Loan closed" in receipt_text(receipt, "KES")
    assert payments.settle(loan, quote.total, day, key, method="bank", reference="EQ-5") == receipt

    gone = make_loan(app, msa, "Gone", principal="1500")
    sup = msa.staff["supervisor"]
    one(app, sup, "SELECT write_off_loan(:l, :me, 'Left', :d)", l=gone, me=sup.user_id, d=date(2026, 3, 1))
    recovery = payments.record(gone, D("400.00"), TODAY, new_idempotency_key())
    assert recovery.kind == "recovery" and not recovery.loan_closed
    text = receipt_text(recovery, "KES")
    assert "Recovery on written-off loan" in text and "Balance after" not in text
    totals = loans.recoveries(gone)
    assert (totals.written_off, totals.recovered, totals.left) == (D("1500.00"), D("400.00"), D("1100.00"))
    # The trial balance shows the recovery as income, by account.
    balance = AccountingRepository(app, msa.staff["accountant"]).trial_balance(TODAY)
    recovered = next(a for a in balance.accounts if a.account_code == "4300")
    assert (recovered.debit, recovered.credit) == (0, D("400.00"))


def test_a_quote_is_one_round_trip(book: TillBook, tmp_path) -> None:
    """The quote asked on every loan screen and payment goes as one message (db/one_trip.py), on the primary."""
    from db.engine import make_engine
    from tests.repositories.test_one_trip import _round_trips, _traced

    msa = book.msa
    loan = make_loan(book.app, msa, "Trip")
    engine = make_engine(book.app.url, pool_size=1, max_overflow=0)
    try:
        loans = LoanRepository(engine, msa.staff["cashier"])
        quotes = []
        lines = _traced(engine, lambda: quotes.append(loans.payoff_quote(loan, date(2026, 1, 15))), tmp_path)
        assert quotes[0].total == D("10200.00")
        assert _round_trips(lines) == 1, "\n".join(lines)
    finally:
        engine.dispose()


def test_a_payment_and_a_settlement_are_one_round_trip_each(book: TillBook, tmp_path) -> None:
    """The settings, the payment and its receipt go as one message (db/one_trip.py): one round trip to a distant
    server. A refusal in that message writes nothing and comes out as the message beside the field; the receipt
    read in the same message equals the one read again later."""
    from db.engine import make_engine
    from tests.repositories.test_one_trip import _round_trips, _traced

    msa = book.msa
    loan = make_loan(book.app, msa, "Wire")
    engine = make_engine(book.app.url, pool_size=1, max_overflow=0)
    try:
        payments = PaymentRepository(engine, msa.staff["cashier"])
        done: list = []
        key = new_idempotency_key()
        lines = _traced(engine, lambda: done.append(
            payments.record(loan, D("1000.00"), date(2026, 1, 15), key, method="bank", reference="EQ-7")), tmp_path)
        assert _round_trips(lines) == 1, "\n".join(lines)
        assert done[0] == payments.receipt(done[0].transaction_id)
        assert done[0].amount == D("1000.00") and done[0].payment_reference == "EQ-7"
        assert payments.record(loan, D("1000.00"), date(2026, 1, 15), key, method="bank", reference="EQ-7") == done[0]
        with pytest.raises(Refused, match="more than loan .* owes"):
            payments.record(loan, D("99999.00"), date(2026, 1, 15), new_idempotency_key(), method="bank",
                            reference="EQ-8")
        assert one(book.app, msa.staff["cashier"], "SELECT count(*) FROM transactions WHERE loan_id = :l "
                   "AND transaction_type = 'repayment'", l=loan) == 1
        quote = payments.payoff_quote(loan, date(2026, 1, 15))
        lines = _traced(engine, lambda: done.append(
            payments.settle(loan, quote.total, date(2026, 1, 15), new_idempotency_key(), method="bank",
                            reference="EQ-9")), tmp_path)
        assert _round_trips(lines) == 1, "\n".join(lines)
        assert done[1].loan_closed and done[1].amount == quote.total
    finally:
        engine.dispose()


def test_the_receipt_in_the_payments_message_is_read_by_its_primary_key(book: TillBook) -> None:
    """The read that follows a payment in its message finds the transaction by the id the message set; an expression
    the planner cannot match to the key (a COALESCE did) read the branch's transactions instead."""
    from sqlalchemy import text as sql

    from db.engine import unit_of_work
    from db.repositories.payments import _RECEIPT

    msa = book.msa
    loan = make_loan(book.app, msa, "Plan")
    cashier = msa.staff["cashier"]
    receipt = PaymentRepository(book.app, cashier).record(loan, D("100.00"), date(2026, 1, 15),
                                                          new_idempotency_key(), method="bank", reference="EQ-1")
    with unit_of_work(book.app, cashier) as session:
        session.execute(sql("SELECT set_config('astrofin.result', :v, true)"), {"v": str(receipt.transaction_id)})
        plan = "\n".join(session.execute(sql("EXPLAIN " + _RECEIPT.text)).scalars())
    assert "Index Scan using transactions_pkey on transactions t" in plan, plan
