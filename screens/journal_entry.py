"""A manual journal entry, as an accountant posts one: a date, a description and two or more lines, each an
account with a debit or a credit. Totals follow as lines are added; the entry posts only when it balances,
and once posted it is never edited (a mistake is undone by the mirrored entry, from the journal).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from db.errors import ValidationError
from db.repositories.accounting import AccountingRepository, ManualLine
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import DatabaseCalls
from widgets.dates import DateError, format_date, parse_date
from widgets.fields import FieldRow, MoneyInput
from widgets.money import MoneyError, format_money, parse_money
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable

ZERO = Decimal("0.00")
LINE_FIELDS = ("line-account", "line-debit", "line-credit", "line-memo")


def line_problem(account: str, debit_text: str, credit_text: str) -> tuple[str, str] | None:
    """(field, message) for a line that cannot be added, or None."""
    if not account.strip():
        return "line", "type the account code, e.g. 1000"
    amounts: list[Decimal] = []
    for raw in (debit_text, credit_text):
        if not raw.strip():
            amounts.append(ZERO)
            continue
        try:
            amounts.append(parse_money(raw))
        except MoneyError as exc:
            return "line", str(exc)
    debit, credit = amounts
    if (debit > 0) == (credit > 0):
        return "line", "a line has a debit or a credit, not both and not neither"
    return None


class ManualEntryScreen(DatabaseCalls, ModalScreen[int | None]):
    """Answers the new entry's id, or None when the accountant leaves without posting."""

    CSS_PATH = "journal_entry.tcss"
    AUTO_FOCUS = "#entry-date"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "post", "Post entry", priority=True),
        Binding("escape", "leave", "Back", priority=True),
        Binding("delete", "drop_line", "Remove line"),
    ]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__()
        self.ctx = context
        self.lines: list[ManualLine] = []
        self._posting = False

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        with Vertical(id="entry") as box:
            box.border_title = "New journal entry"
            yield FieldRow("Date", Input(format_date(self.ctx.today()), id="entry-date", max_length=20,
                                         compact=True), name="entry_date")
            yield FieldRow("Description", Input(id="entry-description", max_length=500, compact=True),
                           name="description")
            with Horizontal(id="line-inputs"):
                yield Input(id="line-account", placeholder="account", max_length=20, compact=True)
                yield MoneyInput(id="line-debit", placeholder="debit")
                yield MoneyInput(id="line-credit", placeholder="credit")
                yield Input(id="line-memo", placeholder="memo (enter adds the line)", max_length=200,
                            compact=True)
            yield FieldRow("", Static("", id="line-problem"), name="line")
            yield FieldRow("Lines", Static("", id="lines-note"), name="lines")
            yield PageTable(("#", "Account", "Debit", "Credit", "Memo"), id="entry-lines")
            yield Static("", id="entry-totals")
            yield StatusLine("enter moves on · enter in memo adds the line · ctrl+s posts · delete removes a "
                             "line", id="status")

    def on_mount(self) -> None:
        self._show_lines()

    # --- typing --------------------------------------------------------------------------------------

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.input.id or ""
        if name == "entry-date":
            self.query_one("#entry-description", Input).focus()
        elif name == "entry-description":
            self.query_one("#line-account", Input).focus()
        elif name in LINE_FIELDS[:-1]:
            self.query_one(f"#{LINE_FIELDS[LINE_FIELDS.index(name) + 1]}", Input).focus()
        elif name == "line-memo":
            self._add_line()

    def _add_line(self) -> None:
        values = {name: self.query_one(f"#{name}", Input).value for name in LINE_FIELDS}
        problem = line_problem(values["line-account"], values["line-debit"], values["line-credit"])
        if problem is not None:
            self.show_field_errors({problem[0]: problem[1]})
            self.query_one("#line-account", Input).focus()
            return
        debit = parse_money(values["line-debit"]) if values["line-debit"].strip() else ZERO
        credit = parse_money(values["line-credit"]) if values["line-credit"].strip() else ZERO
        self.lines.append(ManualLine(values["line-account"].strip(), debit, credit, values["line-memo"].strip()))
        for name in LINE_FIELDS:
            self.query_one(f"#{name}", Input).value = ""
        self.show_field_errors({})
        self._show_lines()
        self.query_one("#line-account", Input).focus()

    def action_drop_line(self) -> None:
        table = self.query_one("#entry-lines", PageTable)
        if self.focused is table and self.lines and table.row_count:
            del self.lines[table.cursor_row]
            self._show_lines()

    def totals(self) -> tuple[Decimal, Decimal]:
        return (sum((line.debit for line in self.lines), ZERO), sum((line.credit for line in self.lines), ZERO))

    def _show_lines(self) -> None:
        table = self.query_one("#entry-lines", PageTable)
        table.fill((str(number), (str(number), line.account_code, line.debit or "", line.credit or "", line.memo))
                   for number, line in enumerate(self.lines, start=1))
        debits, credits = self.totals()
        difference = debits - credits
        balance = "balanced" if difference == 0 and self.lines else (
            f"off by {format_money(abs(difference))}" if self.lines else "no lines yet")
        self.query_one("#entry-totals", Static).update(
            f"Debits {format_money(debits)} · Credits {format_money(credits)} · {balance}")
        self.query_one("#lines-note", Static).update(f"{len(self.lines)} line(s)")

    # --- posting -------------------------------------------------------------------------------------

    def action_post(self) -> None:
        if self._posting:
            return
        errors: dict[str, str] = {}
        day: date | None = None
        try:
            day = parse_date(self.query_one("#entry-date", Input).value, latest=self.ctx.today())
        except DateError as exc:
            errors["entry_date"] = str(exc)
        description = self.query_one("#entry-description", Input).value.strip()
        if not description:
            errors["description"] = "say what the entry is for"
        debits, credits = self.totals()
        if len(self.lines) < 2:
            errors["lines"] = "an entry has at least two lines"
        elif debits != credits:
            errors["lines"] = f"debits and credits differ by {format_money(abs(debits - credits))}"
        self.show_field_errors(errors)
        if errors or day is None:
            return
        self._posting = True
        repo, lines = AccountingRepository(self.ctx.engine, self.ctx.actor), tuple(self.lines)
        self.start("post", lambda: repo.post_manual_entry(day, description, lines), working="posting…",
                   retry="ask")

    def done(self, tag: str, result: Any) -> None:
        self._posting = False
        self.dismiss(int(result))

    def failed(self, tag: str, error: BaseException) -> None:
        self._posting = False
        if isinstance(error, ValidationError):
            self.show_field_errors(error.fields)
        else:
            super().failed(tag, error)

    def _connection_lost(self, tag: str, job: Any, error: BaseException) -> None:
        self._posting = False
        super()._connection_lost(tag, job, error)

    def action_leave(self) -> None:
        typed = self.lines or self.query_one("#entry-description", Input).value.strip()
        if not typed:
            self.dismiss(None)
            return

        def answer(leave: bool | None) -> None:
            if leave:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen("Leave this entry?", ["The lines typed so far are not posted."],
                                           question="Leave without posting?"), answer)
