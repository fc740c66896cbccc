"""Delivery reports: Africa's Talking callbacks, Twilio status callbacks and polling move sent rows."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from db.sms.providers import TwilioProvider
from db.sms.reports import ReportError, apply_report, parse_payload, parse_report, poll_twilio
from tests.sms.conftest import Reply, queue, row


def _sent(engine, provider, pmid, phone="+254712345678"):
    [message_id] = queue(engine, [(phone, "hello")])
    with engine.begin() as conn:
        conn.execute(text("UPDATE sms_histories SET status = 'sent', provider = :p, provider_message_id = :m, "
                          "sent_at = now(), attempts = 1 WHERE id = :id"), {"p": provider, "m": pmid, "id": message_id})
    return message_id


def test_africastalking_success_marks_delivered(engine):
    message_id = _sent(engine, "africastalking", "ATXid_1")
    report = parse_report("africastalking", "id=ATXid_1&status=Success&phoneNumber=%2B254712345678"
                                            "&networkCode=63902&retryCount=0")
    applied = apply_report(engine, report)
    assert applied.message_id == message_id and applied.note == f"message {message_id} is now delivered"
    delivered = row(engine, message_id)
    assert delivered["status"] == "delivered" and delivered["delivered_at"] is not None


def test_africastalking_failure_keeps_the_reason(engine):
    message_id = _sent(engine, "africastalking", "ATXid_2")
    apply_report(engine, parse_report("africastalking", "id=ATXid_2&status=Failed&failureReason=UserInBlackList"
                                                        "&phoneNumber=%2B254712345678&networkCode=63902"))
    failed = row(engine, message_id)
    assert failed["status"] == "failed"
    assert failed["error_message"] == "Africa's Talking reported Failed: UserInBlackList"


def test_intermediate_status_changes_nothing(engine):
    message_id = _sent(engine, "africastalking", "ATXid_3")
    applied = apply_report(engine, parse_report("africastalking", "id=ATXid_3&status=Buffered"))
    assert applied.message_id is None and "not final" in applied.note
    assert row(engine, message_id)["status"] == "sent"


def test_twilio_status_callbacks(engine):
    ok = _sent(engine, "twilio", "SM111")
    bad = _sent(engine, "twilio", "SM222")
    apply_report(engine, parse_report("twilio", "MessageSid=SM111&MessageStatus=delivered&AccountSid=AC1"))
    apply_report(engine, parse_report("twilio", "MessageSid=SM222&MessageStatus=undelivered&ErrorCode=30003"))
    assert row(engine, ok)["status"] == "delivered"
    failed = row(engine, bad)
    assert failed["status"] == "failed" and failed["error_message"] == "Twilio reported undelivered (error 30003)"
    # A late "sent" callback after "delivered" changes nothing.
    apply_report(engine, parse_report("twilio", "MessageSid=SM111&MessageStatus=sent"))
    assert row(engine, ok)["status"] == "delivered"


def test_reports_for_unknown_or_final_messages_say_so(engine):
    message_id = _sent(engine, "twilio", "SM333")
    assert apply_report(engine, parse_report("twilio", '{"MessageSid": "SM404", "MessageStatus": "delivered"}')) \
        .note == "no twilio message with id SM404"
    apply_report(engine, parse_report("twilio", "MessageSid=SM333&MessageStatus=delivered"))
    again = apply_report(engine, parse_report("twilio", "MessageSid=SM333&MessageStatus=failed"))
    assert again.note == f"message {message_id} is already delivered; nothing changed"


def test_a_report_never_moves_another_providers_row(engine):
    message_id = _sent(engine, "africastalking", "SAME-ID")
    assert apply_report(engine, parse_report("twilio", "MessageSid=SAME-ID&MessageStatus=failed")).message_id is None
    assert row(engine, message_id)["status"] == "sent"


@pytest.mark.parametrize("provider,body,match", [
    ("africastalking", "status=Success", "needs the fields id and status"),
    ("twilio", "MessageStatus=delivered", "needs the fields MessageSid and MessageStatus"),
    ("twilio", "{not json", "not valid JSON"),
    ("nexmo", "id=1", "not 'nexmo'"),
])
def test_bad_payloads_are_refused_clearly(provider, body, match):
    with pytest.raises(ReportError, match=match):
        parse_report(provider, body)


def test_parse_payload_reads_form_and_json():
    assert parse_payload(b"a=1&b=%2B2547") == {"a": "1", "b": "+2547"}
    assert parse_payload('{"a": 1, "b": null}') == {"a": "1", "b": ""}


def test_poll_asks_twilio_for_sent_messages(engine, gateway):
    delivered = _sent(engine, "twilio", "SMaaa")
    failed = _sent(engine, "twilio", "SMbbb")
    pending = _sent(engine, "twilio", "SMccc")
    other = _sent(engine, "africastalking", "ATXid_9")
    statuses = {"SMaaa": ("delivered", None, None), "SMbbb": ("failed", 30006, "Landline or unreachable carrier"),
                "SMccc": ("sent", None, None)}

    def answer(seen):
        sid = seen.path.rsplit("/", 1)[-1].removesuffix(".json")
        status, code, message = statuses[sid]
        return Reply(200, {"sid": sid, "status": status, "error_code": code, "error_message": message})

    gateway.responder = answer
    provider = TwilioProvider(gateway.url, "AC1", "token", sender="+15005550006", timeout=2)
    summary = poll_twilio(engine, provider)
    assert (summary.checked, summary.delivered, summary.failed, summary.pending) == (3, 1, 1, 1)
    assert all(seen.method == "GET" for seen in gateway.requests)
    assert row(engine, delivered)["status"] == "delivered"
    assert row(engine, failed)["error_message"] == "Twilio reported failed (error 30006: Landline or unreachable " \
                                                   "carrier)"
    assert row(engine, pending)["status"] == "sent"
    assert row(engine, other)["status"] == "sent"
