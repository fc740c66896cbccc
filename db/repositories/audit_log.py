"""The audit log as the admin reads it: filtered by table, user, record and dates, newest first, keyset
paged, with each row's old and new values; and the hash chain sealed and checked (db/audit.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from db import audit
from db.errors import ValidationError
from db.repositories.base import Repository

AUDITED_TABLES = (
    "users", "customers", "loans", "transactions", "payment_schedules", "sms_templates", "sms_histories",
    "journal_entries", "journal_entry_details", "chart_of_accounts",
)
ACTIONS = ("INSERT", "UPDATE", "DELETE")
MAX_PAGE = 500


@dataclass(frozen=True)
class AuditFilter:
    table: str | None = None
    username: str | None = None
    record_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    table_name: str
    record_id: int | None
    action: str
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None
    changed_by: int | None
    changed_by_name: str
    """The username, or '' for changes made outside a signed-in session (migrations, seed, maintenance)."""
    db_role: str
    changed_at: datetime
    sealed: bool


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditEntry]
    next_before_id: int | None
    """Pass as before_id for the next (older) page; None on the last page."""


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str
    changed: bool


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_changes(entry: AuditEntry) -> list[FieldChange]:
    """Old and new values side by side, one field a row, in the order the table's columns were logged."""
    old = entry.old_values or {}
    new = entry.new_values or {}
    names = list(old) + [name for name in new if name not in old]
    return [FieldChange(name, _show(old.get(name)), _show(new.get(name)),
                        entry.action == "UPDATE" and old.get(name) != new.get(name)) for name in names]


def _values(raw: str | None) -> dict[str, Any] | None:
    """A row's logged values; numbers stay exact (Decimal), never floats."""
    return None if raw is None else dict(json.loads(raw, parse_float=Decimal))


def filter_problems(flt: AuditFilter) -> dict[str, str]:
    problems: dict[str, str] = {}
    if flt.table is not None and flt.table not in AUDITED_TABLES:
        problems["table"] = f"choose one of {', '.join(AUDITED_TABLES)}"
    if flt.record_id is not None and flt.record_id < 1:
        problems["record_id"] = "a record id is a whole number from 1"
    if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
        problems["date_to"] = "the last day is before the first day"
    return problems


class AuditLogRepository(Repository):
    def list(self, flt: AuditFilter | None = None, *, before_id: int | None = None, limit: int = 50) -> AuditPage:
        """Audit rows newest first matching every filter given; keyset paged on id."""
        flt = flt or AuditFilter()
        problems = filter_problems(flt)
        if problems:
            raise ValidationError(problems)
        limit = max(1, min(limit, MAX_PAGE))
        params: dict[str, object] = {
            "table": flt.table,
            "username": flt.username.strip() if flt.username and flt.username.strip() else None,
            "record": flt.record_id,
            "from_day": flt.date_from,
            "to_day": flt.date_to + timedelta(days=1) if flt.date_to else None,
            "before": before_id,
            "limit": limit + 1,
        }
        with self.work() as session:
            rows = session.execute(
                text("""
                    SELECT a.id, a.table_name, a.record_id, a.action, a.old_values::text AS old_values,
                           a.new_values::text AS new_values, a.changed_by,
                           COALESCE(u.username, '') AS changed_by_name, a.db_role, a.changed_at,
                           a.chain_seq IS NOT NULL AS sealed
                      FROM audit_logs a
                      LEFT JOIN users u ON u.id = a.changed_by
                     WHERE (CAST(:table AS text) IS NULL OR a.table_name = :table)
                       AND (CAST(:username AS text) IS NULL
                            OR a.changed_by IN (SELECT id FROM users WHERE lower(username) = lower(:username)))
                       AND (CAST(:record AS bigint) IS NULL OR a.record_id = :record)
                       AND (CAST(:from_day AS date) IS NULL OR a.changed_at >= CAST(:from_day AS date))
                       AND (CAST(:to_day AS date) IS NULL OR a.changed_at < CAST(:to_day AS date))
                       AND (CAST(:before AS bigint) IS NULL OR a.id < :before)
                     ORDER BY a.id DESC
                     LIMIT :limit
                """),
                params,
            ).mappings().all()
        page = [AuditEntry(**{**row, "old_values": _values(row["old_values"]),
                              "new_values": _values(row["new_values"])}) for row in rows[:limit]]
        return AuditPage(page, page[-1].id if len(rows) > limit else None)

    def verify(self, *, seal: bool = True) -> audit.VerifyResult:
        """Seal what was written since the last seal (kept), then check the whole chain."""
        if seal:
            with self.work() as session:
                audit.seal(session)
        with self.work() as session:
            return audit.verify(session)
