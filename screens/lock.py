"""The idle lock: after a quiet spell the session asks for the password again; the work underneath stays."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from sqlalchemy import Engine
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from db.engine import Actor
from db.errors import AstrofinError
from db.repositories.auth import authenticate
from widgets.fields import FieldRow
from widgets.footer import KeysFooter
from widgets.status import StatusLine


class LockScreen(ModalScreen[bool]):
    """Covers the screen (nothing of it shows) until the signed-in person types their password."""

    CSS_PATH = "lock.tcss"
    AUTO_FOCUS = "#unlock-password"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+o", "app.sign_out", "Sign out", priority=True)]

    class Checked(Message):
        def __init__(self, ok: bool, reason: str = "") -> None:
            super().__init__()
            self.ok = ok
            self.reason = reason

    def __init__(self, engine: Engine, actor: Actor) -> None:
        super().__init__()
        self._engine = engine
        self.actor = actor
        self._checking = False

    def compose(self) -> ComposeResult:
        with Vertical(id="lock") as box:
            box.border_title = "Locked"
            yield Static(f"The session of [b]{escape(self.actor.full_name or self.actor.username)}[/b] "
                         "locked after a quiet spell. Your work is kept.", id="lock-who")
            yield FieldRow("Password", Input(id="unlock-password", password=True, max_length=1024, compact=True),
                           name="password")
            yield StatusLine("enter unlocks · ctrl+o signs out", id="lock-status")
        yield KeysFooter()

    @on(Input.Submitted, "#unlock-password")
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        if self._checking:
            return
        if not event.value:
            self.query_one(FieldRow).error("enter your password")
            return
        self._checking = True
        self.query_one("#lock-status", StatusLine).working("checking…")
        self._check(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _check(self, password: str) -> None:
        try:
            actor = authenticate(self._engine, self.actor.username, password)
        except AstrofinError as exc:
            self.post_message(self.Checked(False, str(exc)))
        except Exception:  # noqa: BLE001 - the lock stays; say why
            self.post_message(self.Checked(False, "Cannot reach the database to check the password; try again."))
        else:
            self.post_message(self.Checked(actor.user_id == self.actor.user_id, "Wrong password."))

    def on_lock_screen_checked(self, message: Checked) -> None:
        message.stop()
        self._checking = False
        if message.ok:
            self.dismiss(True)
            return
        field = self.query_one("#unlock-password", Input)
        field.value = ""
        self.query_one("#lock-status", StatusLine).clear()
        self.query_one(FieldRow).error(message.reason)
