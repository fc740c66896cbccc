"""Confirmations: y (or enter) says yes, n or escape says no; a reason prompt for rejections and reversals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from db.validation import reason_problem
from widgets.fields import FieldRow


class ConfirmScreen(ModalScreen[bool]):
    """A question with the facts it is about; answers once, however many keys arrive."""

    CSS_PATH = "confirm.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes", priority=True),
        Binding("n,escape", "answer(False)", "No", priority=True),
    ]

    def __init__(self, title: str, lines: Sequence[str], *, question: str = "Go ahead?") -> None:
        super().__init__()
        self.title_text = title
        self.lines = tuple(lines)
        self.question = question
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = escape(self.title_text)
            yield Static("\n".join(escape(line) for line in self.lines), id="dialog-body")
            yield Static(f"[b]{escape(self.question)}[/b]  y / enter = yes · n / escape = no", id="dialog-keys")

    def action_answer(self, answer: bool) -> None:
        if self._answered:
            return
        self._answered = True
        self.dismiss(answer)


class ReasonScreen(ModalScreen[str | None]):
    """Asks why (a rejection, a write-off, a reversal); enter gives the reason, escape cancels."""

    CSS_PATH = "confirm.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", priority=True)]
    AUTO_FOCUS = "#reason"

    def __init__(self, title: str, lines: Sequence[str], *, prompt: str = "Reason") -> None:
        super().__init__()
        self.title_text = title
        self.lines = tuple(lines)
        self.prompt = prompt
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = escape(self.title_text)
            yield Static("\n".join(escape(line) for line in self.lines), id="dialog-body")
            yield FieldRow(self.prompt, Input(id="reason", max_length=500, compact=True), name="reason")
            yield Static("enter = confirm · escape = cancel", id="dialog-keys")

    @on(Input.Submitted, "#reason")
    def _submit(self) -> None:
        value = self.query_one("#reason", Input).value.strip()
        problem = reason_problem(value, "say why, in a few words")
        if problem:
            self.query_one(FieldRow).error(problem)
            return
        if not self._answered:
            self._answered = True
            self.dismiss(value)

    def action_cancel(self) -> None:
        if not self._answered:
            self._answered = True
            self.dismiss(None)
