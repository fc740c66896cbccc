"""The idle lock: after a quiet spell the session asks for the password again; the work underneath stays."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from sqlalchemy import Engine
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from db.engine import Actor
from db.repositories.auth import authenticate
from screens.data import DatabaseCalls, describe
from widgets.fields import FieldRow
from widgets.footer import KeysFooter
from widgets.status import ConnectionBanner, StatusLine


class LockScreen(DatabaseCalls, ModalScreen[bool]):
    """Covers the screen (nothing of it shows) until the signed-in person types their password."""

    CSS_PATH = "lock.tcss"
    AUTO_FOCUS = "#unlock-password"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+o", "app.sign_out", "Sign out", priority=True)]

    def __init__(self, engine: Engine, actor: Actor) -> None:
        super().__init__()
        self._engine = engine
        self.actor = actor
        self._checking = False

    @property
    def db_engine(self) -> Any:
        return self._engine

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
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

    def _check(self, password: str) -> None:
        engine, username = self._engine, self.actor.username
        self.start("unlock", lambda: authenticate(engine, username, password), working=None, retry="ask")

    def done(self, tag: str, result: Any) -> None:
        self._checking = False
        if result.user_id == self.actor.user_id:
            self.dismiss(True)
        else:
            self._refused("Wrong password.")

    def failed(self, tag: str, error: BaseException) -> None:
        self._checking = False
        self._refused(describe(error))

    def _connection_lost(self, tag: str, job: Any, error: BaseException) -> None:
        self._checking = False
        super()._connection_lost(tag, None, error)  # a password is never kept to be tried again later
        self._refused("Cannot reach the database to check the password; try again.")

    def _refused(self, reason: str) -> None:
        field = self.query_one("#unlock-password", Input)
        field.value = ""
        field.focus()
        self.query_one("#lock-status", StatusLine).clear()
        self.query_one(FieldRow).error(reason)
