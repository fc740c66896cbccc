"""The SMS outbox as the admin sees it: messages by status (keyset paged, newest first), counts per status,
and failed messages put back in the queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from db.errors import ValidationError
from db.repositories.base import Repository

STATUSES = ("queued", "sent", "delivered", "failed")
MAX_PAGE = 500


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    created_at: datetime
    phone_number: str
    message: str
    status: str
    provider: str | None
    provider_message_id: str | None
    error_message: str | None
    attempts: int
    segments: int | None
    encoding: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    in_flight: bool
    """A dispatcher holds it right now."""
    customer_id: int | None
    loan_id: int | None


@dataclass(frozen=True)
class OutboxPage:
    rows: list[OutboxMessage]
    next_before_id: int | None
    """Pass as before_id for the next (older) page; None on the last page."""


class SmsOutboxRepository(Repository):
    def list(self, status: str | None = None, *, before_id: int | None = None, limit: int = 50) -> OutboxPage:
        """Messages newest first, optionally of one status; keyset paged on id."""
        if status is not None and status not in STATUSES:
            raise ValidationError({"status": f"choose one of {', '.join(STATUSES)}"})
        limit = max(1, min(limit, MAX_PAGE))
        with self.work() as session:
            rows = session.execute(
                text("""
                    SELECT id, created_at, phone_number, message, status, provider, provider_message_id,
                           error_message, attempts, segments, encoding, sent_at, delivered_at, next_attempt_at,
                           claimed_at IS NOT NULL AS in_flight, customer_id, loan_id
                      FROM sms_histories
                     WHERE (CAST(:status AS text) IS NULL OR status = :status)
                       AND (CAST(:before AS bigint) IS NULL OR id < :before)
                     ORDER BY id DESC
                     LIMIT :limit
                """),
                {"status": status, "before": before_id, "limit": limit + 1},
            ).mappings().all()
        page = [OutboxMessage(**row) for row in rows[:limit]]
        return OutboxPage(page, page[-1].id if len(rows) > limit else None)

    def counts(self) -> dict[str, int]:
        """How many messages are in each status (every status present, zero when none)."""
        with self.work() as session:
            rows = session.execute(text("SELECT status, count(*) AS n FROM sms_histories GROUP BY status")).all()
        found: dict[str, int] = {row.status: int(row.n) for row in rows}
        return {status: found.get(status, 0) for status in STATUSES}

    def retry(self, ids: Sequence[int]) -> int:
        """Put failed messages back in the queue; returns how many were requeued (others are left alone)."""
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return 0
        with self.work() as session:
            count = session.execute(
                text("SELECT requeue_failed_sms(CAST(:ids AS bigint[]), :by)"),
                {"ids": wanted, "by": self.actor.user_id},
            ).scalar()
        return int(count or 0)
