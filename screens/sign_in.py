"""Sign in: username and password; the check runs in a worker and the screen says it is checking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.markup import escape
from sqlalchemy import Engine
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Header, Input, Label, Static

from db.engine import Actor
from db.permissions import role_label
from db.repositories.auth import authenticate
from screens.data import DatabaseCalls, describe
from widgets.footer import KeysFooter
from widgets.status import ConnectionBanner, StatusLine

CHECKING = "Checking your password…"
UNREACHABLE = "Cannot reach the database. Check the connection and try again."


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str


class SignInScreen(DatabaseCalls):
    CSS_PATH = "sign_in.tcss"
    SUB_TITLE = "Sign in"
    AUTO_FOCUS = "#username"

    class SignedIn(Message):
        """Posted (from the worker) when the password was right."""

        def __init__(self, actor: Actor) -> None:
            super().__init__()
            self.actor = actor

    def __init__(self, engine: Engine, demo_accounts: Sequence[DemoAccount] = ()) -> None:
        super().__init__()
        self._engine = engine
        self._demo_accounts = tuple(demo_accounts)
        self._checking = False

    @property
    def db_engine(self) -> Any:
        return self._engine

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        with Vertical(id="sign-in-form") as form:
            form.border_title = "Sign in to AstroFinance"
            with Horizontal(classes="field"):
                yield Label("Username", classes="field-label")
                yield Input(id="username", max_length=50, compact=True, placeholder="your username")
            with Horizontal(classes="field"):
                yield Label("Password", classes="field-label")
                yield Input(id="password", password=True, max_length=1024, compact=True)
            with Horizontal(classes="field"):
                yield Label("", classes="field-label")
                yield Button("Sign in", id="sign-in", variant="primary", compact=True)
            yield StatusLine("", id="sign-in-status")
        if self._demo_accounts:
            yield Static(self._demo_text(), id="demo-accounts")
        yield KeysFooter()

    def _demo_text(self) -> str:
        lines = ["[b]Demo database[/b] — password is [i]<username>-demo[/i]"]
        for account in self._demo_accounts:
            lines.append(f"  {escape(account.username):<12}{escape(role_label(account.role))}")
        return "\n".join(lines)

    @on(Input.Submitted, "#username")
    def _next_field(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#sign-in")
    def submit(self) -> None:
        if self._checking:
            return  # a second enter while the first check runs counts once
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not username:
            self._show_error("Enter your username.")
            self.query_one("#username", Input).focus()
            return
        if not password:
            self._show_error("Enter your password.")
            self.query_one("#password", Input).focus()
            return
        self._checking = True
        self._status(CHECKING, error=False)
        self._check(username, password)

    def _check(self, username: str, password: str) -> None:
        engine = self._engine
        self.start("sign-in", lambda: authenticate(engine, username, password), working=None)

    def done(self, tag: str, result: Any) -> None:
        self._checking = False
        self._status(f"Signed in as {result.username}.", error=False)
        self.post_message(self.SignedIn(result))  # bubbles on to the app, which opens home

    def failed(self, tag: str, error: BaseException) -> None:
        self.start_over(describe(error))

    def _connection_lost(self, tag: str, job: Any, error: BaseException) -> None:
        # Nothing to retry by itself: a password is never kept for a later try. Say so, keep the username.
        super()._connection_lost(tag, None, error)
        self.start_over(UNREACHABLE)

    def start_over(self, reason: str) -> None:
        """Back at the form after a step that did not sign the person in: the password is typed again."""
        self._checking = False
        self._show_error(reason)
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()

    def _show_error(self, text: str) -> None:
        self._status(text, error=True)

    def _status(self, text: str, *, error: bool) -> None:
        self.status.say(text, kind="error" if error else "")
