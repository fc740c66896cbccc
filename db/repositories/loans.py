"""Loans: applications with their schedule preview, the loan as staff see it, and its workflow.

Every money rule runs in PostgreSQL (preview_payment_schedule, approve_loan, disburse_loan …); this
module checks what was typed, calls the function, and returns plain objects.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from db.errors import AstrofinError, NotFound, ValidationError
from db.models import Customer, Loan, PaymentSchedule, Transaction, User
from db.models import LoanProduct as ProductRow
from db.repositories.base import Repository
from db.repositories.customers import LoanBrief
from db.repositories.idempotency import check_idempotency_key, existing_by_key, insert_once
from db.repositories.payments import method_fields
from db.repositories.peek import peek
from db.repositories.products import LoanProduct, ProductRepository
from db.validation import reason_problem

METHODS = ("flat", "declining_balance")
FREQUENCIES = ("weekly", "biweekly", "monthly")
MAX_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class LoanTerms:
    principal: Decimal
    interest_rate: Decimal
    interest_method: str
    term: int
    repayment_frequency: str
    first_repayment_date: date | None = None
    product_id: int | None = None
    """The loan product the terms come from (None: a loan without a product, under the general rules)."""


@dataclass(frozen=True)
class LoanApplication:
    customer_id: int
    terms: LoanTerms
    purpose: str = ""
    loan_officer_id: int | None = None
    group_id: int | None = None
    """The group the loan is taken in (0023): the customer an active member, repaid at its meetings."""


@dataclass(frozen=True)
class ScheduleRow:
    installment_number: int
    due_date: date
    principal_due: Decimal
    interest_due: Decimal
    penalty_due: Decimal
    total_due: Decimal
    total_paid: Decimal
    status: str
    paid_date: date | None
    principal_paid: Decimal = Decimal("0.00")
    balance_after: Decimal | None = None

    def overdue_on(self, day: date) -> bool:
        """Overdue is never stored: it follows from the due date and the day of the question."""
        return self.status != "paid" and self.due_date < day


@dataclass(frozen=True)
class TransactionRow:
    id: int
    transaction_type: str
    transaction_date: date
    amount: Decimal
    principal_amount: Decimal
    interest_amount: Decimal
    penalty_amount: Decimal
    receipt_number: str | None
    reverses_transaction_id: int | None
    reversed: bool
    created_by: int | None
    created_by_name: str
    fee_amount: Decimal = Decimal("0.00")
    """A disbursement's processing fee, kept back from the cash paid out."""

    @property
    def cash_paid_out(self) -> Decimal:
        return self.amount - self.fee_amount


@dataclass(frozen=True)
class SchedulePreview:
    """The schedule the terms would have, and what the customer is charged and receives at disbursement."""

    rows: tuple[ScheduleRow, ...]
    principal: Decimal
    fee: Decimal

    @property
    def paid_out(self) -> Decimal:
        return self.principal - self.fee


@dataclass(frozen=True)
class LoanDetail:
    id: int
    loan_number: str
    customer_id: int
    customer_number: str
    customer_name: str
    customer_phone: str | None
    terms: LoanTerms
    status: str
    purpose: str
    application_date: date
    disbursement_date: date | None
    loan_officer_id: int | None
    loan_officer_name: str
    created_by: int | None
    rejection_reason: str | None
    schedule: tuple[ScheduleRow, ...]
    transactions: tuple[TransactionRow, ...]
    product_code: str = ""
    product_name: str = ""
    fee_amount: Decimal = Decimal("0.00")
    """The processing fee worked out when the application was made, collected at disbursement."""

    @property
    def disbursement(self) -> TransactionRow | None:
        return next((t for t in self.transactions if t.transaction_type == "disbursement"), None)

    @property
    def outstanding_total(self) -> Decimal:
        return sum((row.total_due - row.total_paid for row in self.schedule), Decimal("0.00"))

    @property
    def outstanding_principal(self) -> Decimal:
        return sum((row.principal_due - row.principal_paid for row in self.schedule), Decimal("0.00"))


@dataclass(frozen=True)
class StaffName:
    id: int
    full_name: str
    role: str


