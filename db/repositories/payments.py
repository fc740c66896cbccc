"""Payments at the counter: what is due, how a payment will split, recording it once, and its receipt."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text

from db.errors import AstrofinError, NotFound, ValidationError
from db.repositories.base import Repository

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class AmountsDue:
    loan_id: int
    loan_number: str
    customer_name: str
    status: str
    overdue: Decimal
    due_today: Decimal
    next_due_date: date | None
    next_installment: Decimal
    outstanding_total: Decimal
    penalties: Decimal = Decimal("0.00")
    """Late penalties still owed (charged less waived and paid); part of `overdue` and `outstanding_total`."""

    @property
    def suggested(self) -> Decimal:
        """What the amount field starts with: everything due by today, else the next installment."""
        due_now = self.overdue + self.due_today
        return due_now if due_now > 0 else min(self.next_installment, self.outstanding_total)


@dataclass(frozen=True)
class AllocationLine:
    installment_number: int
    due_date: date
    penalty: Decimal
    interest: Decimal
    principal: Decimal
    status_after: str


@dataclass(frozen=True)
class Receipt:
    transaction_id: int
    receipt_number: str
    payment_date: date
    customer_number: str
    customer_name: str
    loan_number: str
    amount: Decimal
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    balance_after: Decimal
    cashier: str
    reversed: bool
    payment_method: str = "cash"
    payment_reference: str | None = None
    till_code: str | None = None
    """The till the cash went into (None for mobile money, bank, or cash taken without a till)."""
    kind: str = "repayment"
    """`repayment`, or `recovery`: money received on a written-off loan (posted to 4300, the schedule untouched)."""
    loan_closed: bool = False
    """This payment paid the loan off (the last repayment of a closed loan: a settlement, or the final installment)."""


@dataclass(frozen=True)
class PayoffQuote:
    """What closes the loan on `as_of` (payoff_quote): all principal still owed, everything due, and the interest
    the product's early-settlement rule keeps."""

    loan_id: int
    as_of: date
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    total: Decimal


@dataclass(frozen=True)
class Recoveries:
    """A written-off loan: what was written off, what has been recovered since (reversals taken out), what is left."""

    loan_id: int
    written_off: Decimal
    recovered: Decimal

    @property
    def left(self) -> Decimal:
        return max(self.written_off - self.recovered, ZERO)


@dataclass(frozen=True)
class DisbursementReceipt:
    """What the customer signs for when a loan is paid out: the principal, the fee kept back, the cash."""

    transaction_id: int
    disbursement_date: date
    customer_number: str
    customer_name: str
    loan_number: str
    product: str
    principal: Decimal
    fee: Decimal
    cashier: str
    first_due_date: date | None = None
    payment_method: str = "cash"
    payment_reference: str | None = None
    till_code: str | None = None
    """The till the cash was paid out of (None for mobile money, bank, or cash paid without a till)."""

    @property
    def cash_paid_out(self) -> Decimal:
        return self.principal - self.fee


# The database's field (RAISE … USING COLUMN) → the keyword of record() and disburse() it concerns.
METHOD_FIELDS = {"payment_method": "method", "payment_reference": "reference"}


def method_fields(error: AstrofinError) -> AstrofinError:
    """A refusal of the payment method or reference keyed `method` / `reference`; other errors as they are."""
    if isinstance(error, ValidationError):
        return ValidationError({METHOD_FIELDS.get(name, name): message for name, message in error.fields.items()})
    return error


def new_idempotency_key() -> str:
    """Made once when a payment form opens, so a retried or double submission records one payment."""
    return uuid.uuid4().hex


_RECEIPT = text("""
    SELECT t.id, t.receipt_number, t.transaction_date, t.amount, t.principal_amount,
           t.interest_amount, t.penalty_amount, l.loan_number, c.customer_number,
           c.first_name || ' ' || c.last_name AS customer_name,
           COALESCE(u.full_name, '') AS cashier, t.payment_method, t.payment_reference,
           tl.code AS till_code,
           EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_transaction_id = t.id) AS reversed,
           t.transaction_type AS kind,
           (t.transaction_type = 'repayment' AND l.status = 'closed'
            AND NOT EXISTS (SELECT 1 FROM transactions later
                            WHERE later.loan_id = l.id AND later.transaction_type = 'repayment'
                              AND later.id > t.id)) AS loan_closed,
           (SELECT COALESCE(sum(s.total_due), 0) FROM payment_schedules s WHERE s.loan_id = l.id)
           - (SELECT COALESCE(sum(p.amount), 0) FROM transactions p
              WHERE p.loan_id = l.id AND p.transaction_type = 'repayment' AND p.id <= t.id
                AND NOT EXISTS (SELECT 1 FROM transactions r2
                                WHERE r2.reverses_transaction_id = p.id)) AS balance_after
    FROM transactions t
    JOIN loans l ON l.id = t.loan_id
    JOIN customers c ON c.id = l.customer_id
    LEFT JOIN users u ON u.id = t.created_by
    LEFT JOIN till_sessions ts ON ts.id = t.till_session_id
    LEFT JOIN tills tl ON tl.id = ts.till_id
    WHERE t.id = CAST(current_setting('astrofin.result', true) AS bigint)
      AND t.transaction_type IN ('repayment', 'recovery')
""")
"""A payment's receipt, read in the message that names its transaction (db/one_trip.py): the payment that wrote it,
or the receipt's own reprint."""


