"""The day at a glance: a handful of counts and sums the home screen shows, chosen per role.

Every query runs as the signed-in role, so a figure a role may not read could not be shown even by mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, exists, func, select
from sqlalchemy.orm import Session, aliased

from db.engine import Actor, unit_of_work
from db.models import AuditLog, Customer, JournalEntry, JournalEntryDetail, Loan, PaymentSchedule, Transaction, User
from db.permissions import APPROVE_LOANS, can

OPEN_STATUSES = ("active", "defaulted")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Figure:
    label: str
    value: int | Decimal
    is_money: bool = False


@dataclass(frozen=True)
class PendingApplication:
    """An application waiting for a decision, as the supervisor's list on home shows it."""

    loan_id: int
    loan_number: str
    customer_name: str
    principal: Decimal
    application_date: date


@dataclass(frozen=True)
class DayAtAGlance:
    as_of: date
    figures: tuple[Figure, ...]
    pending: tuple[PendingApplication, ...] = ()
    """The oldest applications waiting for approval (for a role that approves; empty for the others)."""
    branches: int = 1
    """How many branches the figures cover: the staff member's own and those below it (row-level security
    limits every query to them)."""


PENDING_SHOWN = 50
"""At most this many applications are listed on home (the oldest first); the count figure has them all."""


def day_at_a_glance(engine: Engine, actor: Actor, as_of: date) -> DayAtAGlance:
    """The figures for the actor's role on the day `as_of`, over the branches the actor sees."""
    build = _BY_ROLE.get(actor.role)
    if build is None:
        return DayAtAGlance(as_of, ())
    with unit_of_work(engine, actor) as session:
        figures = build(session, actor, as_of)
        pending = _pending_applications(session) if can(actor.role, APPROVE_LOANS) else ()
        branches = int(session.scalar(select(func.cardinality(func.astrofin_branch_scope()))) or 1)
    return DayAtAGlance(as_of, tuple(figures), pending, branches)


def _pending_applications(session: Session, limit: int = PENDING_SHOWN) -> tuple[PendingApplication, ...]:
    rows = session.execute(
        select(Loan.id, Loan.loan_number, Customer.first_name, Customer.last_name, Loan.principal_amount,
               Loan.application_date)
        .join(Customer, Customer.id == Loan.customer_id)
        .where(Loan.status == "pending")
        .order_by(Loan.application_date, Loan.id)
        .limit(limit)
    ).all()
    return tuple(PendingApplication(row.id, row.loan_number, f"{row.first_name} {row.last_name}",
                                    Decimal(row.principal_amount), row.application_date) for row in rows)


def _count_loans(session: Session, *statuses: str, officer_id: int | None = None) -> int:
    query = select(func.count()).select_from(Loan).where(Loan.status.in_(statuses))
    if officer_id is not None:
        query = query.where(Loan.loan_officer_id == officer_id)
    return int(session.scalar(query) or 0)


def _overdue_loans(session: Session, as_of: date, officer_id: int | None = None) -> int:
    late = exists().where(PaymentSchedule.loan_id == Loan.id, PaymentSchedule.paid_date.is_(None),
                          PaymentSchedule.due_date < as_of)
    query = select(func.count()).select_from(Loan).where(Loan.status.in_(OPEN_STATUSES), late)
    if officer_id is not None:
        query = query.where(Loan.loan_officer_id == officer_id)
    return int(session.scalar(query) or 0)


def _due_today(session: Session, as_of: date) -> int:
    query = (select(func.count()).select_from(PaymentSchedule).join(Loan, Loan.id == PaymentSchedule.loan_id)
             .where(PaymentSchedule.due_date == as_of, PaymentSchedule.paid_date.is_(None),
                    Loan.status.in_(OPEN_STATUSES)))
    return int(session.scalar(query) or 0)