OFFICER_ROLES = ("loan_officer", "supervisor")
OPEN_STATUSES = ("pending", "approved", "active", "defaulted")
"""A loan still in play: another application for the same customer is allowed, with a warning."""
_LOAN_NUMBER = re.compile(r"^L-?0*(\d{1,9})$", re.IGNORECASE)


def normalized_loan_number(raw: str) -> str:
    """'l-24', 'L24' and 'L-000024' are the same loan number; anything else is returned trimmed."""
    text_ = raw.strip()
    match = _LOAN_NUMBER.match(text_)
    return f"L-{int(match.group(1)):06d}" if match else text_.upper()


def terms_problems(terms: LoanTerms, product: LoanProduct | None = None) -> dict[str, str]:
    """What is wrong with the terms, by field; with their product, its ranges too (as the database says them)."""
    problems: dict[str, str] = {}
    if terms.principal <= 0:
        problems["principal"] = "the principal must be more than zero"
    elif terms.principal > MAX_AMOUNT:
        problems["principal"] = "the principal is larger than the system can hold"
    elif terms.principal != terms.principal.quantize(CENT):
        problems["principal"] = "the principal has at most two decimals"
    if terms.interest_rate < 0 or terms.interest_rate > 1000:
        problems["interest_rate"] = "the annual rate is a percentage between 0 and 1000"
    elif terms.interest_rate != terms.interest_rate.quantize(Decimal("0.0001")):
        problems["interest_rate"] = "the annual rate has at most four decimals"
    if terms.interest_method not in METHODS:
        problems["interest_method"] = "choose flat or declining_balance"
    if not 1 <= terms.term <= 520:
        problems["term"] = "the number of installments is between 1 and 520"
    if terms.repayment_frequency not in FREQUENCIES:
        problems["repayment_frequency"] = "choose weekly, biweekly or monthly"
    if product is not None:
        for name, problem in product.terms_problems(terms).items():
            problems.setdefault(name, problem)
    return problems


def _preview_params(terms: LoanTerms, first_date: date | None) -> dict[str, object]:
    return {"p": terms.principal, "r": terms.interest_rate, "m": terms.interest_method, "n": terms.term,
            "f": terms.repayment_frequency, "d": first_date}


