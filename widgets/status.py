"""Static lines that say what the screen is doing: never animated, so an idle screen sends nothing."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

WORKING = "working…"


class StatusLine(Static):
    """One line under a form: `working…`, a result, or an error that concerns no single field."""

    DEFAULT_CSS = """
    StatusLine { height: auto; min-height: 1; color: $text-muted; }
    StatusLine.-error { color: $error; text-style: bold; }
    StatusLine.-ok { color: $success; }
    """

    def say(self, text: str, *, kind: str = "") -> None:
        self.update(escape(text))
        self.set_class(kind == "error", "-error")
        self.set_class(kind == "ok", "-ok")

    def working(self, what: str = WORKING) -> None:
        self.say(what)

    def clear(self) -> None:
        self.say("")

    @property
    def text(self) -> str:
        return str(self.content)


class ConnectionBanner(Static):
    """Docked at the top of a screen while the database cannot be reached; hidden otherwise."""

    DEFAULT_CSS = """
    ConnectionBanner { dock: top; height: auto; display: none; background: $error; color: $text;
                       text-style: bold; padding: 0 1; }
    ConnectionBanner.-shown { display: block; }
    ConnectionBanner.-restored { background: $success; }
    """

    def lost(self, detail: str = "") -> None:
        text = "Database connection lost — retrying; what you typed is kept."
        self.update(escape(text + (f" ({detail})" if detail else "")))
        self.remove_class("-restored")
        self.add_class("-shown")

    def restored(self, text: str) -> None:
        self.update(escape(text))
        self.add_class("-shown", "-restored")

    def hide(self) -> None:
        self.remove_class("-shown", "-restored")

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")