def _repayments(session: Session, as_of: date) -> tuple[int, Decimal]:
    """Repayments dated `as_of` that have not been reversed: how many, and their total."""
    reversal = aliased(Transaction)
    reversed_ = exists().where(reversal.reverses_transaction_id == Transaction.id)
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(Transaction.amount), ZERO))
        .where(Transaction.transaction_type == "repayment", Transaction.transaction_date == as_of, ~reversed_)
    ).one()
    return int(row[0]), Decimal(row[1])


def _principal_outstanding(session: Session) -> Decimal:
    query = (select(func.coalesce(func.sum(PaymentSchedule.principal_due - PaymentSchedule.principal_paid), ZERO))
             .join(Loan, Loan.id == PaymentSchedule.loan_id).where(Loan.status.in_(OPEN_STATUSES)))
    return Decimal(session.scalar(query) or ZERO)


def _active_customers(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Customer).where(Customer.status == "active")) or 0)


def _cashier(session: Session, actor: Actor, as_of: date) -> list[Figure]:
    count, total = _repayments(session, as_of)
    return [
        Figure("Repayments today", count),
        Figure("Collected today", total, is_money=True),
        Figure("Installments due today", _due_today(session, as_of)),
        Figure("Awaiting disbursement", _count_loans(session, "approved")),
    ]


def _loan_officer(session: Session, actor: Actor, as_of: date) -> list[Figure]:
    mine = actor.user_id
    return [
        Figure("My active loans", _count_loans(session, *OPEN_STATUSES, officer_id=mine)),
        Figure("My overdue loans", _overdue_loans(session, as_of, officer_id=mine)),
        Figure("My pending applications", _count_loans(session, "pending", officer_id=mine)),
        Figure("Active customers", _active_customers(session)),
    ]


def _supervisor(session: Session, actor: Actor, as_of: date) -> list[Figure]:
    count, total = _repayments(session, as_of)
    return [
        Figure("Pending applications", _count_loans(session, "pending")),
        Figure("Awaiting disbursement", _count_loans(session, "approved")),
        Figure("Active loans", _count_loans(session, *OPEN_STATUSES)),
        Figure("Overdue loans", _overdue_loans(session, as_of)),
        Figure("Repayments today", count),
        Figure("Collected today", total, is_money=True),
        Figure("Principal outstanding", _principal_outstanding(session), is_money=True),
    ]


def _accountant(session: Session, actor: Actor, as_of: date) -> list[Figure]:
    entries = int(session.scalar(select(func.count()).select_from(JournalEntry)
                                 .where(JournalEntry.entry_date == as_of)) or 0)
    debits = session.scalar(
        select(func.coalesce(func.sum(JournalEntryDetail.debit), ZERO))
        .join(JournalEntry, JournalEntry.id == JournalEntryDetail.journal_entry_id)
        .where(JournalEntry.entry_date == as_of)
    )
    _count, collected = _repayments(session, as_of)
    return [
        Figure("Journal entries today", entries),
        Figure("Debits posted today", Decimal(debits or ZERO), is_money=True),
        Figure("Collected today", collected, is_money=True),
        Figure("Principal outstanding", _principal_outstanding(session), is_money=True),
    ]


def _admin(session: Session, actor: Actor, as_of: date) -> list[Figure]:
    active = int(session.scalar(select(func.count()).select_from(User).where(User.is_active)) or 0)
    locked = int(session.scalar(select(func.count()).select_from(User).where(User.locked_until > func.now())) or 0)
    audited = int(session.scalar(select(func.count()).select_from(AuditLog)
                                 .where(func.date(AuditLog.changed_at) == as_of)) or 0)
    return [
        Figure("Active staff accounts", active),
        Figure("Locked accounts", locked),
        Figure("Active customers", _active_customers(session)),
        Figure("Audit entries today", audited),
    ]


_BY_ROLE: dict[str, Callable[[Session, Actor, date], list[Figure]]] = {
    "cashier": _cashier,
    "loan_officer": _loan_officer,
    "supervisor": _supervisor,
    "accountant": _accountant,
    "admin": _admin,
}
