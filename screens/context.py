"""What a screen opened after sign-in is given: the engine, who is signed in, the clock and the currency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from db.engine import Actor
from db.permissions import can


@dataclass(frozen=True)
class ScreenContext:
    engine: Engine
    actor: Actor
    today: Callable[[], date]
    currency: str = "KES"

    def can(self, capability: str) -> bool:
        """Whether the signed-in role holds a capability (to show or hide an action on a screen)."""
        return can(self.actor.role, capability)
