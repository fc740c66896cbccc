"""Loans built directly as the superuser, with schedules relative to a fixed as-of day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from db.engine import Actor

AS_OF = date(2025, 6, 30)
ZERO = Decimal("0.00")


@dataclass
class Inst:
    """One installment: what is due and what has been paid of it."""

    due: date
    principal: Decimal
    interest: Decimal = ZERO
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest

    @property
    def paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid

    @property
    def status(self) -> str:
        if self.paid == self.total:
            return "paid"
        return "partial" if self.paid > 0 else "pending"


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)


def monthly(principal: Decimal, n: int, first_due: date, *, paid: int = 0,
            interest: Decimal = Decimal("10.00")) -> list[Inst]:
    """n monthly installments from first_due, the first `paid` of them fully paid."""
    share = (principal / n).quantize(Decimal("0.01"))
    rows = []
    for k in range(n):
        part = principal - share * (n - 1) if k == n - 1 else share
        inst = Inst(add_months(first_due, k), part, interest)
        if k < paid:
            inst.principal_paid, inst.interest_paid = inst.principal, inst.interest
        rows.append(inst)
    return rows


class LoanFactory:
    """Customers, active loans, schedules and transactions written as the superuser."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._phones = 0

    def user_id(self, username: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT id FROM users WHERE username = :u"), {"u": username}).scalar_one())

    def actor(self, username: str) -> Actor:
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT id, role FROM users WHERE username = :u"), {"u": username}).one()
        return Actor(int(row.id), username, str(row.role))

    def customer(self, first_name: str = "Achieng", last_name: str = "Otieno", phone: str | None = "auto") -> int:
        if phone == "auto":
            self._phones += 1
            phone = f"+2547{self._phones:08d}"
        with self.engine.begin() as conn:
            return int(conn.execute(
                text("INSERT INTO customers (first_name, last_name, phone) VALUES (:f, :l, :p) RETURNING id"),
                {"f": first_name, "l": last_name, "p": phone},
            ).scalar_one())

    def loan(self, installments: list[Inst], *, customer_id: int | None = None, status: str = "active",
             disbursed: date | None = None, officer: str = "officer") -> int:
        customer_id = customer_id or self.customer()
        principal = sum((i.principal for i in installments), ZERO)
        disbursed = disbursed or add_months(installments[0].due, -1)
        officer_id = self.user_id(officer)
        with self.engine.begin() as conn:
            loan_id = int(conn.execute(text(
                "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
                "repayment_frequency, status, application_date, approved_by, approved_at, disbursement_date, "
                "first_repayment_date, loan_officer_id, created_by, closed_at) "
                "VALUES (:c, :p, 24, 'flat', :n, 'monthly', :s, :d, :sup, :d, :d, :first, :o, :o, "
                "CASE WHEN :s = 'closed' THEN now() END) RETURNING id"
            ), {"c": customer_id, "p": principal, "n": len(installments), "s": status, "d": disbursed,
                "sup": self.user_id("supervisor"), "first": installments[0].due, "o": officer_id}).scalar_one())
            conn.execute(text(
                "INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, transaction_date, "
                "created_by) VALUES (:l, 'disbursement', :a, :a, :d, :u)"
            ), {"l": loan_id, "a": principal, "d": disbursed, "u": self.user_id("cashier")})
            for k, inst in enumerate(installments, start=1):
                conn.execute(text(
                    "INSERT INTO payment_schedules (loan_id, installment_number, due_date, principal_due, "
                    "interest_due, total_due, principal_paid, interest_paid, total_paid, status, paid_date) "
                    "VALUES (:l, :k, :due, :p, :i, :t, :pp, :ip, :tp, :s, :pd)"
                ), {"l": loan_id, "k": k, "due": inst.due, "p": inst.principal, "i": inst.interest,
                    "t": inst.total, "pp": inst.principal_paid, "ip": inst.interest_paid, "tp": inst.paid,
                    "s": inst.status, "pd": inst.due if inst.status == "paid" else None})
                if inst.paid > 0:
                    conn.execute(text(
                        "INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, "
                        "interest_amount, transaction_date, created_by) "
                        "VALUES (:l, 'repayment', :a, :p, :i, :d, :u)"
                    ), {"l": loan_id, "a": inst.paid, "p": inst.principal_paid, "i": inst.interest_paid,
                        "d": min(inst.due, AS_OF), "u": self.user_id("cashier")})
        return loan_id

    def overdue_loan(self, dpd: int, *, principal: Decimal = Decimal("1000.00"), n: int = 4,
                     status: str = "active", customer_id: int | None = None) -> int:
        """A monthly loan whose oldest unpaid installment fell due `dpd` days before AS_OF (one paid before it)."""
        oldest_unpaid = AS_OF - timedelta(days=dpd)
        rows = monthly(principal, n, add_months(oldest_unpaid, -1), paid=1)
        for k, inst in enumerate(rows):
            inst.due = add_months(oldest_unpaid, k - 1)
        return self.loan(rows, status=status, customer_id=customer_id)

    def scalar(self, sql: str, **params: object) -> object:
        with self.engine.begin() as conn:
            return conn.execute(text(sql), params).scalar()


@pytest.fixture
def factory(engine: Engine) -> LoanFactory:
    return LoanFactory(engine)
