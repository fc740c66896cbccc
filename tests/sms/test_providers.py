"""Each HTTP provider against a local server answering in that provider's documented format."""

from __future__ import annotations

import base64
import json

import pytest

from db.sms.providers import (
    AfricasTalkingProvider,
    CredentialsMissing,
    OutboxProvider,
    OutgoingMessage,
    TwilioProvider,
    build_provider,
)
from db.sms.settings import sms_settings
from tests.sms.conftest import Reply, at_success, twilio_created

API_KEY = "atsk_0123456789abcdef"
SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "tok_secret_0123456789"
MESSAGE = OutgoingMessage(7, "+254712345678", "Dear Amina, your loan L-000001 is 3 days overdue. €5 due.")


def _at(gateway, timeout=2.0, sender="ASTROFIN"):
    return AfricasTalkingProvider(gateway.url, "astrofin", API_KEY, sender, timeout)


def _twilio(gateway, timeout=2.0, **kw):
    kw.setdefault("sender", "+15005550006")
    return TwilioProvider(gateway.url, SID, TOKEN, timeout=timeout, **kw)


# -- Africa's Talking -------------------------------------------------------------------------------------
def test_africastalking_sends_the_documented_request_and_reads_the_message_id(gateway):
    gateway.responder = at_success
    result = _at(gateway).send(MESSAGE)
    assert result.kind == "sent" and result.provider_message_id.startswith("ATXid_")
    [seen] = gateway.requests
    assert seen.method == "POST" and seen.path == "/version1/messaging"
    assert seen.headers["apikey"] == API_KEY
    assert seen.headers["accept"] == "application/json"
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen.form == {"username": "astrofin", "to": "+254712345678", "message": MESSAGE.body,
                         "from": "ASTROFIN"}


def test_africastalking_without_sender_id_sends_no_from_field(gateway):
    gateway.responder = at_success
    _at(gateway, sender="").send(MESSAGE)
    assert "from" not in gateway.requests[0].form


def test_africastalking_recipient_failure_is_permanent_with_the_gateway_reason(gateway):
    gateway.responder = lambda seen: Reply(201, {"SMSMessageData": {"Message": "Sent to 0/1 Total Cost: 0",
        "Recipients": [{"statusCode": 403, "number": "+254700000000", "status": "InvalidPhoneNumber",
                        "cost": "0", "messageId": "None"}]}})
    result = _at(gateway).send(MESSAGE)
    assert result.kind == "permanent"
    assert "InvalidPhoneNumber" in result.reason and "403" in result.reason


def test_africastalking_gateway_error_code_is_retryable(gateway):
    gateway.responder = lambda seen: Reply(201, {"SMSMessageData": {"Message": "Sent to 0/1",
        "Recipients": [{"statusCode": 500, "number": "+254712345678", "status": "InternalServerError",
                        "cost": "0", "messageId": "None"}]}})
    assert _at(gateway).send(MESSAGE).kind == "retryable"


def test_africastalking_wrong_key_is_permanent_and_never_echoes_the_key(gateway):
    gateway.responder = lambda seen: Reply(401, f"The supplied authentication is invalid: {API_KEY}",
                                           content_type="text/plain")
    result = _at(gateway).send(MESSAGE)
    assert result.kind == "permanent"
    assert "HTTP 401" in result.reason and "API key" in result.reason
    assert API_KEY not in result.reason


def test_africastalking_4xx_is_permanent_with_the_answer(gateway):
    gateway.responder = lambda seen: Reply(400, "Invalid senderId", content_type="text/plain")
    result = _at(gateway).send(MESSAGE)
    assert result.kind == "permanent" and "Invalid senderId" in result.reason and "HTTP 400" in result.reason


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_africastalking_5xx_and_429_are_retryable(gateway, status):
    gateway.responder = lambda seen: Reply(status, "busy", content_type="text/plain")
    result = _at(gateway).send(MESSAGE)
    assert result.kind == "retryable" and f"HTTP {status}" in result.reason and not result.maybe_sent


