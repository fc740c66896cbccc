"""What a screen opened after sign-in is given: the engine, who is signed in, the clock and the currency;
for the admin's backup, restore and maintenance also the server target and the settings, when known."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from db.config import Settings
from db.engine import Actor
from db.permissions import can
from db.target import Target


@dataclass(frozen=True)
class ScreenContext:
    engine: Engine
    actor: Actor
    today: Callable[[], date]
    currency: str = "KES"
    target: Target | None = None
    """The server and database the app runs on, with its client tools (backup, restore, maintenance)."""
    settings: Settings | None = None
    """The effective configuration (backup folder and retention, maintenance switches)."""

    def can(self, capability: str) -> bool:
        """Whether the signed-in role holds a capability (to show or hide an action on a screen)."""
        return can(self.actor.role, capability)
