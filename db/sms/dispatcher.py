"""The dispatcher: takes queued messages safely, sends each through the provider, records what happened.

Each message goes through three short transactions, so no transaction is ever open during an HTTP call:

1. claim: a small batch is taken with `FOR UPDATE SKIP LOCKED` and marked claimed_at/claimed_by, so two
   dispatchers never take the same row;
2. sending: just before its HTTP request a row is marked sending_at (and attempts + 1); from then on the
   gateway may have the message;
3. record: the outcome (sent with the gateway's id, a retry later, or failed with the reason) clears the
   claim.

A dispatcher that stops between 2 and 3 leaves a row claimed with sending_at set. Once that is older than
the lease, the next sweep (at every start and every loop) marks it failed with "delivery unknown", so a
person checks at the gateway and decides; it is never sent again silently. Claimed rows that never reached
2 are simply put back in the queue. The dispatcher connects as the database operator (superuser), not as a
staff member.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, text

from db.sms.providers import OutgoingMessage, Provider, SendResult
from db.sms.segments import segments
from db.sms.settings import SmsSettings

log = logging.getLogger("astrofin.sms")

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
UNKNOWN_DELIVERY = (
    "delivery unknown: the dispatcher {who} stopped after it began sending this message at {at} and before it "
    "recorded the gateway's answer; check the gateway before retrying"
)


def e164_problem(phone: str) -> str | None:
    """Why a number cannot be sent to, or None when it is a plausible E.164 number."""
    if E164.match(phone or ""):
        return None
    return (f"the phone number {phone!r} is not in international E.164 form (+, country code, number, e.g. "
            "+254712345678); correct the customer's phone and queue the message again")


@dataclass
class DispatchSummary:
    claimed: int = 0
    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    released: int = 0
    """Claims of stopped dispatchers that never reached the gateway, put back in the queue."""
    unknown: int = 0
    """Messages of stopped dispatchers whose delivery is unknown, marked failed for a person to check."""
    segments: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)

    def add(self, other: DispatchSummary) -> None:
        for name in ("claimed", "sent", "retry_later", "failed", "released", "unknown", "segments"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures.extend(other.failures)

    def line(self) -> str:
        return (f"{self.sent} sent ({self.segments} SMS parts), {self.retry_later} to retry later, "
                f"{self.failed} failed, {self.unknown} marked delivery unknown, {self.released} released")


@dataclass(frozen=True)
class Claimed:
    id: int
    phone_number: str
    message: str
    attempts: int


class RateLimiter:
    """At most `rate` calls per second (evenly spaced); 0 means no limit."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock()
        if now < self._next:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