def test_africastalking_timeout_is_retryable_but_maybe_sent(gateway):
    gateway.responder = lambda seen: Reply(201, {}, delay=1.0)
    result = _at(gateway, timeout=0.2).send(MESSAGE)
    assert result.kind == "retryable" and result.maybe_sent
    assert "did not answer within 0.2 s" in result.reason


@pytest.mark.parametrize("body", ["<html>gateway</html>", {"unexpected": True}, {"SMSMessageData": {}}, ""])
def test_africastalking_malformed_answer_is_delivery_unknown(gateway, body):
    gateway.responder = lambda seen: Reply(201, body)
    result = _at(gateway).send(MESSAGE)
    assert result.kind == "unknown" and result.reason.startswith("delivery unknown")


def test_africastalking_empty_recipients_is_permanent_with_the_message(gateway):
    gateway.responder = lambda seen: Reply(201, {"SMSMessageData": {"Message": "InvalidSenderId",
                                                                     "Recipients": []}})
    result = _at(gateway).send(MESSAGE)
    assert result.kind == "permanent" and "InvalidSenderId" in result.reason


def test_unreachable_gateway_is_retryable_and_not_sent(closed_port):
    provider = AfricasTalkingProvider(f"http://127.0.0.1:{closed_port}", "astrofin", API_KEY, timeout=1.0)
    result = provider.send(MESSAGE)
    assert result.kind == "retryable" and not result.maybe_sent
    assert "connection refused" in result.reason


# -- Twilio -----------------------------------------------------------------------------------------------
def test_twilio_sends_the_documented_request_and_reads_the_sid(gateway):
    gateway.responder = twilio_created
    result = _twilio(gateway, status_callback_url="https://example.org/sms/status").send(MESSAGE)
    assert result.kind == "sent" and result.provider_message_id.startswith("SM")
    [seen] = gateway.requests
    assert seen.method == "POST" and seen.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert seen.headers["authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert seen.form == {"To": "+254712345678", "From": "+15005550006", "Body": MESSAGE.body,
                         "StatusCallback": "https://example.org/sms/status"}


def test_twilio_messaging_service_replaces_from(gateway):
    gateway.responder = twilio_created
    _twilio(gateway, sender="", messaging_service_sid="MG0123").send(MESSAGE)
    form = gateway.requests[0].form
    assert form["MessagingServiceSid"] == "MG0123" and "From" not in form


def test_twilio_invalid_number_is_permanent_with_code_and_message(gateway):
    gateway.responder = lambda seen: Reply(400, {"code": 21211, "message": "The 'To' number +2547 is not a valid "
                                                 "phone number.", "more_info": "https://www.twilio.com/docs/errors/"
                                                 "21211", "status": 400})
    result = _twilio(gateway).send(MESSAGE)
    assert result.kind == "permanent"
    assert result.reason.startswith("Twilio error 21211: The 'To' number +2547 is not a valid phone number.")


def test_twilio_wrong_credentials_are_permanent_and_never_echo_the_token(gateway):
    gateway.responder = lambda seen: Reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
    result = _twilio(gateway).send(MESSAGE)
    assert result.kind == "permanent" and "20003" in result.reason and "TWILIO_AUTH_TOKEN" in result.reason
    assert TOKEN not in result.reason


@pytest.mark.parametrize("status,body", [(500, {"code": 20500, "message": "Internal Server Error"}),
                                         (503, "Service Unavailable"),
                                         (429, {"code": 20429, "message": "Too Many Requests"})])
def test_twilio_5xx_and_429_are_retryable(gateway, status, body):
    gateway.responder = lambda seen: Reply(status, body)
    assert _twilio(gateway).send(MESSAGE).kind == "retryable"


