"""SMS templates: `{placeholders}` filled from the loan and customer, refused clearly when one is unknown."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from db.errors import AstrofinError, NotFound
from db.sms.segments import SegmentInfo, segments

_FORMATTER = string.Formatter()


class TemplateError(AstrofinError):
    """A template that cannot be filled; the message names the placeholder and what is known."""


def placeholders(template_text: str) -> list[str]:
    """The placeholder names a template uses, in order of first use."""
    names: list[str] = []
    try:
        parsed = list(_FORMATTER.parse(template_text))
    except ValueError as exc:
        raise TemplateError(f"the template has an unmatched brace ({exc}); write {{{{ or }}}} for a literal one") \
            from None
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise TemplateError(f"the placeholder {{{field}}} is not a plain name like {{first_name}}")
        if field not in names:
            names.append(field)
    return names


def _show(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def render(template_text: str, values: Mapping[str, Any]) -> str:
    """Fill every `{name}` from values; an unknown placeholder is an error that says which and what is known."""
    names = placeholders(template_text)
    unknown = [name for name in names if name not in values]
    if unknown:
        known = ", ".join("{" + k + "}" for k in sorted(values)) or "(none)"
        raise TemplateError(
            f"the template uses {', '.join('{' + n + '}' for n in unknown)}, which cannot be filled here; "
            f"known placeholders: {known}"
        )
    return _FORMATTER.vformat(template_text, (), {name: _show(values[name]) for name in names})


@dataclass(frozen=True)
class Preview:
    text: str
    info: SegmentInfo


def preview(template_text: str, values: Mapping[str, Any]) -> Preview:
    """The message staff are about to queue and what it costs."""
    body = render(template_text, values)
    return Preview(body, segments(body))


def loan_values(conn: Connection | Session, loan_id: int, as_of: date | None = None) -> dict[str, Any]:
    """The placeholders a loan and its customer fill: names, numbers, amounts overdue and the next due date."""
    row = conn.execute(
        text("""
            SELECT c.first_name, c.last_name, c.customer_number, c.phone, l.loan_number, l.principal_amount,
                   l.status, l.first_repayment_date,
                   coalesce(:as_of, current_date) AS as_of,
                   (SELECT min(s.due_date) FROM payment_schedules s
                     WHERE s.loan_id = l.id AND s.paid_date IS NULL
                       AND s.due_date < coalesce(:as_of, current_date)) AS oldest_due_date,
                   (SELECT coalesce(sum(s.total_due - s.total_paid), 0) FROM payment_schedules s
                     WHERE s.loan_id = l.id AND s.paid_date IS NULL
                       AND s.due_date < coalesce(:as_of, current_date)) AS amount_overdue,
                   (SELECT min(s.due_date) FROM payment_schedules s
                     WHERE s.loan_id = l.id AND s.paid_date IS NULL
                       AND s.due_date >= coalesce(:as_of, current_date)) AS next_due_date,
                   (SELECT coalesce(sum(s.total_due - s.total_paid), 0) FROM payment_schedules s
                     WHERE s.loan_id = l.id) AS balance
              FROM loans l JOIN customers c ON c.id = l.customer_id
             WHERE l.id = :loan_id
        """),
        {"loan_id": loan_id, "as_of": as_of},
    ).mappings().one_or_none()
    if row is None:
        raise NotFound(f"loan {loan_id} does not exist")
    oldest = row["oldest_due_date"]
    return {
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "customer_number": row["customer_number"],
        "loan_number": row["loan_number"],
        "principal": row["principal_amount"],
        "amount_overdue": row["amount_overdue"],
        "days_past_due": (row["as_of"] - oldest).days if oldest else 0,
        "next_due_date": row["next_due_date"] or "",
        "first_due_date": row["first_repayment_date"] or "",
        "balance": row["balance"],
    }
