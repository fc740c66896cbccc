"""A branch day through the repositories, each step as the role that does it."""

from datetime import date
from decimal import Decimal

import pytest

from db.errors import NotFound, Refused, ValidationError
from db.repositories.accounting import AccountingRepository
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.repositories.payments import PaymentRepository, new_idempotency_key
from db.validation import CustomerInput
from tests.repositories.conftest import make_active_loan

TODAY = date.today()
TERMS = LoanTerms(Decimal("10000.00"), Decimal("24.00"), "declining_balance", 12, "monthly")


@pytest.fixture
def active_loan(engine, actors):
    """An application by the officer, approved by the supervisor, disbursed by the cashier 40 days ago."""
    return make_active_loan(engine, actors, "Achieng", "Otieno", days_ago=40)


def test_preview_is_the_oracle(engine, actors):
    rows = LoanRepository(engine, actors["officer"]).preview_schedule(TERMS, date(2026, 1, 31))
    assert rows[0].total_due == Decimal("945.60")
    assert (rows[0].principal_due, rows[0].interest_due, rows[0].balance_after) == (
        Decimal("745.60"), Decimal("200.00"), Decimal("9254.40"))
    assert [r.due_date for r in rows[:3]] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    assert sum(r.interest_due for r in rows) == Decimal("1347.15")


def test_bad_terms_are_refused_per_field(engine, actors):
    bad = LoanTerms(Decimal("0"), Decimal("-1"), "balloon", 0, "daily")
    with pytest.raises(ValidationError) as refused:
        LoanRepository(engine, actors["officer"]).preview_schedule(bad, TODAY)
    assert set(refused.value.fields) == {"principal", "interest_rate", "interest_method", "term",
                                         "repayment_frequency"}


def test_the_day_from_application_to_receipt(engine, actors, active_loan):
    loan = active_loan
    assert loan.status == "active" and len(loan.schedule) == 12
    assert loan.loan_officer_name == "Grace Wanjiru"
    cashier = PaymentRepository(engine, actors["cashier"])
    due = cashier.amounts_due(loan.id, TODAY)
    assert due.overdue == Decimal("945.60") and due.due_today == 0
    assert due.suggested == Decimal("945.60")
    split = cashier.preview(loan.id, Decimal("500.00"), TODAY)
    assert [(a.installment_number, a.interest, a.principal, a.status_after) for a in split] == [
        (1, Decimal("200.00"), Decimal("300.00"), "partial")]
    key = new_idempotency_key()
    receipt = cashier.record(loan.id, Decimal("500.00"), TODAY, key)
    assert receipt.receipt_number.startswith("HQ-R-")
    assert (receipt.interest, receipt.principal) == (Decimal("200.00"), Decimal("300.00"))
    assert receipt.cashier == "Peter Mwangi" and receipt.customer_name == "Achieng Otieno"
    total_due = sum(r.total_due for r in loan.schedule)
    assert receipt.balance_after == total_due - Decimal("500.00")
    # The same form submitted twice records one payment.
    again = cashier.record(loan.id, Decimal("500.00"), TODAY, key)
    assert again.transaction_id == receipt.transaction_id
    second = cashier.record(loan.id, Decimal("445.60"), TODAY, new_idempotency_key())
    assert second.balance_after == total_due - Decimal("945.60")
    detail = LoanRepository(engine, actors["cashier"]).get(loan.id)
    assert detail.schedule[0].status == "paid"
    assert [t.transaction_type for t in detail.transactions] == ["disbursement", "repayment", "repayment"]
    assert detail.outstanding_principal == Decimal("10000.00") - Decimal("745.60")
    # The accountant sees the journal of the cashier's payment, and the books balance.
    books = AccountingRepository(engine, actors["accountant"])
    journal = books.journal(TODAY, TODAY, transaction_id=receipt.transaction_id)
    assert [(line.account_code, line.debit, line.credit) for line in journal[0].lines] == [
        ("1000", Decimal("500.00"), Decimal("0.00")),
        ("1200", Decimal("0.00"), Decimal("300.00")),
        ("4000", Decimal("0.00"), Decimal("200.00")),
    ]
    trial = books.trial_balance(TODAY)
    assert trial.balances and trial.total_debit > 0
    daily = {(d.day, d.transaction_type): d for d in books.daily_transactions(TODAY, TODAY)}
    assert (daily[(TODAY, "repayment")].count, daily[(TODAY, "repayment")].total) == (2, Decimal("945.60"))
    portfolio = {a.account_code: a for a in trial.accounts}["1200"]
    assert portfolio.balance == detail.outstanding_principal
    # The supervisor reads the same books; the cashier may not.
    assert AccountingRepository(engine, actors["supervisor"]).trial_balance(TODAY).balances
    with pytest.raises(Refused, match="your role may not"):
        AccountingRepository(engine, actors["cashier"]).trial_balance(TODAY)


def test_overpayment_is_refused_with_the_outstanding_amount(engine, actors, active_loan):
    cashier = PaymentRepository(engine, actors["cashier"])
    with pytest.raises(Refused, match="outstanding amount is 11,347.15"):
        cashier.record(active_loan.id, Decimal("20000.00"), TODAY, new_idempotency_key())


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5"), Decimal("1.005")])
def test_bad_amounts_are_refused_before_the_database(engine, actors, active_loan, amount):
    with pytest.raises(ValidationError):
        PaymentRepository(engine, actors["cashier"]).record(active_loan.id, amount, TODAY, new_idempotency_key())


def test_four_eyes_and_roles(engine, actors):
    supervisor = LoanRepository(engine, actors["supervisor"])
    customer = CustomerRepository(engine, actors["supervisor"]).create(
        CustomerInput(first_name="Baraka", last_name="Mutua"), today=TODAY)
    own = supervisor.apply(LoanApplication(customer.id, TERMS), today=TODAY)
    with pytest.raises(Refused):
        supervisor.approve(own.id)
    with pytest.raises(Refused, match="your role may not"):
        LoanRepository(engine, actors["cashier"]).approve(own.id)
    with pytest.raises(ValidationError):
        supervisor.reject(own.id, "  ")


def test_reversal_and_write_off(engine, actors, active_loan):
    receipt = PaymentRepository(engine, actors["cashier"]).record(
        active_loan.id, Decimal("945.60"), TODAY, new_idempotency_key())
    with pytest.raises(Refused):  # the cashier recorded it, and may not reverse at all
        LoanRepository(engine, actors["cashier"]).reverse_payment(receipt.transaction_id, "wrong loan")
    supervisor = LoanRepository(engine, actors["supervisor"])
    supervisor.reverse_payment(receipt.transaction_id, "paid on the wrong loan")
    detail = supervisor.get(active_loan.id)
    assert [t.reversed for t in detail.transactions if t.transaction_type == "repayment"] == [True]
    assert detail.schedule[0].status == "pending"
    assert PaymentRepository(engine, actors["cashier"]).receipt(receipt.transaction_id).reversed
    written = supervisor.write_off(active_loan.id, "customer emigrated", TODAY)
    assert written.status == "written_off"


def test_unknown_loan_and_customer(engine, actors):
    with pytest.raises(NotFound):
        LoanRepository(engine, actors["cashier"]).get(999999)
    with pytest.raises(NotFound):
        LoanRepository(engine, actors["cashier"]).find_by_number("L-999999")
    with pytest.raises(NotFound):
        PaymentRepository(engine, actors["cashier"]).amounts_due(999999, TODAY)