def test_twilio_timeout_is_retryable_but_maybe_sent(gateway):
    gateway.responder = lambda seen: Reply(201, {"sid": "SMx"}, delay=1.0)
    result = _twilio(gateway, timeout=0.2).send(MESSAGE)
    assert result.kind == "retryable" and result.maybe_sent


@pytest.mark.parametrize("body", ["not json", {"status": "queued"}, []])
def test_twilio_malformed_answer_is_delivery_unknown(gateway, body):
    gateway.responder = lambda seen: Reply(201, json.dumps(body) if not isinstance(body, str) else body)
    result = _twilio(gateway).send(MESSAGE)
    assert result.kind == "unknown" and "delivery unknown" in result.reason


def test_twilio_fetch_reads_the_message_status(gateway):
    gateway.responder = lambda seen: Reply(200, {"sid": "SM1", "status": "undelivered", "error_code": 30003,
                                                 "error_message": "Unreachable destination handset"})
    report = _twilio(gateway).fetch("SM1")
    assert gateway.requests[0].method == "GET"
    assert gateway.requests[0].path == f"/2010-04-01/Accounts/{SID}/Messages/SM1.json"
    assert report.status == "failed" and "30003" in report.reason and "Unreachable" in report.reason


# -- outbox and configuration -----------------------------------------------------------------------------
def test_outbox_appends_json_lines(tmp_path):
    provider = OutboxProvider(tmp_path / "sms-outbox.jsonl", sender_id="ASTROFIN")
    assert provider.send(MESSAGE).provider_message_id == "outbox-7"
    provider.send(OutgoingMessage(8, "+254700000001", "second"))
    lines = [json.loads(line) for line in (tmp_path / "sms-outbox.jsonl").read_text().splitlines()]
    assert [(r["id"], r["to"], r["message"], r["from"]) for r in lines] == [
        (7, "+254712345678", MESSAGE.body, "ASTROFIN"), (8, "+254700000001", "second", "ASTROFIN")]


def test_outbox_default_file_is_in_the_data_folder():
    from db.paths import data_dir

    assert OutboxProvider().path == data_dir() / "sms-outbox.jsonl"


def test_build_provider_takes_credentials_from_the_environment():
    config = sms_settings(None, provider="twilio", sender_id="+15005550006")
    provider = build_provider(config, env={"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN})
    assert isinstance(provider, TwilioProvider) and provider.base.startswith("https://api.twilio.com/")


def test_build_provider_refuses_a_missing_credential_with_what_to_do(monkeypatch):
    import keyring

    monkeypatch.setattr(keyring, "get_password", lambda service, name: None)
    config = sms_settings(None, provider="africastalking", username="astrofin")
    with pytest.raises(CredentialsMissing, match="AT_API_KEY.*keyring set astrofin-sms africastalking-api-key"):
        build_provider(config, env={})


def test_credentials_fall_back_to_the_keyring(monkeypatch):
    import keyring

    monkeypatch.setattr(keyring, "get_password",
                        lambda service, name: API_KEY if (service, name) == ("astrofin-sms",
                                                                             "africastalking-api-key") else None)
    provider = build_provider(sms_settings(None, provider="africastalking", username="astrofin"), env={})
    assert isinstance(provider, AfricasTalkingProvider) and provider.api_key == API_KEY


def test_sms_settings_come_from_the_configuration():
    from db.config import load_settings

    settings = load_settings(env={"SMS_PROVIDER": "africastalking", "SMS_MAX_ATTEMPTS": "3",
                                  "SMS_RATE_PER_SECOND": "2.5"})
    config = sms_settings(settings)
    assert (config.provider, config.max_attempts, config.rate_per_second) == ("africastalking", 3, 2.5)
    assert config.effective_base_url == "https://api.africastalking.com"
    assert sms_settings(load_settings(env={})).provider == "outbox"


def test_backoff_doubles_up_to_the_cap():
    config = sms_settings(None, retry_backoff_seconds=30, retry_backoff_max_seconds=100)
    assert [config.backoff(n) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]
