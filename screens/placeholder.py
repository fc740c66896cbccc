"""A screen whose work comes in a later release: it says what it will hold. The gate already guards it."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Header, Static

from db.permissions import ScreenSpec
from screens.base import BackScreen
from widgets.footer import KeysFooter


class PlaceholderScreen(BackScreen):
    CSS_PATH = "placeholder.tcss"

    def __init__(self, spec: ScreenSpec) -> None:
        super().__init__()
        self.spec = spec
        self.screen_name = spec.name
        self.sub_title = spec.title

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="placeholder"):
            yield Static(f"[b]{escape(self.spec.title)}[/b] — coming in the next release", id="placeholder-title")
            yield Static(escape(self.spec.description), id="placeholder-what")
            yield Static("Press escape to go back.", id="placeholder-back")
        yield KeysFooter()