def _receipt(row: Any) -> Receipt:
    return Receipt(row.id, row.receipt_number, row.transaction_date, row.customer_number, row.customer_name,
                   row.loan_number, row.amount, row.principal_amount, row.interest_amount, row.penalty_amount,
                   max(row.balance_after, ZERO) if row.kind == "repayment" else ZERO, row.cashier, row.reversed,
                   row.payment_method, row.payment_reference, row.till_code, row.kind, bool(row.loan_closed))


class PaymentRepository(Repository):
    def amounts_due(self, loan_id: int, as_of: date) -> AmountsDue:
        with self.work() as session:
            row = session.execute(
                text("""
                    SELECT l.id, l.loan_number, l.status, c.first_name || ' ' || c.last_name AS customer_name,
                           COALESCE(sum(s.total_due - s.total_paid) FILTER (WHERE s.due_date < :d), 0) AS overdue,
                           COALESCE(sum(s.total_due - s.total_paid) FILTER (WHERE s.due_date = :d), 0) AS due_today,
                           min(s.due_date) FILTER (WHERE s.due_date > :d AND s.status <> 'paid') AS next_due_date,
                           COALESCE(sum(s.total_due - s.total_paid), 0) AS outstanding_total,
                           COALESCE(sum(s.penalty_due - s.penalty_paid), 0) AS penalties
                    FROM loans l
                    JOIN customers c ON c.id = l.customer_id
                    LEFT JOIN payment_schedules s ON s.loan_id = l.id
                    WHERE l.id = :loan
                    GROUP BY l.id, c.id
                """),
                {"loan": loan_id, "d": as_of},
            ).one_or_none()
            if row is None:
                raise NotFound(f"loan {loan_id} does not exist")
            next_installment = ZERO
            if row.next_due_date is not None:
                next_installment = session.execute(
                    text("SELECT total_due - total_paid FROM payment_schedules WHERE loan_id = :loan AND due_date = :d"
                         " ORDER BY installment_number LIMIT 1"),
                    {"loan": loan_id, "d": row.next_due_date},
                ).scalar_one()
        return AmountsDue(row.id, row.loan_number, row.customer_name, row.status, row.overdue, row.due_today,
                          row.next_due_date, next_installment, row.outstanding_total, row.penalties)

    def preview(self, loan_id: int, amount: Decimal, payment_date: date) -> list[AllocationLine]:
        """How the payment would split, computed by the same SQL that records it; writes nothing."""
        _check_amount(amount)
        with self.work() as session:
            rows = session.execute(
                text("SELECT * FROM preview_loan_payment(:loan, :amount, :day)"),
                {"loan": loan_id, "amount": amount, "day": payment_date},
            ).mappings().all()
        return [AllocationLine(r["installment_number"], r["due_date"], r["penalty"], r["interest"], r["principal"],
                               r["status_after"]) for r in rows]

    def record(self, loan_id: int, amount: Decimal, payment_date: date, idempotency_key: str, *,
               method: str = "cash", reference: str | None = None) -> Receipt:
        """Record the payment once per idempotency key and return its receipt. Cash goes into the recorder's open
        till (refused where the branch requires one and none is open); `mobile_money` and `bank` need their
        reference and touch no till. A refusal of the method or reference comes beside `method` or `reference`."""
        _check_amount(amount)
        if not idempotency_key:
            raise ValidationError({"amount": "the payment form has no key; open it again"})
        # One round trip to the server (db/one_trip.py): the person's settings, the payment and its receipt.
        try:
            rows = self.write_in_one_trip(
                text("SELECT record_loan_payment(:loan, :amount, :day, :user, :key, :method, :reference)"), _RECEIPT,
                {"loan": loan_id, "amount": amount, "day": payment_date, "user": self.actor.user_id,
                 "key": idempotency_key, "method": method, "reference": reference})
        except AstrofinError as error:
            raise method_fields(error) from error
        return _receipt(rows[0])

    def payoff_quote(self, loan_id: int, as_of: date) -> PayoffQuote:
        """The payoff of the day, worked out by the database (payoff_quote); refused for a loan that is not active or
        defaulted, or a day before its disbursement."""
        # Asked on every loan screen and payment: one message (db/one_trip.py), on the primary, as the settlement will
        # be checked against the quote there.
        quote = func.payoff_quote(loan_id, as_of).table_valued("principal", "interest", "penalty", "total")
        principal, interest, penalty, total = self.fetch_in_one_trip(
            select(quote.c.principal, quote.c.interest, quote.c.penalty, quote.c.total), replica=False)[0]
        return PayoffQuote(loan_id, as_of, principal, interest, penalty, total)

    def settle(self, loan_id: int, amount: Decimal, payment_date: date, idempotency_key: str, *,
               method: str = "cash", reference: str | None = None) -> Receipt:
        """Pay the loan off with exactly the day's quote (settle_loan): the rest of the interest is waived, one
        repayment is recorded like any other, the loan is closed. Another amount is refused beside `amount`, naming
        the quote; the same key returns the first settlement."""
        _check_amount(amount)
        if not idempotency_key:
            raise ValidationError({"amount": "the payment form has no key; open it again"})
        # One round trip to the server (db/one_trip.py): the person's settings, the payment and its receipt.
        try:
            rows = self.write_in_one_trip(
                text("SELECT settle_loan(:loan, :amount, :day, :user, :key, :method, :reference)"), _RECEIPT,
                {"loan": loan_id, "amount": amount, "day": payment_date, "user": self.actor.user_id,
                 "key": idempotency_key, "method": method, "reference": reference})
        except AstrofinError as error:
            raise method_fields(error) from error
        return _receipt(rows[0])

    def recoveries(self, loan_id: int) -> Recoveries:
        """What a written-off loan has recovered, summed from its transactions (reversed recoveries left out)."""
        with self.work() as session:
            row = session.execute(
                text("""
                    SELECT COALESCE(sum(t.amount) FILTER (WHERE t.transaction_type = 'write_off'), 0) AS written_off,
                           COALESCE(sum(t.amount) FILTER (
                               WHERE t.transaction_type = 'recovery'
                                 AND NOT EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_transaction_id = t.id)),
                               0) AS recovered
                    FROM transactions t
                    WHERE t.loan_id = :loan AND t.transaction_type IN ('write_off', 'recovery')
                """),
                {"loan": loan_id},
            ).one()
        return Recoveries(loan_id, row.written_off, row.recovered)

    def receipt(self, transaction_id: int) -> Receipt:
        rows = self.write_in_one_trip(text("SELECT CAST(:txn AS bigint)"), _RECEIPT, {"txn": transaction_id})
        if not rows:
            raise NotFound(f"payment {transaction_id} does not exist")
        return _receipt(rows[0])

    def disbursement_receipt(self, transaction_id: int) -> DisbursementReceipt:
        with self.work() as session:
            row = session.execute(
                text("""
                    SELECT t.id, t.transaction_date, t.amount, t.fee_amount, l.loan_number, l.first_repayment_date,
                           c.customer_number, c.first_name || ' ' || c.last_name AS customer_name,
                           COALESCE(p.code || ' ' || p.name, '') AS product,
                           COALESCE(u.full_name, '') AS cashier, t.payment_method, t.payment_reference,
                           tl.code AS till_code
                    FROM transactions t
                    JOIN loans l ON l.id = t.loan_id
                    JOIN customers c ON c.id = l.customer_id
                    LEFT JOIN loan_products p ON p.id = l.product_id
                    LEFT JOIN users u ON u.id = t.created_by
                    LEFT JOIN till_sessions ts ON ts.id = t.till_session_id
                    LEFT JOIN tills tl ON tl.id = ts.till_id
                    WHERE t.id = :txn AND t.transaction_type = 'disbursement'
                """),
                {"txn": transaction_id},
            ).one_or_none()
        if row is None:
            raise NotFound(f"disbursement {transaction_id} does not exist")
        return DisbursementReceipt(row.id, row.transaction_date, row.customer_number, row.customer_name,
                                   row.loan_number, row.product, row.amount, row.fee_amount, row.cashier,
                                   row.first_repayment_date, row.payment_method, row.payment_reference,
                                   row.till_code)

def _check_amount(amount: Decimal) -> None:
    if amount <= 0:
        raise ValidationError({"amount": "the amount must be more than zero"})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({"amount": "the amount has at most two decimals"})
