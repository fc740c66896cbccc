"""SMS gateways behind one small interface: `send(message)` → a SendResult.

A result is `sent` with the gateway's message id, or a failure the dispatcher knows how to treat:
`retryable` (nothing went out, or the gateway asked us to come back: timeouts, refused connections, 5xx,
429), `permanent` (the gateway refused this message for good: 4xx, invalid number, wrong credentials), or
`unknown` (the gateway may have sent it but its answer cannot be read). Reasons are written for the person
reading the outbox and never contain a credential.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from db import paths
from db.errors import AstrofinError
from db.sms import http
from db.sms.settings import SmsSettings

Kind = Literal["sent", "retryable", "permanent", "unknown"]
KEYRING_SERVICE = "astrofin-sms"
MAX_REASON = 500


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    to: str
    body: str


@dataclass(frozen=True)
class SendResult:
    kind: Kind
    provider_message_id: str | None = None
    reason: str = ""
    maybe_sent: bool = False
    """For a retryable failure: the gateway took the request and may have sent the message."""

    @property
    def ok(self) -> bool:
        return self.kind == "sent"


@dataclass(frozen=True)
class DeliveryReport:
    """What a gateway says became of a message: delivered, failed (with why), or still on its way (None)."""

    provider: str
    provider_message_id: str
    status: Literal["delivered", "failed"] | None
    reason: str = ""
    gateway_status: str = ""


class Provider(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> SendResult: ...


class CredentialsMissing(AstrofinError):
    pass


def secret(env_name: str, keyring_name: str, what: str, env: Mapping[str, str] | None = None) -> str:
    """A credential from the environment, else the system keyring (service "astrofin-sms")."""
    source = os.environ if env is None else env
    value = source.get(env_name, "")
    if value:
        return value
    try:
        import keyring

        value = keyring.get_password(KEYRING_SERVICE, keyring_name) or ""
    except Exception:  # no usable keyring backend on a headless host
        value = ""
    if not value:
        raise CredentialsMissing(
            f"{what} is not set: export {env_name}, or store it with "
            f"`keyring set {KEYRING_SERVICE} {keyring_name}`"
        )
    return value


class _Redactor:
    def __init__(self, *secrets: str) -> None:
        self._secrets = [s for s in secrets if s]

    def __call__(self, text: str) -> str:
        for value in self._secrets:
            text = text.replace(value, "********")
        text = " ".join(text.split())
        return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _json(answer: http.Answer) -> Any:
    try:
        return json.loads(answer.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _transport_failure(exc: http.TransportError) -> SendResult:
    if isinstance(exc, http.NoAnswer):
        return SendResult("retryable", reason=str(exc), maybe_sent=True)
    return SendResult("retryable", reason=str(exc))


class OutboxProvider:
    """Development: each message becomes one JSON line in the data folder, and counts as sent."""

    name = "outbox"

    def __init__(self, path: Path | None = None, sender_id: str = "") -> None:
        self.path = path or paths.data_dir() / "sms-outbox.jsonl"
        self.sender_id = sender_id

    def send(self, message: OutgoingMessage) -> SendResult:
        line = json.dumps({
            "id": message.id, "to": message.to, "from": self.sender_id, "message": message.body,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }, ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                fcntl.flock(out, fcntl.LOCK_EX)
                out.write(line)
                out.flush()
        except OSError as exc:
            return SendResult("retryable", reason=f"cannot write the outbox file {self.path}: {exc.strerror}")
        return SendResult("sent", provider_message_id=f"outbox-{message.id}")


# Africa's Talking per-recipient status codes (bulk SMS API).
AT_ACCEPTED = {100: "Processed", 101: "Success", 102: "Queued"}
AT_RETRYABLE = {500: "InternalServerError", 501: "GatewayError"}
AT_REASONS = {
    401: "RiskHold", 402: "InvalidSenderId", 403: "InvalidPhoneNumber", 404: "UnsupportedNumberType",
    405: "InsufficientBalance", 406: "UserInBlacklist", 407: "CouldNotRoute", 409: "DoNotDisturbRejection",
    500: "InternalServerError", 501: "GatewayError", 502: "RejectedByGateway",
}


class AfricasTalkingProvider:
    """Africa's Talking bulk SMS: POST {base}/version1/messaging with the apiKey header and form fields."""

    name = "africastalking"

    def __init__(self, base_url: str, username: str, api_key: str, sender_id: str = "", timeout: float = 15.0):
        if not username:
            raise CredentialsMissing("the Africa's Talking username is not set: set SMS_USERNAME (sms.username)")
        self.url = base_url.rstrip("/") + "/version1/messaging"
        self.username = username
        self.api_key = api_key
        self.sender_id = sender_id
        self.timeout = timeout
        self._redact = _Redactor(api_key)

    def send(self, message: OutgoingMessage) -> SendResult:
        form = {"username": self.username, "to": message.to, "message": message.body}
        if self.sender_id:
            form["from"] = self.sender_id
        headers = {"apiKey": self.api_key, "Accept": "application/json"}
        try:
            answer = http.request("POST", self.url, form=form, headers=headers, timeout=self.timeout)
        except http.TransportError as exc:
            return _transport_failure(exc)
        return self._interpret(answer)

    def _interpret(self, answer: http.Answer) -> SendResult:
        r = self._redact
        if answer.status in (401, 403):
            return SendResult("permanent", reason=r(
                f"Africa's Talking refused the credentials (HTTP {answer.status}: {answer.snippet()}); "
                "check the username and API key (AT_API_KEY)"))
        if answer.status == 429 or answer.status >= 500:
            return SendResult("retryable", reason=r(f"Africa's Talking answered HTTP {answer.status}: "
                                                    f"{answer.snippet()}"))
        if answer.status >= 400:
            return SendResult("permanent", reason=r(f"Africa's Talking refused the message (HTTP {answer.status}: "
                                                    f"{answer.snippet()})"))
        data = _json(answer)
        try:
            sms_data = data["SMSMessageData"]
            recipients = sms_data["Recipients"]
        except (TypeError, KeyError):
            return SendResult("unknown", reason=r(
                f"delivery unknown: Africa's Talking answered HTTP {answer.status} with something that is not "
                f"its JSON format ({answer.snippet()}); check its outbox before retrying"))
        if not recipients:
            return SendResult("permanent", reason=r(
                f"Africa's Talking sent to nobody: {sms_data.get('Message') or 'no recipients in its answer'}"))
        first = recipients[0] if isinstance(recipients[0], dict) else {}
        try:
            code = int(str(first.get("statusCode")))
        except ValueError:
            code = -1
        status = str(first.get("status") or AT_REASONS.get(code, "unknown status"))
        message_id = str(first.get("messageId") or "")
        if code in AT_ACCEPTED and message_id and message_id != "None":
            return SendResult("sent", provider_message_id=message_id, reason=status)
        if code in AT_ACCEPTED or code == -1:
            return SendResult("unknown", reason=r(
                f"delivery unknown: Africa's Talking answered {status} without a usable message id "
                f"({answer.snippet()}); check its outbox before retrying"))
        reason = f"Africa's Talking: {status} (status code {code})"
        if code in AT_RETRYABLE:
            return SendResult("retryable", reason=r(reason))
        return SendResult("permanent", reason=r(reason))


