"""The `mpesa` section of the configuration: the Daraja callback service's settings, checked once, with messages
that name the setting to fix.

    user             the staff member the service receives and posts as (default "mpesa"; a cashier of the head
                     office, so that it sees every branch's loans)
    callback_token   the secret part of the callback URLs (ASTROFIN_MPESA_TOKEN); the service refuses to start
                     without one
    allowed_sources  addresses or networks Daraja calls from (default: Safaricom's published C2B callback
                     addresses); "any" (or an empty list in the user file) lets every address through: for tests,
                     and behind a proxy that already filters
    trusted_proxies  peers whose X-Forwarded-For is believed (default 127.0.0.1 and ::1: a reverse proxy on the
                     same machine)
    max_body_bytes   the largest callback body read (default 16 KiB; a Daraja callback is under 1 KiB)
    concurrency      callbacks handled at the same moment, and the database connections kept for them (default 50)
    sweep_seconds    how often receipts still waiting to be posted are looked for (default 60; 0: only at start)
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from db.config import ConfigError, Settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SAFARICOM_NETWORKS = ("196.201.214.0/24", "196.201.213.0/24", "196.201.212.0/24")
"""The networks Safaricom publishes for its M-Pesa API callbacks."""
SAFARICOM_ADDRESSES = (
    "196.201.214.200", "196.201.214.206", "196.201.214.207", "196.201.214.208", "196.201.213.44", "196.201.213.114",
    "196.201.212.69", "196.201.212.74", "196.201.212.127", "196.201.212.129", "196.201.212.136", "196.201.212.138",
)
"""The individual addresses Safaricom's documentation lists for whitelisting (all inside the networks above)."""
ANY = ("any", "*")
TOKEN_MIN_LENGTH = 16


def _networks(raw: Any, name: str) -> tuple[IPNetwork, ...]:
    """Addresses and networks from a comma- or space-separated string or a JSON list; () for "any" or empty."""
    if isinstance(raw, list | tuple):
        items = [str(item).strip() for item in raw]
    else:
        items = str(raw or "").replace(",", " ").split()
    items = [item for item in items if item]
    if any(item.lower() in ANY for item in items):
        return ()
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"mpesa.{name} must hold IP addresses or networks (e.g. 196.201.214.0/24), "
                              f"not {item!r}") from None
    return tuple(networks)


def _whole(raw: Any, name: str, *, minimum: int) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"mpesa.{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"mpesa.{name} must be at least {minimum}")
    return value


@dataclass(frozen=True)
class DarajaSettings:
    callback_token: str
    user: str = "mpesa"
    allowed_sources: tuple[IPNetwork, ...] = field(
        default_factory=lambda: _networks(SAFARICOM_NETWORKS + SAFARICOM_ADDRESSES, "allowed_sources"))
    """Empty: any address."""
    trusted_proxies: tuple[IPNetwork, ...] = field(default_factory=lambda: _networks("127.0.0.1 ::1", "x"))
    max_body_bytes: int = 16 * 1024
    concurrency: int = 50
    sweep_seconds: float = 60.0

    def __post_init__(self) -> None:
        token = self.callback_token
        if not token:
            raise ConfigError("the M-Pesa callback token is not set: set ASTROFIN_MPESA_TOKEN to a long random "
                              "secret (e.g. the output of: openssl rand -hex 24) and register the URLs with it")
        if len(token) < TOKEN_MIN_LENGTH or not all(c.isalnum() or c in "-_" for c in token):
            raise ConfigError(f"ASTROFIN_MPESA_TOKEN must be at least {TOKEN_MIN_LENGTH} letters, digits, '-' or "
                              "'_' (it is part of a URL; e.g. the output of: openssl rand -hex 24)")

    def source_allowed(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return not self.allowed_sources or any(address in network for network in self.allowed_sources)

    def trusted_proxy(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in self.trusted_proxies)

    def masked(self) -> dict[str, Any]:
        """What the service prints when it starts: the token never appears."""
        return {
            "user": self.user,
            "allowed_sources": [str(n) for n in self.allowed_sources] or "any",
            "trusted_proxies": [str(n) for n in self.trusted_proxies],
            "max_body_bytes": self.max_body_bytes,
            "concurrency": self.concurrency,
        }


def daraja_settings(settings: Settings | None = None, **overrides: Any) -> DarajaSettings:
    """DarajaSettings from the configuration's `mpesa` section (defaults for anything missing), then overrides."""
    raw: dict[str, Any] = dict(settings.mpesa) if settings is not None else {}
    values: dict[str, Any] = {"callback_token": str(raw.get("callback_token") or "").strip()}
    if str(raw.get("user") or "").strip():
        values["user"] = str(raw["user"]).strip()
    if "allowed_sources" in raw:
        values["allowed_sources"] = _networks(raw["allowed_sources"], "allowed_sources")
    if "trusted_proxies" in raw:
        values["trusted_proxies"] = _networks(raw["trusted_proxies"], "trusted_proxies")
    if str(raw.get("max_body_bytes") or "").strip():
        values["max_body_bytes"] = _whole(raw["max_body_bytes"], "max_body_bytes", minimum=1024)
    if str(raw.get("concurrency") or "").strip():
        values["concurrency"] = _whole(raw["concurrency"], "concurrency", minimum=1)
    if str(raw.get("sweep_seconds") or "").strip():
        values["sweep_seconds"] = float(_whole(raw["sweep_seconds"], "sweep_seconds", minimum=0))
    values.update(overrides)
    return DarajaSettings(**values)
