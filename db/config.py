"""Effective configuration: the shipped database.config.json, a user file over it, environment variables in both.

Values are written as `${VAR:-default}`; the environment wins, then the user file in the platformdirs
config folder (key by key), then the shipped file. `ASTROFIN_ENV` picks the connection section.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.paths import user_config_file

SHIPPED_CONFIG = Path(__file__).with_name("database.config.json")
ENVIRONMENTS = ("development", "test", "production")
_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")
_TRUE = {"1", "true", "yes", "on"}
SESSION_ATTRS = ("any", "read-write", "primary")
"""libpq's target_session_attrs the application may ask for: it writes, so never a standby's."""
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A configuration a person must fix; the message says what and where."""


def _expand(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _expand(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item, env) for item in value]
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
    return value


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return data


def _flag(raw: str, name: str) -> bool:
    lowered = str(raw).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(raw: str, name: str) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative")
    return value


@dataclass(frozen=True)
class ConnectionSettings:
    environment: str
    host: str
    port: int
    database: str
    user: str
    password: str
    pool_size: int
    ssl: bool
    ports: tuple[int, ...] = ()
    """One port per host when `host` names several servers ("h1,h2,h3"); empty for one server."""
    target_session_attrs: str = ""
    """libpq's target_session_attrs ('' = libpq's default, any server); read-write when several hosts are named."""
    connect_timeout: int = 0
    """Seconds libpq waits for each host before it tries the next (0 = no limit; libpq's minimum is 2)."""

    @property
    def endpoints(self) -> list[tuple[str, int]]:
        """Every (host, port) the connection may use, in the order libpq tries them."""
        if not self.ports:
            return [(self.host, self.port)] if self.host else []
        return list(zip(self.host.split(","), self.ports, strict=True))

    @property
    def embedded(self) -> bool:
        """Only development with no host falls back to the embedded server."""
        return self.environment == "development" and not self.host


@dataclass(frozen=True)
class Settings:
    connection: ConnectionSettings
    backup: dict[str, Any]
    monitoring: dict[str, Any]
    maintenance: dict[str, Any]
    sms: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    read_replica: dict[str, Any] = field(default_factory=dict)
    """The `read_replica` section: a read-only server for search, reports and the overdue queue."""
    mpesa: dict[str, Any] = field(default_factory=dict)
    """The `mpesa` section: the Daraja callback service (db/mpesa/daraja_settings.py reads it)."""

    @property
    def read_connection(self) -> ConnectionSettings | None:
        """The replica's connection (unset fields taken from the primary's), or None when no host is set."""
        section = self.read_replica
        host = str(section.get("host") or "").strip()
        if not host:
            return None
        primary = self.connection
        return ConnectionSettings(
            environment=primary.environment,
            host=host,
            port=_int(str(section.get("port") or primary.port), "DB_READ_PORT"),
            database=str(section.get("database") or primary.database),
            user=str(section.get("user") or primary.user),
            password=str(section.get("password") or primary.password),
            pool_size=primary.pool_size,
            ssl=_flag(section.get("ssl") or str(primary.ssl), "DB_READ_SSL"),
            connect_timeout=primary.connect_timeout,
        )

    @property
    def read_retry_seconds(self) -> int:
        return _int(self.read_replica.get("retry_after_seconds") or "30", "DB_READ_RETRY_AFTER")

    @property
    def slow_query_ms(self) -> int:
        return _int(self.monitoring.get("slow_query_threshold", "500"), "SLOW_QUERY_THRESHOLD")

    @property
    def log_queries(self) -> bool:
        return _flag(self.monitoring.get("log_queries", "false"), "LOG_QUERIES")

    @property
    def log_query_params(self) -> bool:
        return _flag(self.monitoring.get("log_query_params", "false"), "LOG_QUERY_PARAMS")

    @property
    def backup_before_maintenance(self) -> bool:
        return _flag(self.maintenance.get("backup_before_maintenance", "true"), "BACKUP_BEFORE_MAINTENANCE")

    def masked(self) -> dict[str, Any]:
        """Everything `config show` prints; the password never appears."""
        conn = self.connection
        return {
            "environment": conn.environment,
            "sources": self.sources,
            "connection": {
                "host": conn.host or "(embedded server)",
                "port": ",".join(str(port) for port in conn.ports) if conn.ports else conn.port,
                "target_session_attrs": conn.target_session_attrs or "(libpq default)",
                "connect_timeout": conn.connect_timeout,
                "database": conn.database,
                "user": conn.user,
                "password": "********" if conn.password else "(not set)",
                "pool_size": conn.pool_size,
                "ssl": conn.ssl,
            },
            "backup": self.backup,
            "monitoring": self.monitoring,
            "maintenance": self.maintenance,
            "sms": self.sms,
            "read_replica": {**self.read_replica, "password": "********"}
            if self.read_replica.get("password") else self.read_replica,
            "mpesa": {**self.mpesa, "callback_token": "********"}
            if self.mpesa.get("callback_token") else self.mpesa,
        }


