"""Loans: applications with their schedule preview, the loan as staff see it, and its workflow.

Every money rule runs in PostgreSQL (preview_payment_schedule, approve_loan, disburse_loan …); this
module checks what was typed, calls the function, and returns plain objects.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text

from db.errors import AstrofinError, DatabaseUnavailable, NotFound, ValidationError
from db.models import Loan, User
from db.repositories.base import Repository
from db.repositories.customers import LoanBrief
from db.repositories.idempotency import KEY_OF_ANOTHER, check_idempotency_key
from db.repositories.payments import PaymentRepository, PayoffQuote, Recoveries, method_fields
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


def _application_problems(application: LoanApplication, today: date,
                          product: LoanProduct | None) -> dict[str, str]:
    """What is wrong with the application as typed, by field (with its product, the product's ranges too)."""
    problems = terms_problems(application.terms, product)
    first = application.terms.first_repayment_date
    if first is not None and first < today:
        problems["first_repayment_date"] = "the first repayment date cannot be in the past"
    if len(application.purpose) > 500:
        problems["purpose"] = "the purpose has at most 500 characters"
    elif any(unicodedata.category(char) == "Cc" for char in application.purpose.strip()):
        problems["purpose"] = "the purpose contains control characters (tabs, line breaks, escapes)"
    return problems


_APPLY = text("""
    WITH prior AS (
        SELECT id, created_by FROM loans WHERE idempotency_key = CAST(:key AS text)
    ), applicant AS (
        SELECT id, customer_number, status FROM customers
        WHERE id = CAST(:customer AS bigint) AND NOT EXISTS (SELECT FROM prior)
    ), made AS (
        INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, repayment_frequency,
                           first_repayment_date, product_id, purpose, application_date, loan_officer_id, created_by,
                           idempotency_key, group_id)
        SELECT a.id, CAST(:principal AS numeric), CAST(:rate AS numeric), CAST(:method AS text), CAST(:term AS integer),
               CAST(:frequency AS text), CAST(:first AS date), CAST(:product AS bigint), CAST(:purpose AS text),
               CAST(:today AS date), CAST(:officer AS bigint), CAST(:user AS bigint), CAST(:key AS text),
               CAST(:group AS bigint)
        FROM applicant a
        WHERE CASE WHEN a.status <> 'active' THEN false
                   ELSE (SELECT count(*) FROM preview_payment_schedule(
                             CAST(:principal AS numeric), CAST(:rate AS numeric), CAST(:method AS text),
                             CAST(:term AS integer), CAST(:frequency AS text), CAST(:first AS date))) >= 0 END
        ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING id
    )
    SELECT EXISTS (SELECT FROM prior) AS prior_found, (SELECT created_by FROM prior) AS prior_by,
           EXISTS (SELECT FROM applicant) AS applicant_found,
           (SELECT customer_number FROM applicant) AS customer_number,
           (SELECT status FROM applicant) AS applicant_status,
           set_config('astrofin.result', coalesce(CAST((SELECT id FROM made) AS text),
                                                  (SELECT CAST(id AS text) FROM prior
                                                   WHERE created_by = CAST(:user AS bigint)), ''), true) AS id
""")
"""An application's insert as one statement: an earlier submit with the form's key (returned when it is the person's
own), else the customer (missing or inactive: nothing inserted), then the schedule's rules for the terms
(preview_payment_schedule refuses an installment of 0.00, beside the term) and the insert, whose triggers check the
product and the group; the loan's id kept in `astrofin.result`. The CASE keeps that order: the schedule is worked out
only for an active customer. A submit with the same key committed while this one waited on the key's index inserts
nothing here: _KEY_TAKEN names it."""

_KEY_TAKEN = text("""
    SELECT id, created_by,
           set_config('astrofin.result', CASE WHEN created_by = CAST(:user AS bigint) THEN CAST(id AS text)
                                              ELSE '' END, true) AS kept
    FROM loans
    WHERE idempotency_key = CAST(:key AS text) AND current_setting('astrofin.result', true) = ''
""")

_LOAN = text("""
    SELECT l.id, l.loan_number, l.customer_id, c.customer_number, c.first_name || ' ' || c.last_name AS customer_name,
           c.phone AS customer_phone, l.principal_amount, l.interest_rate, l.interest_method, l.term,
           l.repayment_frequency, l.first_repayment_date, l.product_id, l.status, l.purpose, l.application_date,
           l.disbursement_date, l.loan_officer_id, u.full_name AS officer_name, l.created_by, l.rejection_reason,
           p.code AS product_code, p.name AS product_name, l.fee_amount
    FROM loans l
    JOIN customers c ON c.id = l.customer_id
    LEFT JOIN users u ON u.id = l.loan_officer_id
    LEFT JOIN loan_products p ON p.id = l.product_id
    WHERE l.id = CAST(NULLIF(current_setting('astrofin.result', true), '') AS bigint)
""")
_SCHEDULE = text("""
    SELECT installment_number, due_date, principal_due, interest_due, penalty_due, total_due, total_paid, status,
           paid_date, principal_paid
    FROM payment_schedules
    WHERE loan_id = CAST(NULLIF(current_setting('astrofin.result', true), '') AS bigint)
    ORDER BY installment_number
""")
_TRANSACTIONS = text("""
    SELECT t.id, t.transaction_type, t.transaction_date, t.amount, t.principal_amount, t.interest_amount,
           t.penalty_amount, t.receipt_number, t.reverses_transaction_id,
           t.id IN (SELECT r.reverses_transaction_id FROM transactions r
                    WHERE r.loan_id = CAST(NULLIF(current_setting('astrofin.result', true), '') AS bigint)
                      AND r.reverses_transaction_id IS NOT NULL) AS was_reversed,
           t.created_by, coalesce(u.full_name, '') AS created_by_name, t.fee_amount
    FROM transactions t
    LEFT JOIN users u ON u.id = t.created_by
    WHERE t.loan_id = CAST(NULLIF(current_setting('astrofin.result', true), '') AS bigint)
    ORDER BY t.transaction_date, t.id
""")
"""The loan named by `astrofin.result`, its schedule and its transactions: read in the message that wrote it (or by
get)."""


def _detail(loan: Any, schedule: Sequence[Any], transactions: Sequence[Any]) -> LoanDetail:
    return LoanDetail(
        id=loan.id, loan_number=loan.loan_number, customer_id=loan.customer_id, customer_number=loan.customer_number,
        customer_name=loan.customer_name, customer_phone=loan.customer_phone,
        terms=LoanTerms(loan.principal_amount, loan.interest_rate, loan.interest_method, loan.term,
                        loan.repayment_frequency, loan.first_repayment_date, loan.product_id),
        status=loan.status, purpose=loan.purpose or "", application_date=loan.application_date,
        disbursement_date=loan.disbursement_date, loan_officer_id=loan.loan_officer_id,
        loan_officer_name=loan.officer_name or "", created_by=loan.created_by, rejection_reason=loan.rejection_reason,
        schedule=tuple(ScheduleRow(s.installment_number, s.due_date, s.principal_due, s.interest_due, s.penalty_due,
                                   s.total_due, s.total_paid, s.status, s.paid_date, s.principal_paid)
                       for s in schedule),
        transactions=tuple(TransactionRow(t.id, t.transaction_type, t.transaction_date, t.amount, t.principal_amount,
                                          t.interest_amount, t.penalty_amount, t.receipt_number,
                                          t.reverses_transaction_id, bool(t.was_reversed), t.created_by,
                                          t.created_by_name, t.fee_amount)
                           for t in transactions),
        product_code=loan.product_code or "", product_name=loan.product_name or "", fee_amount=loan.fee_amount)


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
        application the first submit created (its reply may have been lost after the commit).

        One round trip (db/one_trip.py): the insert, guarded by the key, the customer and the schedule's rules in one
        statement (_APPLY), then the reads of the loan. The product's rules are the database's (trigger
        loans_check_product); only when the application is refused are they read to say every one the terms break,
        beside its field, as before."""
        product_id = application.terms.product_id
        problems = _application_problems(application, today, None)
        if problems:
            raise ValidationError(_application_problems(application, today, self._product(product_id))
                                  if product_id is not None else problems)
        check_idempotency_key(idempotency_key, "principal")
        try:
            return self._apply(application, today, idempotency_key)
        except DatabaseUnavailable:
            raise
        except AstrofinError as refused:
            if product_id is not None:
                problems = _application_problems(application, today, self._product(product_id))
                if problems:
                    raise ValidationError(problems) from refused
            raise

    def _apply(self, application: LoanApplication, today: date, idempotency_key: str | None) -> LoanDetail:
        terms = application.terms
        saved, taken, head, schedule, transactions = self.statements_in_one_trip(
            (_APPLY, _KEY_TAKEN, _LOAN, _SCHEDULE, _TRANSACTIONS),
            {"customer": application.customer_id, "principal": terms.principal, "rate": terms.interest_rate,
             "method": terms.interest_method, "term": terms.term, "frequency": terms.repayment_frequency,
             "first": terms.first_repayment_date, "product": terms.product_id,
             "purpose": application.purpose.strip() or None, "today": today,
             "officer": application.loan_officer_id or self.actor.user_id, "user": self.actor.user_id,
             "key": idempotency_key, "group": application.group_id})
        outcome = saved[0]
        if outcome.prior_found:
            if outcome.prior_by != self.actor.user_id:
                raise ValidationError({"principal": KEY_OF_ANOTHER})
        elif not outcome.applicant_found:
            raise NotFound(f"customer {application.customer_id} does not exist")
        elif outcome.applicant_status != "active":
            raise ValidationError({"customer": f"{outcome.customer_number} is inactive"})
        if not head:  # a submit with the same key, committed while this one waited, is another person's
            raise ValidationError({"principal": KEY_OF_ANOTHER})
        assert not taken or taken[0].created_by == self.actor.user_id
        return _detail(head[0], schedule, transactions)

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
        # One message (db/one_trip.py): the loan, its schedule and transactions, read as after an application.
        kept, head, schedule, transactions = self.statements_in_one_trip(
            (text("SELECT set_config('astrofin.result', CAST(:loan AS text), true)"), _LOAN, _SCHEDULE, _TRANSACTIONS),
            {"loan": loan_id})
        if not head:
            raise NotFound(f"loan {loan_id} does not exist")
        return _detail(head[0], schedule, transactions)

    # The workflow: each is one SQL function, which checks the role, four eyes and the loan's status.
    def payoff_quote(self, loan_id: int, as_of: date) -> PayoffQuote:
        """What closes the loan on `as_of` (principal, interest, penalty, total): PaymentRepository.payoff_quote."""
        return PaymentRepository(self.engine, self.actor).payoff_quote(loan_id, as_of)

    def recoveries(self, loan_id: int) -> Recoveries:
        """What a written-off loan has recovered: PaymentRepository.recoveries."""
        return PaymentRepository(self.engine, self.actor).recoveries(loan_id)

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
