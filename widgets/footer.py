"""The key footer every screen shows."""

from __future__ import annotations

from textual.widgets import Footer


class KeysFooter(Footer):
    """Textual's footer, without its leak: it rebuilds its keys on every bindings refresh, and each key's
    `data_bind(compact=…)` leaves a watcher on the footer that is pruned only when `compact` changes, which
    keeps every removed key (and its styles) alive. After a rebuild the watchers of removed keys go."""

    async def recompose(self) -> None:
        await super().recompose()
        for watchers in getattr(self, "__watchers", {}).values():
            watchers[:] = [(node, callback) for node, callback in watchers if not node._closing]