def _holds_password(raw: Any) -> bool:
    """Whether a configuration holds a literal password (not only a ${VAR} placeholder for one)."""
    if isinstance(raw, dict):
        for key, value in raw.items():
            if "password" in str(key).lower() and isinstance(value, str) and value.strip():
                if _PLACEHOLDER.sub(lambda m: m.group(2) or "", value).strip():
                    return True
            elif _holds_password(value):
                return True
    return False


def insecure_config_warning(user_file: Path | None = None) -> str | None:
    """One line to show at start when the user's configuration file holds a password and others may read it.

    The file itself is left as it is: the warning says how to fix it.
    """
    path = user_config_file() if user_file is None else user_file
    try:
        mode = path.stat().st_mode
        if not mode & 0o077:
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not _holds_password(raw):
        return None
    return (f"astrofin: warning: {path} holds a database password and is readable by "
            f"{'group and others' if mode & 0o007 and mode & 0o070 else 'others' if mode & 0o007 else 'its group'}"
            f"; run: chmod 600 {path}")


def _port(raw: str, name: str) -> int:
    port = _int(raw, name)
    if not 0 < port < 65536:
        raise ConfigError(f"{name} must be between 1 and 65535, not {port}")
    return port


def _endpoints(host: str, port: str) -> tuple[list[str], list[int]]:
    """The host names and one port for each, from `host` ("h1,h2,h3" or "h1:p1,h2:p2") and `port` (one port for
    every host, or "p1,p2,p3"): libpq's multi-host form. No host (the embedded server) gives one port."""
    ports = [_port(item, "port") for item in port.split(",")]
    if not host.strip():
        return [], ports[:1]
    names = [item.strip() for item in host.split(",")]
    if any(not name for name in names):
        raise ConfigError(f"host {host!r} has an empty name between its commas")
    if len(ports) not in (1, len(names)):
        raise ConfigError(f"port lists {len(ports)} ports for {len(names)} hosts; give one port for all or one "
                          "for each host")
    hosts, chosen = [], []
    for index, name in enumerate(names):
        own = None
        # "name:port" (an IPv6 address has several colons and a socket folder starts with '/': neither is split)
        if name.count(":") == 1 and not name.startswith("/"):
            name, own = name.split(":")
            if not name:
                raise ConfigError(f"host {host!r} has a port without a host name")
        hosts.append(name)
        chosen.append(_port(own, "host's port") if own is not None else ports[index if len(ports) > 1 else 0])
    return hosts, chosen


def _session_attrs(raw: str, hosts: int) -> str:
    value = raw.strip().lower()
    if not value:
        # Several servers: the first that accepts writes (the primary), not the first that answers.
        return "read-write" if hosts > 1 else ""
    if value not in SESSION_ATTRS:
        raise ConfigError(f"target_session_attrs must be read-write, primary or any (the application writes), "
                          f"not {raw!r}")
    return value


def load_settings(env: dict[str, str] | None = None, user_file: Path | None = None) -> Settings:
    """Read the effective settings for the environment named by ASTROFIN_ENV (development by default)."""
    env = dict(os.environ if env is None else env)
    environment = (env.get("ASTROFIN_ENV") or "development").strip().lower()
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"ASTROFIN_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
    raw = _read_json(SHIPPED_CONFIG)
    sources = [str(SHIPPED_CONFIG)]
    user_file = user_config_file() if user_file is None else user_file
    if user_file.exists():
        raw = _merge(raw, _read_json(user_file))
        sources.append(str(user_file))
    expanded = _expand(raw, env)
    section = expanded.get(environment)
    if not isinstance(section, dict):
        raise ConfigError(f"the configuration has no {environment!r} section")
    hosts, ports = _endpoints(str(section.get("host") or ""), str(section.get("port") or "5432"))
    connection = ConnectionSettings(
        environment=environment,
        host=",".join(hosts),
        port=ports[0],
        database=str(section.get("database") or "astrofinance"),
        user=str(section.get("user") or "postgres"),
        password=str(section.get("password") or ""),
        pool_size=_int(section.get("pool_size", "5"), "pool_size"),
        ssl=_flag(section.get("ssl", "false"), "ssl"),
        ports=tuple(ports) if len(hosts) > 1 else (),
        target_session_attrs=_session_attrs(str(section.get("target_session_attrs") or ""), len(hosts)),
        connect_timeout=_int(section.get("connect_timeout") or "0", "connect_timeout"),
    )
    return Settings(
        connection=connection,
        backup=dict(expanded.get("backup") or {}),
        monitoring=dict(expanded.get("monitoring") or {}),
        maintenance=dict(expanded.get("maintenance") or {}),
        sms=dict(expanded.get("sms") or {}),
        sources=sources,
        read_replica=dict(expanded.get("read_replica") or {}),
        mpesa=dict(expanded.get("mpesa") or {}),
    )
