"""The key footer every screen shows."""

from __future__ import annotations

from textual import events
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeysFooter(Footer):
    """Textual's footer, with two changes.

    It shows only whole keys: where the width runs out, the keys that would be cut are left out (they still
    work, and home and the palette list every screen) instead of ending in half a word such as `F4 Over`.

    And without its leak: it rebuilds its keys on every bindings refresh, and each key's
    `data_bind(compact=…)` leaves a watcher on the footer that is pruned only when `compact` changes, which
    keeps every removed key (and its styles) alive. After a rebuild the watchers of removed keys go."""

    async def recompose(self) -> None:
        await super().recompose()
        for watchers in getattr(self, "__watchers", {}).values():
            watchers[:] = [(node, callback) for node, callback in watchers if not node._closing]
        self.fit_keys()

    def on_resize(self, event: events.Resize) -> None:
        self.fit_keys()

    def _width(self, key: Widget) -> int:
        content = key.get_content_width(self.size, self.app.size)
        return content + key.styles.gutter.width + key.styles.margin.width

    def fit_keys(self) -> None:
        """Show the keys, in order, while they fit whole beside the palette key; leave out the rest."""
        keys = list(self.query_children(FooterKey))
        docked = [key for key in keys if key.has_class("-command-palette")]
        room = self.size.width - sum(self._width(key) for key in docked)
        used = 0
        full = False
        for key in keys:
            if key in docked:
                continue
            width = self._width(key)
            fits = not full and used + width <= room
            key.display = fits
            if fits:
                used += width
            else:
                full = True

    @property
    def shown_keys(self) -> list[tuple[str, str]]:
        """(key, word) of every key on show, left to right (the palette key last)."""
        return [(key.key_display, key.description) for key in self.query_children(FooterKey) if key.display]
