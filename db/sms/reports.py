"""Delivery reports: the gateways' callbacks (and Twilio polling) move sent messages to delivered or failed."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

from db.errors import AstrofinError
from db.sms.providers import DeliveryReport, TwilioProvider

# Africa's Talking delivery report statuses: final ones move the row, the others mean "on its way".
AT_DELIVERED = {"Success"}
AT_FAILED = {"Failed", "Rejected", "AbsentSubscriber", "Expired"}
# Twilio MessageStatus values.
TWILIO_DELIVERED = {"delivered", "read"}
TWILIO_FAILED = {"failed", "undelivered", "canceled"}


class ReportError(AstrofinError):
    pass


def parse_payload(raw: str | bytes) -> dict[str, str]:
    """A callback body as a flat dict: form-encoded (what both gateways post) or a JSON object."""
    body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    body = body.strip()
    if body.startswith("{"):
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ReportError(f"the callback body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ReportError("the callback body must be a JSON object")
        return {str(k): "" if v is None else str(v) for k, v in data.items()}
    return {k: v for k, v in urllib.parse.parse_qsl(body, keep_blank_values=True)}


def africastalking_report(form: Mapping[str, str]) -> DeliveryReport:
    """Africa's Talking delivery report: form fields id, status, phoneNumber, networkCode, failureReason."""
    message_id = (form.get("id") or "").strip()
    status = (form.get("status") or "").strip()
    if not message_id or not status:
        raise ReportError("an Africa's Talking delivery report needs the fields id and status")
    if status in AT_DELIVERED:
        return DeliveryReport("africastalking", message_id, "delivered", gateway_status=status)
    if status in AT_FAILED:
        reason = (form.get("failureReason") or "").strip() or "no reason given"
        return DeliveryReport("africastalking", message_id, "failed",
                              reason=f"Africa's Talking reported {status}: {reason}", gateway_status=status)
    return DeliveryReport("africastalking", message_id, None, gateway_status=status)


def twilio_report(sid: str, status: str, error_code: Any = None, error_message: Any = None) -> DeliveryReport:
    if status in TWILIO_DELIVERED:
        return DeliveryReport("twilio", sid, "delivered", gateway_status=status)
    if status in TWILIO_FAILED:
        detail = f"error {error_code}" if error_code not in (None, "") else "no error code"
        if error_message:
            detail += f": {error_message}"
        return DeliveryReport("twilio", sid, "failed", reason=f"Twilio reported {status} ({detail})",
                              gateway_status=status)
    return DeliveryReport("twilio", sid, None, gateway_status=status)


def twilio_status_callback(form: Mapping[str, str]) -> DeliveryReport:
    """Twilio status callback: MessageSid (or SmsSid), MessageStatus (or SmsStatus), ErrorCode."""
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip()
    if not sid or not status:
        raise ReportError("a Twilio status callback needs the fields MessageSid and MessageStatus")
    return twilio_report(sid, status, form.get("ErrorCode") or None)


PARSERS = {"africastalking": africastalking_report, "twilio": twilio_status_callback}


def parse_report(provider: str, raw: str | bytes) -> DeliveryReport:
    if provider not in PARSERS:
        raise ReportError(f"delivery reports come from {' or '.join(PARSERS)}, not {provider!r}")
    return PARSERS[provider](parse_payload(raw))


@dataclass(frozen=True)
class Applied:
    report: DeliveryReport
    message_id: int | None
    """The sms_histories row the report moved, or None."""
    note: str


def apply_report(engine: Engine, report: DeliveryReport) -> Applied:
    """Move the row the report is about from sent to delivered or failed; anything else is left as it is."""
    if report.status is None:
        return Applied(report, None, f"{report.gateway_status or 'intermediate'}: not final, nothing changed")
    with engine.begin() as conn:
        row = conn.execute(
            text("""
                UPDATE sms_histories
                   SET status = :status,
                       delivered_at = CASE WHEN :status = 'delivered' THEN now() END,
                       error_message = CASE WHEN :status = 'failed' THEN :reason END
                 WHERE provider = :provider AND provider_message_id = :pmid AND status = 'sent'
             RETURNING id
            """),
            {"status": report.status, "reason": report.reason[:500], "provider": report.provider,
             "pmid": report.provider_message_id},
        ).first()
        if row is not None:
            return Applied(report, int(row.id), f"message {row.id} is now {report.status}")
        known = conn.execute(
            text("SELECT id, status FROM sms_histories WHERE provider = :provider AND provider_message_id = :pmid"),
            {"provider": report.provider, "pmid": report.provider_message_id},
        ).first()
    if known is None:
        return Applied(report, None, f"no {report.provider} message with id {report.provider_message_id}")
    return Applied(report, None, f"message {known.id} is already {known.status}; nothing changed")


@dataclass(frozen=True)
class PollSummary:
    checked: int
    delivered: int
    failed: int
    pending: int


def poll_twilio(engine: Engine, provider: TwilioProvider, limit: int = 100, max_age_days: int = 7) -> PollSummary:
    """Ask Twilio about sent messages still waiting for a final status (the oldest first)."""
    with engine.connect() as conn:
        sids = conn.execute(
            text("""
                SELECT provider_message_id FROM sms_histories
                 WHERE provider = 'twilio' AND status = 'sent' AND provider_message_id IS NOT NULL
                   AND sent_at > now() - make_interval(days => :days)
                 ORDER BY sent_at, id
                 LIMIT :limit
            """),
            {"days": max_age_days, "limit": limit},
        ).scalars().all()
    delivered = failed = pending = 0
    for sid in sids:
        report = provider.fetch(sid)
        if report is None or report.status is None:
            pending += 1
            continue
        applied = apply_report(engine, report)
        if applied.message_id is not None and report.status == "delivered":
            delivered += 1
        elif applied.message_id is not None:
            failed += 1
    return PollSummary(len(sids), delivered, failed, pending)
