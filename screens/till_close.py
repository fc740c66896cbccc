"""Closing a till: the cashier counts the drawer note by note and coin by coin, sees the counted total, the
expected cash and the difference as they type, gives a reason for any difference, confirms, and the count is
recorded. A balanced drawer goes back to the vault at once; a difference waits for a supervisor's approval.
The till sheet follows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Header, Input, Static

from db.errors import ValidationError
from db.repositories.tills import TillRepository, TillSession
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import ASK
from screens.leaving import FormScreen
from widgets.fields import FieldRow
from widgets.footer import KeysFooter
from widgets.money import format_money
from widgets.status import ConnectionBanner, StatusLine
from widgets.till_count import (
    COINS,
    DENOMINATIONS,
    NOTES,
    OTHER,
    ZERO,
    CountError,
    CountRow,
    counted_total,
    denominations_record,
    field_name,
    parse_count,
    parse_other,
)

REASON_MAX = 500
FIELDS = {"counted": OTHER, "denominations": OTHER}
"""The repository's names of the fields it refuses, as the form names them (the reason is `reason` in both)."""


def difference_words(difference: Decimal, currency: str = "") -> str:
    """'Short KES 50.00', 'Over KES 20.00' or 'Balanced'."""
    if difference < 0:
        return f"Short {format_money(-difference, currency)}"
    if difference > 0:
        return f"Over {format_money(difference, currency)}"
    return "Balanced"


def opened_words(session: TillSession) -> str:
    return f"{session.opened_at.astimezone():%H:%M}"


