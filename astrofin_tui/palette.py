"""The command palette's screens: only those the signed-in role may open."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from astrofin_tui.gate import Navigator


class ScreenCommands(Provider):
    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.app
        if not isinstance(app, Navigator):
            return []
        return [(spec.title, spec.description, partial(app.open_screen, spec.name, via="palette"))
                for spec in app.permitted_screens()]

    async def discover(self) -> Hits:
        for title, help_text, command in self._entries():
            yield DiscoveryHit(title, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, command in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), command, help=help_text)
