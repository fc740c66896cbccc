"""Dialogs about tills: a cashier (or supervisor) opens one of the branch's free tills with a float from the
vault, a loan officer a field session for a meeting's cash (its float may be 0); a supervisor adds a till to the
branch. Each reads and writes through the one database path, checks
what was typed first and shows each message beside its field."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from db.errors import ValidationError
from db.permissions import RECORD_PAYMENTS
from db.repositories.tills import Till, TillRepository, TillSession
from screens.context import ScreenContext
from screens.data import ASK, DatabaseCalls
from widgets.fields import FieldRow
from widgets.money import MoneyError, format_money, parse_money
from widgets.status import ConnectionBanner, StatusLine

KEYS = "enter or ctrl+s saves · escape closes"
TILL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,9}$")
FIELDS = {"till_id": "till", "opening_float": "float"}
"""The repository's names of the fields it refuses, as the dialogs name them (`code` and `name` in both)."""


class TillDialog(DatabaseCalls, ModalScreen[object]):
    """What the till dialogs share: the repository, a save key, escape, refusals beside their fields."""

    CSS_PATH = "till_dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Close"),
                                             Binding("ctrl+s", "save", "Save")]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__()
        self.ctx = context

    @property
    def repo(self) -> TillRepository:
        return TillRepository(self.ctx.engine, self.ctx.actor)

    def failed(self, tag: str, error: BaseException) -> None:
        if isinstance(error, ValidationError):
            self.show_field_errors({FIELDS.get(name, name): message for name, message in error.fields.items()})
        else:
            super().failed(tag, error)

    def action_save(self) -> None:
        """Dialogs check, then write."""

    def action_cancel(self) -> None:
        self.dismiss(None)


class OpenTillDialog(TillDialog):
    """Pick one of the branch's active tills nobody holds, type the float counted out of the vault."""

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self.tills: list[Till] = []
        self.vault: Decimal | None = None

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        with Vertical(id="dialog-box") as box:
            box.border_title = "Open a till"
            yield FieldRow("Till", Select([], id="open-till", compact=True, prompt="choose a till"), name="till")
            yield FieldRow("Float", Input(id="open-float", max_length=24, compact=True, placeholder="e.g. 5,000"),
                           name="float")
            yield Static("", id="open-vault")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Open till", id="open-save", variant="primary", compact=True)
            yield StatusLine("Reading the tills…", id="status")

    def on_mount(self) -> None:
        # The first free till is chosen for the cashier: the float is what they type first (shift+tab goes back to the
        # till). Keys typed ahead wait for the tills to be read.
        self.query_one("#open-float", Input).focus()
        repo = self.repo
        if not self.ctx.can(RECORD_PAYMENTS):
            # A loan officer's field session: the vault is the counter's to read, and a float of 0 will do.
            self.query_one("#open-float", Input).value = "0"
            self.start("tills", lambda: (repo.tills(), None), working="Reading the tills…", on_done=self._tills_read)
            return
        self.start("tills", lambda: (repo.tills(), repo.vault_balance()), working="Reading the tills…",
                   on_done=self._tills_read)

    def _tills_read(self, answer: tuple[list[Till], Decimal | None]) -> None:
        tills, self.vault = answer
        self.tills = [t for t in tills if t.is_active and t.held_by is None and t.open_session_id is None]
        picker = self.query_one("#open-till", Select)
        picker.set_options([(f"{t.code} · {t.name}", t.id) for t in self.tills])
        if self.tills:
            picker.value = self.tills[0].id
        self.query_one("#open-vault", Static).update(
            "A field session for a meeting's cash: its float may be 0." if self.vault is None else
            f"The vault holds {escape(format_money(self.vault, self.ctx.currency))}.")
        if not self.tills:
            held = [t for t in tills if t.is_active and t.held_by]
            self.status.say("Every active till of the branch is held: " + ", ".join(
                f"{t.code} by {t.held_by}" for t in held) if held else
                "The branch has no active till: a supervisor adds one in the till overview.", kind="error")
        else:
            self.status.say(KEYS)

    @on(Select.Changed, "#open-till")
    def _picked(self) -> None:
        self.query_one("#field-till", FieldRow).error(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#open-save")
    def action_save(self) -> None:
        if self.busy("open") or self.busy("tills"):
            return
        errors: dict[str, str] = {}
        value = self.query_one("#open-till", Select).value
        till = next((t for t in self.tills if t.id == value), None)
        if till is None:
            errors["till"] = "choose one of the branch's free tills"
        amount = None
        try:
            amount = parse_money(self.query_one("#open-float", Input).value, allow_zero=True)
        except MoneyError as exc:
            errors["float"] = ("type the float counted out of the vault, e.g. 5,000"
                               if not self.query_one("#open-float", Input).value.strip() else str(exc))
        if amount is not None and self.vault is not None and amount > self.vault:
            errors["float"] = f"the vault holds only {format_money(self.vault, self.ctx.currency)}"
        self.show_field_errors(errors)
        if errors or till is None or amount is None:
            return
        repo, till_id, opening = self.repo, till.id, amount
        # Opening twice is refused by the database (one open session per till and cashier): never run again
        # by itself after a lost connection.
        self.start("open", lambda: repo.open(till_id, opening), retry=ASK, working="Opening the till…",
                   on_done=self._opened)

    def _opened(self, session: TillSession) -> None:
        self.dismiss(session)


class NewTillDialog(TillDialog):
    """A new till of the branch: a short code (T3) and a name (Counter 3)."""

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        with Vertical(id="dialog-box") as box:
            box.border_title = "New till"
            yield FieldRow("Code", Input(id="till-code", max_length=10, compact=True, placeholder="e.g. T3"),
                           name="code")
            yield FieldRow("Name", Input(id="till-name", max_length=100, compact=True, placeholder="e.g. Counter 3"),
                           name="name")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add till", id="till-save", variant="primary", compact=True)
            yield StatusLine(KEYS, id="status")

    def on_mount(self) -> None:
        self.query_one("#till-code", Input).focus()

    @on(Input.Submitted, "#till-code")
    def _next(self) -> None:
        self.query_one("#till-name", Input).focus()

    @on(Input.Submitted, "#till-name")
    @on(Button.Pressed, "#till-save")
    def action_save(self) -> None:
        if self.busy("save"):
            return
        code = self.query_one("#till-code", Input).value.strip()
        name = self.query_one("#till-name", Input).value.strip()
        errors: dict[str, str] = {}
        if not TILL_CODE.match(code):
            errors["code"] = "a code has 1 to 10 letters or digits (and - or _), e.g. T3"
        if not name:
            errors["name"] = "name the till, e.g. Counter 3"
        self.show_field_errors(errors)
        if errors:
            return
        repo = self.repo
        self.start("save", lambda: repo.create_till(code, name), retry=ASK, working="Adding the till…",
                   on_done=self._saved)

    def _saved(self, till: Till) -> None:
        self.dismiss(till)