class TillCloseScreen(FormScreen):
    CSS_PATH = "till_close.tcss"
    screen_name = "till_close"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s", "submit", "Close till")]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self.session: TillSession | None = None
        self.closed: TillSession | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield Static("", id="till-summary")
        with Horizontal(id="till-body"):
            with VerticalScroll(id="count") as count:
                count.border_title = "Count the drawer"
                for value in NOTES:
                    yield self._count_row(f"KES {value} notes", value)
                for value in COINS:
                    yield self._count_row(f"KES {value} coins", value)
                yield CountRow("Other coins (KES)", Input(id=OTHER, max_length=16, compact=True, placeholder="0.00"),
                               name=OTHER)
            with Vertical(id="figures") as figures:
                figures.border_title = f"Expected and counted ({escape(self.ctx.currency)})"
                yield Static("", id="figures-text")
        yield FieldRow("Reason", Input(id="reason", max_length=REASON_MAX, compact=True,
                                       placeholder="needed when the count differs"), name="reason")
        yield StatusLine("", id="status")
        yield KeysFooter()

    @staticmethod
    def _count_row(label: str, value: int) -> CountRow:
        return CountRow(label, Input(id=field_name(value), max_length=9, compact=True, placeholder="0"),
                        name=field_name(value))

    def on_mount(self) -> None:
        self.sub_title = "Close the till"
        self.query_one(f"#{field_name(DENOMINATIONS[0])}").focus()
        self._recount()
        repo = self.repo
        self.start("load", repo.my_open_session, working="loading your till…")

    @property
    def repo(self) -> TillRepository:
        return TillRepository(self.ctx.engine, self.ctx.actor)

    # --- the count ----------------------------------------------------------------------------------------

    def _read(self, *, only: str | None = None) -> tuple[dict[int, int], Decimal, dict[str, str]]:
        """The counts as typed, the loose coins and each refusal by field (all fields, or only `only`'s
        message when a field is being typed in: the others keep theirs)."""
        counts: dict[int, int] = {}
        errors: dict[str, str] = {}
        for value in DENOMINATIONS:
            name = field_name(value)
            try:
                counts[value] = parse_count(self.query_one(f"#{name}", Input).value,
                                            "notes" if value in NOTES else "coins")
            except CountError as exc:
                errors[name] = str(exc)
        other = ZERO
        try:
            other = parse_other(self.query_one(f"#{OTHER}", Input).value)
        except CountError as exc:
            errors[OTHER] = str(exc)
        return counts, other, errors

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        if name == "reason":
            if event.value.strip():
                self.query_one("#field-reason", FieldRow).error(None)
            return
        counts, other, errors = self._read()
        row = self.query_one(f"#field-{name}", CountRow)
        row.error(errors.get(name))
        self._recount(counts, other, errors)

    def _recount(self, counts: dict[int, int] | None = None, other: Decimal | None = None,
                 errors: dict[str, str] | None = None) -> Decimal | None:
        """Each row's subtotal, the counted total, the expected cash and the difference; None while a field
        is refused (the total would be wrong)."""
        if counts is None or other is None or errors is None:
            counts, other, errors = self._read()
        for value in DENOMINATIONS:
            name = field_name(value)
            self.query_one(f"#field-{name}", CountRow).show_subtotal(
                None if name in errors else Decimal(value) * counts.get(value, 0))
        self.query_one(f"#field-{OTHER}", CountRow).show_subtotal(None if OTHER in errors else other)
        total = None if errors else counted_total(counts, other)
        self._show_figures(total)
        return total

    def _show_figures(self, counted: Decimal | None) -> None:
        session = self.session
        width = 13

        def line(label: str, value: str) -> str:
            return f"{label:<13}{value:>{width}}"

        lines = []
        if session is not None:
            lines += [line("Opening float", format_money(session.opening_float)),
                      line("Cash in", format_money(session.cash_in)),
                      line("Cash out", format_money(session.cash_out)),
                      f"[b]{line('Expected', format_money(session.expected_cash))}[/b]"]
        lines.append(line("Counted", "—" if counted is None else format_money(counted)))
        if session is not None and counted is not None:
            difference = counted - session.expected_cash
            words = difference_words(difference)
            mark = "b" if difference == 0 else "b red"
            lines.append(f"[{mark}]{escape(words):>{13 + width}}[/]")
        else:
            lines.append(line("Difference", "—"))
        self.query_one("#figures-text", Static).update("\n".join(lines))

    # --- Enter moves down, the last Enter closes ---------------------------------------------------------

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "reason":
            self.action_submit()
        else:
            self.focus_next()

    def action_submit(self) -> None:
        session = self.session
        if session is None or self.closed is not None or self.busy("close"):
            return
        if isinstance(self.app.screen, ConfirmScreen):
            return
        counts, other, errors = self._read()
        reason = self.query_one("#reason", Input).value.strip()
        total = None if errors else counted_total(counts, other)
        if total is not None and total != session.expected_cash and not reason:
            errors["reason"] = (f"the count is {difference_words(total - session.expected_cash).lower()}: "
                                "say why (it goes to a supervisor with the count)")
        self.show_field_errors(errors)
        self._recount()
        if errors or total is None:
            return
        difference = total - session.expected_cash
        currency = self.ctx.currency
        lines = [f"Till {session.till_code} · {session.cashier_name} · open since {opened_words(session)}",
                 f"Expected  {format_money(session.expected_cash, currency):>18}",
                 f"Counted   {format_money(total, currency):>18}",
                 f"Difference {format_money(difference, currency):>17}  {difference_words(difference)}"]
        if difference:
            lines += [f"Reason: {reason}", "The difference goes to a supervisor for approval; the count is "
                      "posted once approved."]
        else:
            lines.append("The counted cash goes back to the vault.")
        record = denominations_record(counts, other)
        repo, session_id = self.repo, session.id
        why = reason if difference else (reason or None)

        def answer(yes: bool | None) -> None:
            if yes and not self.busy("close") and self.closed is None:
                # Not run again by itself after a lost connection: the cashier closes again, and a till closed
                # already is refused rather than counted twice.
                self.start("close", lambda: repo.close(session_id, total, why, record), retry=ASK,
                           working="recording the count…")
            elif not yes:
                self.status.say("Not closed. Change the count or press ctrl+s to close.")

        self.app.push_screen(ConfirmScreen("Close the till?", lines, question="Close it?"), answer)

    # --- answers -----------------------------------------------------------------------------------------

    def done(self, tag: str, result: Any) -> None:
        if tag == "load":
            self.session = result
            if result is None:
                self.status.say("You have no till open: nothing to count.", kind="error")
                self.query_one("#till-summary", Static).update("No till open")
                return
            self.query_one("#till-summary", Static).update(
                f"[b]Till {escape(result.till_code)}[/b] · {escape(result.till_name)} · "
                f"{escape(result.cashier_name)} · open since {opened_words(result)} · {result.receipt_count} "
                f"receipt{'s' * (result.receipt_count != 1)}")
            self._recount()
            self.status.say("Count each kind; enter moves down · ctrl+s closes")
        elif tag == "close":
            self.closed = result
            if result.status == "pending_approval":
                said = (f"{difference_words(result.difference or ZERO, self.ctx.currency)}: sent to a supervisor "
                        "for approval.")
            else:
                said = "Till closed; the cash went back to the vault."
            from screens.till_sheet import TillSheetScreen

            self.app.switch_screen(TillSheetScreen(self.ctx, result.id, said=said))

    def failed(self, tag: str, error: BaseException) -> None:
        if isinstance(error, ValidationError):
            self.show_field_errors({FIELDS.get(name, name): message for name, message in error.fields.items()})
        else:
            super().failed(tag, error)

    def unsaved_changes(self) -> list[str]:
        if self.closed is not None or self.session is None:
            return []
        typed = [i.value for i in self.query(Input) if i.value.strip()]
        return ["The drawer count: the till was not closed"] if typed else []
