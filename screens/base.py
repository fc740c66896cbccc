"""The base of every screen opened from home: `escape` goes back."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen


class BackScreen(Screen[None]):
    """A screen above home; `escape` returns to the one beneath."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    screen_name: str = ""
    """The gate's name for the screen (db.permissions.SCREENS), so the app knows what is open."""

    def action_back(self) -> None:
        self.dismiss()
