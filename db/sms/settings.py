"""The `sms` section of the configuration, checked once, with messages that say which setting to fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.config import ConfigError, Settings

PROVIDERS = ("outbox", "africastalking", "twilio")
DEFAULT_BASE_URLS = {
    "africastalking": "https://api.africastalking.com",
    "twilio": "https://api.twilio.com",
}


def _number(raw: Any, name: str, *, minimum: float = 0.0) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ConfigError(f"sms.{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"sms.{name} must be at least {minimum:g}")
    return value


def _flag(raw: Any, name: str) -> bool:
    lowered = str(raw).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"sms.{name} must be true or false, not {raw!r}")


@dataclass(frozen=True)
class SmsSettings:
    provider: str = "outbox"
    base_url: str = ""
    sender_id: str = ""
    username: str = ""
    messaging_service_sid: str = ""
    status_callback_url: str = ""
    rate_per_second: float = 5.0
    """At most this many requests per second from one dispatcher; 0 means no limit."""
    max_attempts: int = 5
    timeout_seconds: float = 15.0
    retry_backoff_seconds: float = 30.0
    """The wait after the first retryable failure; it doubles with every further attempt."""
    retry_backoff_max_seconds: float = 3600.0
    retry_after_timeout: bool = True
    """Retry when the gateway did not answer in time after taking the request (it may have sent it)."""
    claim_lease_seconds: float = 300.0
    """A claim older than this belongs to a dispatcher that stopped."""
    batch_size: int = 20

    @property
    def effective_base_url(self) -> str:
        return (self.base_url or DEFAULT_BASE_URLS.get(self.provider, "")).rstrip("/")

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the given number of attempts failed retryably."""
        return min(self.retry_backoff_seconds * 2 ** max(attempts - 1, 0), self.retry_backoff_max_seconds)


def sms_settings(settings: Settings | None = None, **overrides: Any) -> SmsSettings:
    """SmsSettings from the configuration's `sms` section (defaults for anything missing), then overrides."""
    raw: dict[str, Any] = dict(settings.sms) if settings is not None else {}
    defaults = SmsSettings()
    provider = str(raw.get("provider") or defaults.provider).strip().lower()
    if provider not in PROVIDERS:
        raise ConfigError(f"sms.provider (SMS_PROVIDER) must be one of {', '.join(PROVIDERS)}, not {provider!r}")
    lease = _number(raw.get("claim_lease_seconds", defaults.claim_lease_seconds), "claim_lease_seconds")
    timeout = _number(raw.get("timeout_seconds", defaults.timeout_seconds), "timeout_seconds", minimum=0.1)
    values = SmsSettings(
        provider=provider,
        base_url=str(raw.get("base_url") or ""),
        sender_id=str(raw.get("sender_id") or ""),
        username=str(raw.get("username") or ""),
        messaging_service_sid=str(raw.get("messaging_service_sid") or ""),
        status_callback_url=str(raw.get("status_callback_url") or ""),
        rate_per_second=_number(raw.get("rate_per_second", defaults.rate_per_second), "rate_per_second"),
        max_attempts=int(_number(raw.get("max_attempts", defaults.max_attempts), "max_attempts", minimum=1)),
        timeout_seconds=timeout,
        retry_backoff_seconds=_number(raw.get("retry_backoff_seconds", defaults.retry_backoff_seconds),
                                      "retry_backoff_seconds"),
        retry_backoff_max_seconds=_number(raw.get("retry_backoff_max_seconds", defaults.retry_backoff_max_seconds),
                                          "retry_backoff_max_seconds"),
        retry_after_timeout=_flag(raw.get("retry_after_timeout", "true"), "retry_after_timeout"),
        claim_lease_seconds=lease,
        batch_size=int(_number(raw.get("batch_size", defaults.batch_size), "batch_size", minimum=1)),
    )
    if overrides:
        from dataclasses import replace

        values = replace(values, **overrides)
    if values.claim_lease_seconds < 2 * values.timeout_seconds:
        raise ConfigError(
            "sms.claim_lease_seconds must be at least twice sms.timeout_seconds, or a dispatcher still waiting "
            "for the gateway could be taken for a stopped one"
        )
    return values
