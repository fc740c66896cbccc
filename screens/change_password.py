"""A staff member changes their own password: asked at sign-in after an administrator's reset (and then
it cannot be skipped: escape signs out), or chosen from the palette ("Change my password")."""

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
from db.errors import ValidationError
from db.repositories.auth import change_own_password
from screens.data import DatabaseCalls
from widgets.fields import FieldRow
from widgets.status import ConnectionBanner, StatusLine

FIELDS = ("current_password", "new_password", "confirm_password")


class ChangePasswordScreen(DatabaseCalls, ModalScreen[Actor | None]):
    """Current password, the new one twice; answers the Actor with the new state, or None when given up."""

    CSS_PATH = "change_password.tcss"
    AUTO_FOCUS = "#current_password"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "give_up", "Sign out", priority=True)]

    def __init__(self, engine: Engine, actor: Actor, *, required: bool) -> None:
        super().__init__()
        self._engine = engine
        self.actor = actor
        self.required = required
        """Asked at sign-in after a reset: escape signs out instead of going back."""
        self._saving = False

    @property
    def db_engine(self) -> Any:
        return self._engine

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        with Vertical(id="change-password") as box:
            box.border_title = "Choose a new password" if self.required else "Change my password"
            if self.required:
                yield Static(f"An administrator reset the password of [b]{escape(self.actor.username)}[/b]. "
                             "Choose your own before you go on.", id="change-why")
            for name, label in (("current_password", "Current"), ("new_password", "New"),
                                ("confirm_password", "New again")):
                yield FieldRow(label, Input(id=name, password=True, max_length=1024, compact=True), name=name)
            keys = "escape signs out" if self.required else "escape goes back"
            yield StatusLine(f"enter moves on, then saves · {keys}", id="status")

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.input.id or ""
        if name != FIELDS[-1]:
            self.query_one(f"#{FIELDS[FIELDS.index(name) + 1]}", Input).focus()
            return
        self._save()

    def _save(self) -> None:
        if self._saving:
            return
        current, new, again = (self.query_one(f"#{name}", Input).value for name in FIELDS)
        if new != again:
            self.show_field_errors({"confirm_password": "the two new passwords differ"})
            return
        self._saving = True
        engine, actor = self._engine, self.actor
        self.start("change", lambda: change_own_password(engine, actor, current, new, again),
                   working="saving the new password…", retry="ask")

    def done(self, tag: str, result: Any) -> None:
        self._saving = False
        self.dismiss(result)

    def failed(self, tag: str, error: BaseException) -> None:
        self._saving = False
        if isinstance(error, ValidationError):
            for name in ("current_password", "new_password"):
                if name in error.fields:
                    self.query_one(f"#{name}", Input).value = ""
        super().failed(tag, error)

    def _connection_lost(self, tag: str, job: Any, error: BaseException) -> None:
        self._saving = False
        super()._connection_lost(tag, job, error)

    def action_give_up(self) -> None:
        self.dismiss(None)
