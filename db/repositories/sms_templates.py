"""SMS templates as the admin keeps them: list, edit with the placeholders checked, and a preview of the
message as a customer would receive it, with what it costs in SMS parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from db.errors import NotFound, ValidationError
from db.repositories.base import Repository
from db.sms.segments import SegmentInfo, segments
from db.sms.templates import TemplateError, placeholders, render

MAX_LENGTH = 1000

# What fills each event's placeholders. The overdue reminder is filled in the database by
# reporting_queue_reminders(), which knows exactly these six; the others by the loan's values.
OVERDUE_PLACEHOLDERS = ("first_name", "last_name", "customer_number", "loan_number", "days_past_due",
                        "amount_overdue")
LOAN_PLACEHOLDERS = ("first_name", "last_name", "customer_number", "loan_number", "principal", "amount_overdue",
                     "days_past_due", "next_due_date", "first_due_date", "balance")
PLACEHOLDERS_BY_EVENT: dict[str, tuple[str, ...]] = {
    "loan_overdue": OVERDUE_PLACEHOLDERS,
    "payment_received": ("first_name", "last_name", "customer_number", "loan_number", "amount", "payment_date",
                         "receipt_number", "balance"),
    "loan_disbursed": ("first_name", "last_name", "customer_number", "loan_number", "principal", "installment",
                       "first_due_date", "next_due_date", "balance"),
}

SAMPLE_DAY = date(2025, 3, 10)


def known_placeholders(event_type: str) -> tuple[str, ...]:
    return PLACEHOLDERS_BY_EVENT.get(event_type, LOAN_PLACEHOLDERS)


def sample_values(currency: str = "KES") -> dict[str, Any]:
    """A customer as the preview shows one; amounts carry the currency as the messages sent do."""
    def money(value: str) -> str:
        return f"{currency} {Decimal(value):,.2f}"

    return {
        "first_name": "Wanjiku", "last_name": "Kamau", "customer_number": "C-000042", "loan_number": "L-000107",
        "principal": money("25000"), "amount_overdue": money("2361.50"), "days_past_due": 12,
        "next_due_date": "2025-04-01", "first_due_date": "2025-01-01", "balance": money("18420.75"),
        "amount": money("2500"), "payment_date": SAMPLE_DAY.isoformat(), "receipt_number": "R-000321",
        "installment": money("2361.50"),
    }


@dataclass(frozen=True)
class SmsTemplate:
    id: int
    name: str
    event_type: str
    template_text: str
    is_active: bool
    updated_at: datetime


@dataclass(frozen=True)
class TemplatePreview:
    text: str
    info: SegmentInfo


def template_problem(event_type: str, template_text: str) -> str | None:
    """Why a template body cannot be saved, or None: empty, too long, a broken or an unknown placeholder."""
    if not template_text.strip():
        return "the message is empty; write the text the customer will receive"
    if len(template_text) > MAX_LENGTH:
        return f"the message is {len(template_text)} characters; at most {MAX_LENGTH}"
    try:
        used = placeholders(template_text)
    except TemplateError as exc:
        return str(exc)
    known = known_placeholders(event_type)
    unknown = [name for name in used if name not in known]
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        return (f"{names} cannot be filled for {event_type} messages; "
                f"known placeholders: {', '.join('{' + k + '}' for k in known)}")
    return None


def preview(event_type: str, template_text: str, currency: str = "KES") -> TemplatePreview:
    """The message as a customer would receive it, filled with a sample customer; refused like a save."""
    problem = template_problem(event_type, template_text)
    if problem:
        raise ValidationError({"template_text": problem})
    body = render(template_text, sample_values(currency))
    return TemplatePreview(body, segments(body))


class SmsTemplateRepository(Repository):
    def list(self) -> list[SmsTemplate]:
        with self.work() as session:
            rows = session.execute(text(
                "SELECT id, name, event_type, template_text, is_active, updated_at FROM sms_templates ORDER BY name"
            )).all()
        return [SmsTemplate(*row) for row in rows]

    def get(self, template_id: int) -> SmsTemplate:
        with self.work() as session:
            row = session.execute(text(
                "SELECT id, name, event_type, template_text, is_active, updated_at FROM sms_templates WHERE id = :i"
            ), {"i": template_id}).first()
        if row is None:
            raise NotFound(f"SMS template {template_id} does not exist")
        return SmsTemplate(*row)

    def update(self, template_id: int, template_text: str, is_active: bool) -> SmsTemplate:
        """Save a new body (checked first) and whether the template is used."""
        current = self.get(template_id)
        problem = template_problem(current.event_type, template_text)
        if problem:
            raise ValidationError({"template_text": problem})
        with self.work() as session:
            row = session.execute(text("""
                UPDATE sms_templates SET template_text = :body, is_active = :active WHERE id = :i
                RETURNING id, name, event_type, template_text, is_active, updated_at
            """), {"body": template_text, "active": is_active, "i": template_id}).first()
        if row is None:
            raise NotFound(f"SMS template {template_id} does not exist")
        return SmsTemplate(*row)