# Twilio error codes that are worth retrying later (rate limits and queue overflow).
TWILIO_RETRYABLE_CODES = {20429, 30001, 14107}


class TwilioProvider:
    """Twilio Messages API: POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json with basic auth."""

    name = "twilio"

    def __init__(self, base_url: str, account_sid: str, auth_token: str, *, sender: str = "",
                 messaging_service_sid: str = "", status_callback_url: str = "", timeout: float = 15.0):
        if not sender and not messaging_service_sid:
            raise CredentialsMissing("Twilio needs a sender: set SMS_SENDER_ID (a Twilio number in E.164 form) "
                                     "or SMS_MESSAGING_SERVICE_SID")
        self.base = base_url.rstrip("/") + f"/2010-04-01/Accounts/{urllib.parse.quote(account_sid, safe='')}"
        self.sender = sender
        self.messaging_service_sid = messaging_service_sid
        self.status_callback_url = status_callback_url
        self.timeout = timeout
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode("ascii")
        self._auth = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self._redact = _Redactor(auth_token, token)

    def send(self, message: OutgoingMessage) -> SendResult:
        form = {"To": message.to, "Body": message.body}
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.sender
        if self.status_callback_url:
            form["StatusCallback"] = self.status_callback_url
        try:
            answer = http.request("POST", self.base + "/Messages.json", form=form, headers=self._auth,
                                  timeout=self.timeout)
        except http.TransportError as exc:
            return _transport_failure(exc)
        return self._interpret(answer)

    def _error(self, answer: http.Answer) -> tuple[int | None, str]:
        data = _json(answer)
        if isinstance(data, dict) and data.get("message"):
            code = data.get("code")
            return (int(code) if isinstance(code, int | str) and str(code).isdigit() else None), str(data["message"])
        return None, answer.snippet()

    def _interpret(self, answer: http.Answer) -> SendResult:
        r = self._redact
        if answer.status >= 400:
            code, text = self._error(answer)
            label = f"Twilio error {code}: {text}" if code else f"Twilio answered HTTP {answer.status}: {text}"
            if answer.status == 401:
                return SendResult("permanent", reason=r(
                    f"{label} — Twilio refused the credentials; check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"))
            if answer.status == 429 or answer.status >= 500 or code in TWILIO_RETRYABLE_CODES:
                return SendResult("retryable", reason=r(label))
            return SendResult("permanent", reason=r(label))
        data = _json(answer)
        sid = data.get("sid") if isinstance(data, dict) else None
        if not isinstance(sid, str) or not sid:
            return SendResult("unknown", reason=r(
                f"delivery unknown: Twilio answered HTTP {answer.status} without a message sid "
                f"({answer.snippet()}); check its message log before retrying"))
        status = str(data.get("status") or "")
        if status in ("failed", "undelivered", "canceled"):
            code = data.get("error_code")
            detail = data.get("error_message") or "no reason given"
            return SendResult("permanent", provider_message_id=sid,
                              reason=r(f"Twilio {status} the message (error {code}: {detail})"))
        return SendResult("sent", provider_message_id=sid, reason=status)

    def fetch(self, sid: str) -> DeliveryReport | None:
        """The message's current status (GET …/Messages/{sid}.json), or None when Twilio cannot say now."""
        try:
            answer = http.request("GET", self.base + f"/Messages/{urllib.parse.quote(sid, safe='')}.json",
                                  headers=self._auth,
                                  timeout=self.timeout)
        except http.TransportError:
            return None
        if answer.status != 200:
            return None
        data = _json(answer)
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            return None
        from db.sms.reports import twilio_report

        return twilio_report(sid, data["status"], data.get("error_code"), data.get("error_message"))


def build_provider(config: SmsSettings, env: Mapping[str, str] | None = None) -> Provider:
    """The configured provider with its credentials (from env, else the keyring); refuses when any is missing."""
    source = os.environ if env is None else env
    if config.provider == "outbox":
        return OutboxProvider(sender_id=config.sender_id)
    if config.provider == "africastalking":
        api_key = secret("AT_API_KEY", "africastalking-api-key", "the Africa's Talking API key", env)
        username = config.username or source.get("AT_USERNAME", "")
        return AfricasTalkingProvider(config.effective_base_url, username, api_key, config.sender_id,
                                      config.timeout_seconds)
    if config.provider == "twilio":
        sid = secret("TWILIO_ACCOUNT_SID", "twilio-account-sid", "the Twilio account SID", env)
        token = secret("TWILIO_AUTH_TOKEN", "twilio-auth-token", "the Twilio auth token", env)
        return TwilioProvider(config.effective_base_url, sid, token, sender=config.sender_id,
                              messaging_service_sid=config.messaging_service_sid,
                              status_callback_url=config.status_callback_url, timeout=config.timeout_seconds)
    raise AstrofinError(f"unknown SMS provider {config.provider!r}")
