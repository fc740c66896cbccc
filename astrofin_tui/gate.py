"""The gate: whether the signed-in person may open a screen, and the record of every refusal."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from db.engine import Actor
from db.paths import log_dir
from db.permissions import SCREENS_BY_NAME, ScreenSpec, may_open, screens_for

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def default_access_log() -> Path:
    return log_dir() / "access.log"


@runtime_checkable
class Navigator(Protocol):
    """What the command palette needs of the app."""

    def permitted_screens(self) -> tuple[ScreenSpec, ...]: ...

    def open_screen(self, name: str, *, via: str = "call") -> bool: ...


class Gate:
    def __init__(self, access_log: Path | None = None) -> None:
        self.access_log = access_log or default_access_log()

    @staticmethod
    def permits(actor: Actor | None, name: str) -> bool:
        return actor is not None and may_open(actor.role, name)

    @staticmethod
    def permitted(actor: Actor | None) -> tuple[ScreenSpec, ...]:
        return screens_for(actor.role) if actor is not None else ()

    @staticmethod
    def title(name: str) -> str:
        spec = SCREENS_BY_NAME.get(name)
        return spec.title if spec else name

    def record_refusal(self, actor: Actor | None, name: str, via: str, when: datetime | None = None) -> None:
        """Append one line: time, username, role, screen and how it was asked for."""
        stamp = (when or datetime.now()).astimezone().isoformat(timespec="seconds")
        user = actor.username if actor else "-"
        role = actor.role if actor else "-"
        fields = (stamp, "refused", f"user={_clean(user)}", f"role={_clean(role)}", f"screen={_clean(name)}",
                  f"via={_clean(via)}")
        self.access_log.parent.mkdir(parents=True, exist_ok=True)
        with self.access_log.open("a", encoding="utf-8") as log:
            log.write(" ".join(fields) + "\n")


def _clean(value: str) -> str:
    """One word, whatever a caller passed: the log stays one line per refusal and cannot be forged."""
    return _UNSAFE.sub("?", value)[:60] or "?"