class LoanRepository(Repository):
    def preview_schedule(self, terms: LoanTerms, first_date: date) -> list[ScheduleRow]:
        """The schedule these terms would have; terms whose schedule would hold an installment of 0.00 are
        refused as ValidationError({"term": "at … can run at most N installments …"})."""
        problems = terms_problems(terms)
        if problems:
            raise ValidationError(problems)
        with self.work() as session:
            rows = session.execute(text("SELECT * FROM preview_payment_schedule(:p, :r, :m, :n, :f, :d)"),
                                   _preview_params(terms, first_date)).mappings().all()
        zero = Decimal("0.00")
        return [
            ScheduleRow(r["installment_number"], r["due_date"], r["principal_due"], r["interest_due"], zero,
                        r["total_due"], zero, "pending", None, zero, r["balance_after"])
            for r in rows
        ]

    def preview(self, terms: LoanTerms, first_date: date) -> SchedulePreview:
        """The schedule with the processing fee and the cash the customer would receive; terms outside their
        product's ranges are refused as ValidationError beside the field, in the database's words."""
        product = self._product(terms.product_id)
        problems = terms_problems(terms, product)
        if problems:
            raise ValidationError(problems)
        rows = self.preview_schedule(terms, first_date)
        fee = Decimal("0.00")
        if product is not None:
            with self.work() as session:
                fee = Decimal(session.execute(text("SELECT loan_product_fee(:p, :amount)"),
                                              {"p": product.id, "amount": terms.principal}).scalar_one())
        return SchedulePreview(tuple(rows), terms.principal, fee)

    def _product(self, product_id: int | None) -> LoanProduct | None:
        if product_id is None:
            return None
        try:
            return ProductRepository(self.engine, self.actor).get(product_id)
        except NotFound:
            raise ValidationError({"product": "this loan product no longer exists; pick another"}) from None

    def apply(self, application: LoanApplication, *, today: date, idempotency_key: str | None = None) -> LoanDetail:
        """Create a `pending` loan for the customer; with the form's key, once per key: a retry returns the
        application the first submit created (its reply may have been lost after the commit)."""
        problems = terms_problems(application.terms, self._product(application.terms.product_id))
        first = application.terms.first_repayment_date
        if first is not None and first < today:
            problems["first_repayment_date"] = "the first repayment date cannot be in the past"
        if len(application.purpose) > 500:
            problems["purpose"] = "the purpose has at most 500 characters"
        elif any(unicodedata.category(char) == "Cc" for char in application.purpose.strip()):
            problems["purpose"] = "the purpose contains control characters (tabs, line breaks, escapes)"
        if problems:
            raise ValidationError(problems)
        check_idempotency_key(idempotency_key, "principal")
        with self.work() as session:
            done = existing_by_key(session, Loan, idempotency_key, self.actor.user_id, "principal")
            if done is not None:
                loan_id = done
            else:
                loan_id = self._insert_application(session, application, today, idempotency_key)
        return self.get(loan_id)

    def _insert_application(self, session: Session, application: LoanApplication, today: date,
                            idempotency_key: str | None) -> int:
        customer = session.get(Customer, application.customer_id)
        if customer is None:
            raise NotFound(f"customer {application.customer_id} does not exist")
        if customer.status != "active":
            raise ValidationError({"customer": f"{customer.customer_number} is inactive"})
        terms = application.terms
        self._check_schedule(session, terms)
        loan = Loan(
            customer_id=customer.id, principal_amount=terms.principal, interest_rate=terms.interest_rate,
            interest_method=terms.interest_method, term=terms.term,
            repayment_frequency=terms.repayment_frequency, first_repayment_date=terms.first_repayment_date,
            product_id=terms.product_id, purpose=application.purpose.strip() or None, application_date=today,
            loan_officer_id=application.loan_officer_id or self.actor.user_id, created_by=self.actor.user_id,
            idempotency_key=idempotency_key, group_id=application.group_id,
        )
        return insert_once(session, loan, idempotency_key, self.actor.user_id, "principal")

    @staticmethod
    def _check_schedule(session: Session, terms: LoanTerms) -> None:
        """The database's schedule rules for these terms (it refuses a schedule with installments of 0.00),
        so an application is refused now rather than at disbursement."""
        session.execute(text("SELECT count(*) FROM preview_payment_schedule(:p, :r, :m, :n, :f, :d)"),
                        _preview_params(terms, terms.first_repayment_date)).all()

    def loan_officers(self) -> list[StaffName]:
        """Active staff who may carry loans (loan officers and supervisors), by name."""
        with self.work() as session:
            rows = session.execute(
                select(User.id, User.full_name, User.role)
                .where(User.is_active.is_(True), User.role.in_(OFFICER_ROLES))
                .order_by(User.full_name, User.id)
            ).all()
        return [StaffName(row.id, row.full_name, row.role) for row in rows]

    def open_loans_of(self, customer_id: int) -> list[LoanBrief]:
        """The customer's applications and loans still in play (pending, approved, active, defaulted)."""
        with peek(self.engine, self.actor) as session:
            loans = session.scalars(
                select(Loan).where(Loan.customer_id == customer_id, Loan.status.in_(OPEN_STATUSES))
                .order_by(Loan.application_date, Loan.id)
            ).all()
            return [LoanBrief(loan.id, loan.loan_number, loan.principal_amount, loan.status, loan.application_date)
                    for loan in loans]

    def find_by_number(self, loan_number: str) -> LoanDetail:
        with self.work() as session:
            loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == normalized_loan_number(loan_number)))
        if loan_id is None:
            raise NotFound(f"no loan numbered {loan_number.strip()}")
        return self.get(loan_id)

    def get(self, loan_id: int) -> LoanDetail:
        with self.work() as session:
            loan = session.get(Loan, loan_id)
            if loan is None:
                raise NotFound(f"loan {loan_id} does not exist")
            customer = session.get(Customer, loan.customer_id)
            assert customer is not None
            officer = session.scalar(select(User.full_name).where(User.id == loan.loan_officer_id))
            product = session.get(ProductRow, loan.product_id) if loan.product_id is not None else None
            schedule = session.scalars(
                select(PaymentSchedule).where(PaymentSchedule.loan_id == loan_id)
                .order_by(PaymentSchedule.installment_number)
            ).all()
            reversed_ids = select(Transaction.reverses_transaction_id).where(
                Transaction.loan_id == loan_id, Transaction.reverses_transaction_id.is_not(None)
            )
            txns = session.execute(
                select(Transaction, func.coalesce(User.full_name, ""), Transaction.id.in_(reversed_ids))
                .outerjoin(User, User.id == Transaction.created_by)
                .where(Transaction.loan_id == loan_id)
                .order_by(Transaction.transaction_date, Transaction.id)
            ).all()
            return LoanDetail(
                id=loan.id, loan_number=loan.loan_number, customer_id=customer.id,
                customer_number=customer.customer_number,
                customer_name=f"{customer.first_name} {customer.last_name}", customer_phone=customer.phone,
                terms=LoanTerms(loan.principal_amount, loan.interest_rate, loan.interest_method, loan.term,
                                loan.repayment_frequency, loan.first_repayment_date, loan.product_id),
                status=loan.status, purpose=loan.purpose or "", application_date=loan.application_date,
                disbursement_date=loan.disbursement_date, loan_officer_id=loan.loan_officer_id,
                loan_officer_name=officer or "", created_by=loan.created_by,
                rejection_reason=loan.rejection_reason,
                schedule=tuple(
                    ScheduleRow(s.installment_number, s.due_date, s.principal_due, s.interest_due, s.penalty_due,
                                s.total_due, s.total_paid, s.status, s.paid_date, s.principal_paid)
                    for s in schedule
                ),
                transactions=tuple(
                    TransactionRow(t.id, t.transaction_type, t.transaction_date, t.amount, t.principal_amount,
                                   t.interest_amount, t.penalty_amount, t.receipt_number,
                                   t.reverses_transaction_id, bool(was_reversed), t.created_by, name,
                                   t.fee_amount)
                    for t, name, was_reversed in txns
                ),
                product_code=product.code if product else "", product_name=product.name if product else "",
                fee_amount=loan.fee_amount,
            )

    # The workflow: each is one SQL function, which checks the role, four eyes and the loan's status.
    def approve(self, loan_id: int) -> LoanDetail:
        self._call("SELECT approve_loan(:loan, :user)", loan=loan_id)
        return self.get(loan_id)

    def reject(self, loan_id: int, reason: str) -> LoanDetail:
        if problem := reason_problem(reason, "say why the application is rejected"):
            raise ValidationError({"reason": problem})
        self._call("SELECT reject_loan(:loan, :user, :reason)", loan=loan_id, reason=reason.strip())
        return self.get(loan_id)

    def disburse(self, loan_id: int, disbursement_date: date, first_repayment_date: date | None = None, *,
                 method: str = "cash", reference: str | None = None) -> LoanDetail:
        """Pay the loan out: cash out of the disburser's open till (refused where the branch requires one and none
        is open), or by `mobile_money` / `bank` with its reference (beside `method` / `reference` when refused)."""
        try:
            self._call("SELECT disburse_loan(:loan, :user, :day, :first, :method, :reference)", loan=loan_id,
                       day=disbursement_date, first=first_repayment_date, method=method, reference=reference)
        except AstrofinError as error:
            raise method_fields(error) from error
        return self.get(loan_id)

    def write_off(self, loan_id: int, reason: str, as_of: date) -> LoanDetail:
        if problem := reason_problem(reason, "say why the loan is written off"):
            raise ValidationError({"reason": problem})
        self._call("SELECT write_off_loan(:loan, :user, :reason, :day)", loan=loan_id, reason=reason.strip(),
                   day=as_of)
        return self.get(loan_id)

    def reverse_payment(self, transaction_id: int, reason: str) -> int:
        if problem := reason_problem(reason, "say why the payment is reversed"):
            raise ValidationError({"reason": problem})
        with self.work() as session:
            reversal = session.execute(
                text("SELECT reverse_transaction(:txn, :user, :reason)"),
                {"txn": transaction_id, "user": self.actor.user_id, "reason": reason.strip()},
            ).scalar_one()
        return int(reversal)

    def _call(self, sql: str, **params: object) -> None:
        with self.work() as session:
            session.execute(text(sql), {"user": self.actor.user_id, **params})