def dispatcher_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    def __init__(self, engine: Engine, provider: Provider, config: SmsSettings, *, name: str | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.engine = engine
        self.provider = provider
        self.config = config
        self.name = name or dispatcher_name()
        self.limiter = limiter or RateLimiter(config.rate_per_second)

    # -- the three steps -------------------------------------------------------------------------------
    def sweep(self) -> tuple[int, int]:
        """Deal with claims older than the lease: (released back to the queue, marked delivery unknown)."""
        lease = {"lease": self.config.claim_lease_seconds}
        with self.engine.begin() as conn:
            released = conn.execute(text("""
                UPDATE sms_histories SET claimed_at = NULL, claimed_by = NULL
                 WHERE status = 'queued' AND claimed_at IS NOT NULL AND sending_at IS NULL
                   AND claimed_at < now() - make_interval(secs => :lease)
            """), lease).rowcount
            rows = conn.execute(text("""
                SELECT id, claimed_by, sending_at FROM sms_histories
                 WHERE status = 'queued' AND claimed_at IS NOT NULL AND sending_at IS NOT NULL
                   AND sending_at < now() - make_interval(secs => :lease)
                 FOR UPDATE SKIP LOCKED
            """), lease).all()
            for row in rows:
                reason = UNKNOWN_DELIVERY.format(who=row.claimed_by, at=row.sending_at.isoformat(timespec="seconds"))
                # claimed_by stays: it says which dispatcher it was, and lets that one still record the truth.
                conn.execute(text("""
                    UPDATE sms_histories
                       SET status = 'failed', error_message = :reason, claimed_at = NULL, sending_at = NULL,
                           next_attempt_at = NULL
                     WHERE id = :id
                """), {"id": row.id, "reason": reason})
                log.warning("message %s: %s", row.id, reason)
        return released, len(rows)

    def claim(self, limit: int) -> list[Claimed]:
        with self.engine.begin() as conn:
            rows = conn.execute(text("""
                WITH picked AS (
                    SELECT id FROM sms_histories
                     WHERE status = 'queued' AND claimed_at IS NULL
                       AND (next_attempt_at IS NULL OR next_attempt_at <= now())
                     ORDER BY id
                     LIMIT :limit
                       FOR UPDATE SKIP LOCKED
                )
                UPDATE sms_histories h SET claimed_at = now(), claimed_by = :me
                  FROM picked WHERE h.id = picked.id
             RETURNING h.id, h.phone_number, h.message, h.attempts
            """), {"limit": limit, "me": self.name}).all()
        return sorted((Claimed(r.id, r.phone_number, r.message, r.attempts) for r in rows), key=lambda c: c.id)

    def _mark_sending(self, message: Claimed) -> int | None:
        """Mark the row as on its way to the gateway; None when this dispatcher no longer holds it."""
        info = segments(message.message)
        with self.engine.begin() as conn:
            attempts = conn.execute(text("""
                UPDATE sms_histories
                   SET sending_at = now(), attempts = attempts + 1, provider = :provider,
                       segments = :segments, encoding = :encoding
                 WHERE id = :id AND claimed_by = :me AND claimed_at IS NOT NULL AND status = 'queued'
             RETURNING attempts
            """), {"id": message.id, "me": self.name, "provider": self.provider.name,
                   "segments": info.segments, "encoding": info.encoding}).scalar()
        return None if attempts is None else int(attempts)

    def _record(self, message_id: int, status: str, *, reason: str | None = None,
                provider_message_id: str | None = None, retry_in: float | None = None) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(text("""
                UPDATE sms_histories
                   SET status = :status,
                       provider_message_id = coalesce(:pmid, provider_message_id),
                       error_message = :reason,
                       sent_at = CASE WHEN :status = 'sent' THEN now() ELSE sent_at END,
                       next_attempt_at = CASE WHEN CAST(:retry_in AS double precision) IS NULL THEN NULL
                                              ELSE now() + make_interval(secs => :retry_in) END,
                       claimed_at = NULL, claimed_by = NULL, sending_at = NULL
                 WHERE id = :id AND claimed_by = :me
                   AND (status = 'queued' OR (status = 'failed' AND error_message LIKE 'delivery unknown:%'))
            """), {"id": message_id, "me": self.name, "status": status, "reason": reason,
                   "pmid": provider_message_id, "retry_in": retry_in}).rowcount == 1

    def release(self) -> int:
        """Give back this dispatcher's claims that never reached the gateway (on an orderly stop)."""
        with self.engine.begin() as conn:
            return conn.execute(text("""
                UPDATE sms_histories SET claimed_at = NULL, claimed_by = NULL
                 WHERE claimed_by = :me AND status = 'queued' AND sending_at IS NULL AND claimed_at IS NOT NULL
            """), {"me": self.name}).rowcount

    # -- one message --------------------------------------------------------------------------------------
    def _deliver(self, message: Claimed, summary: DispatchSummary) -> None:
        problem = e164_problem(message.phone_number)
        if problem:
            info = segments(message.message)
            with self.engine.begin() as conn:
                conn.execute(text("""
                    UPDATE sms_histories SET segments = :segments, encoding = :encoding, provider = :provider
                     WHERE id = :id AND claimed_by = :me
                """), {"id": message.id, "me": self.name, "segments": info.segments, "encoding": info.encoding,
                       "provider": self.provider.name})
            self._outcome(message.id, "failed", problem, summary)
            return
        self.limiter.wait()
        attempts = self._mark_sending(message)
        if attempts is None:
            return  # the claim lapsed and the row went back to the queue: someone else sends it
        try:
            result = self.provider.send(OutgoingMessage(message.id, message.phone_number, message.message))
        except Exception as exc:  # a fault in this program, not the gateway: say so, never resend blindly
            log.error("message %s: the %s provider raised %s", message.id, self.provider.name, type(exc).__name__)
            result = SendResult("unknown", reason=f"delivery unknown: sending stopped on an internal error "
                                                  f"({type(exc).__name__}); check the gateway before retrying")
        self._apply(message, attempts, result, summary)

    def _apply(self, message: Claimed, attempts: int, result: SendResult, summary: DispatchSummary) -> None:
        if result.kind == "sent":
            if self._record(message.id, "sent", provider_message_id=result.provider_message_id):
                summary.sent += 1
                summary.segments += segments(message.message).segments
                log.info("message %s sent by %s as %s", message.id, self.provider.name, result.provider_message_id)
            return
        if result.kind == "retryable" and not (result.maybe_sent and not self.config.retry_after_timeout):
            if attempts >= self.config.max_attempts:
                reason = f"gave up after {attempts} attempts: {result.reason}"
                self._outcome(message.id, "failed", reason, summary)
                return
            wait = self.config.backoff(attempts)
            reason = f"attempt {attempts} of {self.config.max_attempts} failed, retrying in {wait:g} s: {result.reason}"
            if self._record(message.id, "queued", reason=reason, retry_in=wait):
                summary.retry_later += 1
                log.info("message %s: %s", message.id, reason)
            return
        reason = result.reason
        if result.kind == "retryable":  # maybe sent, and retrying after a timeout is switched off
            reason = f"delivery unknown: {reason}; check the gateway before retrying"
        self._outcome(message.id, "failed", reason, summary, provider_message_id=result.provider_message_id)

    def _outcome(self, message_id: int, status: str, reason: str, summary: DispatchSummary,
                 provider_message_id: str | None = None) -> None:
        if self._record(message_id, status, reason=reason, provider_message_id=provider_message_id):
            summary.failed += 1
            summary.failures.append((message_id, reason))
            log.warning("message %s failed: %s", message_id, reason)

    # -- runs ---------------------------------------------------------------------------------------------
    def run_once(self, limit: int | None = None, stop: threading.Event | None = None) -> DispatchSummary:
        """Sweep stale claims, then send what is due (at most `limit` messages) until the queue is empty."""
        summary = DispatchSummary()
        summary.released, summary.unknown = self.sweep()
        remaining = limit if limit is not None else None
        try:
            while remaining is None or remaining > 0:
                if stop is not None and stop.is_set():
                    break
                size = self.config.batch_size if remaining is None else min(self.config.batch_size, remaining)
                batch = self.claim(size)
                if not batch:
                    break
                summary.claimed += len(batch)
                if remaining is not None:
                    remaining -= len(batch)
                for message in batch:
                    if stop is not None and stop.is_set():
                        break
                    self._deliver(message, summary)
        finally:
            # Whatever stopped us, claims that never reached the gateway go back to the queue now.
            self.release()
        return summary

    def run_forever(self, interval: float, stop: threading.Event | None = None,
                    on_pass: Callable[[DispatchSummary], None] | None = None) -> DispatchSummary:
        stop = stop or threading.Event()
        total = DispatchSummary()
        while not stop.is_set():
            summary = self.run_once(stop=stop)
            total.add(summary)
            if on_pass is not None:
                on_pass(summary)
            stop.wait(interval)
        return total
