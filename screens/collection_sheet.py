"""The collection sheet of a meeting: pick a group or a center and the meeting day, type what each member paid,
post the whole meeting at once, then the receipt.

One row per member loan, prefilled with what is due (arrears included); enter moves down, ctrl+f marks the row
paid in full, ctrl+n absent with nothing paid, ctrl+r turns attendance on or off. Each row checks its amount as
it is typed (its message shows under it) and the group subtotals and the total follow; ctrl+s asks to confirm
the totals and posts the sheet through CollectionSheetRepository.post, all or nothing, with an idempotency key
made once per sheet: a double enter, or a retry after the connection dropped, posts once. A row the database
refuses gets the database's message; nothing was written. A sheet already posted opens read-only, with `p` to
reprint its receipt.

Over a slow link only what changes is repainted: the cell typed in, its row's message, its group's subtotal
and the total line; the list scrolls a page at a time, never line by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Header, Input, Label, Static

from db.errors import LineRefused, ValidationError
from db.repositories.groups import (
    CollectionSheetRepository,
    GroupRepository,
    Sheet,
    SheetEntry,
    SheetLine,
    SheetReceipt,
)
from db.repositories.payments import new_idempotency_key
from db.repositories.sheet_groups import GroupChoice, SheetGroupFinder
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import AUTO
from screens.leaving import FormScreen
from screens.typeahead import EDITING_PASSES
from widgets.dates import DateError, format_date, format_for_typing, parse_date
from widgets.footer import KeysFooter
from widgets.money import MoneyError, format_money, parse_money
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable

ZERO = Decimal("0.00")
HINT = "Type a group or center: its number (G-000012) or part of its name."
KEYS_HINT = "enter next row · ^F paid in full · ^N absent · ^R attendance · ^S post"
HEAD = f"{'Member':<21}{'Loan':<10}{'Arrears':>10}{'Due':>11}   {'Paid':<14}{'Here':<4}"


def amount_problem(raw: str, line: SheetLine) -> str | None:
    """What is wrong with a typed amount, or None: letters, negatives, three decimals, huge amounts, more than
    the loan still owes."""
    if not raw.strip():
        return "enter what was paid (0 if nothing)"
    try:
        amount = parse_money(raw, allow_zero=True)
    except MoneyError as exc:
        return str(exc)
    if amount > line.max_payable:
        return f"{line.loan_number} owes only {format_money(line.max_payable)} in all"
    return None


@dataclass
class RowState:
    line: SheetLine
    attended: bool = True
    problem: str | None = None
    amount: Decimal = ZERO


class AmountInput(Input):
    """The paid cell of a row; `loan_id` names its row. Up and down move between rows (before the list's own
    scrolling takes them)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("up", "screen.move(-1)", show=False),
                                             Binding("down", "screen.move(1)", show=False)]

    def __init__(self, value: str, loan_id: int, **kwargs: Any) -> None:
        super().__init__(value, max_length=20, compact=True, id=f"amount-{loan_id}", **kwargs)
        self.loan_id = loan_id


class SheetRow(Vertical):
    """member · loan · arrears · due · [paid] · here, and the row's message under it when there is one."""

    def __init__(self, line: SheetLine) -> None:
        super().__init__(id=f"row-{line.loan_id}", classes="sheet-row")
        self.line = line

    def compose(self) -> ComposeResult:
        line = self.line
        with Horizontal(classes="cells"):
            yield Label(escape(line.customer_name[:20]), classes="c-member")
            yield Label(escape(line.loan_number), classes="c-loan")
            yield Label(format_money(line.arrears) if line.arrears else "", classes="c-arrears")
            yield Label(format_money(line.due), classes="c-due")
            yield AmountInput(format_money(line.due), line.loan_id, classes="c-paid")
            yield Label("yes", classes="c-here")
        yield Static("", classes="row-error")

    def show(self, state: RowState) -> None:
        """Attendance and the message, repainted only when they change."""
        here = self.query_one(".c-here", Label)
        word = "yes" if state.attended else "no"
        if str(here.content) != word:
            here.update(word)
            self.set_class(not state.attended, "-absent")
        error = self.query_one(".row-error", Static)
        message = escape(state.problem) if state.problem else ""
        if str(error.content) != message:
            error.update(message)
            self.set_class(bool(state.problem), "-invalid")


class CollectionSheetScreen(FormScreen):
    CSS_PATH = "collection_sheet.tcss"
    screen_name = "collection_sheet"
    AUTO_FOCUS = "#find"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "post", "Post"),
        Binding("ctrl+f", "full", "Paid in full"),
        Binding("ctrl+n", "absent", "Absent"),
        Binding("ctrl+r", "attendance", "Attendance"),
        Binding("ctrl+g", "other_group", "Other group"),
        Binding("p", "reprint", "Reprint"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(self, context: ScreenContext, group_id: int | None = None,
                 meeting_date: date | None = None) -> None:
        super().__init__(context)
        self.group_id = group_id
        self.meeting_date = meeting_date
        self.sheet: Sheet | None = None
        self.posted: SheetReceipt | None = None
        """The receipt of the sheet once posted (now, or before this screen opened it): read-only then."""
        self.rows: dict[int, RowState] = {}
        self.order: list[int] = []
        self.idempotency_key = ""
        self._keyed_for: tuple[int, date] | None = None
        self._choices: list[GroupChoice] = []
        self._shown: dict[str, str] = {}
        self._removal: Any = None
        self._picked = ""
        """The rows of the sheet shown before, on their way out: the new ones mount once they are gone."""

    # --- layout ----------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        with Horizontal(id="pick"):
            yield Label("Group", classes="pick-label")
            yield Input(id="find", placeholder="G-000012 or name", max_length=60, compact=True)
            yield Label("Meeting", classes="pick-label")
            yield Input(id="meeting_date", max_length=20, compact=True)
        yield Static("", id="pick-error")
        yield PageTable(("Number", "Name", "Kind", "Center", "Officer"), id="choices")
        yield Static("", id="sheet-head")
        yield Static(HEAD, id="columns")
        yield VerticalScroll(id="lines")
        yield Static("", id="totals")
        yield StatusLine(HINT, id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Collection sheet"
        for widget in ("#choices", "#sheet-head", "#columns", "#lines", "#totals", "#pick-error"):
            self.query_one(widget).display = False
        if self.meeting_date is not None:
            self.query_one("#meeting_date", Input).value = format_for_typing(self.meeting_date)
        if self.group_id is not None:
            self._open(self.group_id, self.meeting_date)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        editable = self.sheet is not None and self.posted is None
        if action in ("post", "full", "absent", "attendance"):
            return editable
        if action == "reprint":
            return self.posted is not None
        return True

    @property
    def sheets(self) -> CollectionSheetRepository:
        return CollectionSheetRepository(self.ctx.engine, self.ctx.actor)

    # --- picking the group and the day -------------------------------------------------------------------

    def _pick_error(self, message: str | None) -> None:
        error = self.query_one("#pick-error", Static)
        error.update(escape(message or ""))
        error.display = bool(message)

    @on(Input.Changed, "#find")
    def _typed(self, event: Input.Changed) -> None:
        query = event.value
        if query == self._picked:
            return  # the picked group's name, put there by the screen: nothing to search
        if not query.strip():
            self._seq["find"] = self._seq.get("find", 0) + 1
            self.query_one("#choices").display = False
            return
        finder = SheetGroupFinder(self.ctx.engine, self.ctx.actor)
        self.start("find", lambda: (query, finder.find(query)), working=None, hold=EDITING_PASSES)

    @on(Input.Submitted, "#find")
    def _find_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self._pick_error("type a group's number or name")
        elif len(self._choices) == 1:
            self._chosen_group(self._choices[0].id)
        elif self._choices:
            self.query_one("#choices", PageTable).focus()
        else:
            self._pick_error("no active group or center of yours matches")

    @on(PageTable.RowSelected, "#choices")
    def _chosen(self, event: PageTable.RowSelected) -> None:
        event.stop()
        self._chosen_group(int(str(event.row_key.value)))

    def _chosen_group(self, group_id: int) -> None:
        choice = next((c for c in self._choices if c.id == group_id), None)
        if choice is not None:
            self._picked = f"{choice.group_number} {choice.name}"
            self.query_one("#find", Input).value = self._picked
        self._seq["find"] = self._seq.get("find", 0) + 1  # the value just set searches no more
        self.query_one("#choices").display = False
        self._open(group_id, None)

    def _open(self, group_id: int, day: date | None) -> None:
        """The group's next meeting unless a day was given, then its sheet."""
        self.group_id = group_id
        self._pick_error(None)
        groups, sheets, today = GroupRepository(self.ctx.engine, self.ctx.actor), self.sheets, self.ctx.today()

        def job() -> tuple[Sheet, SheetReceipt | None]:
            meeting = day or groups.next_meeting(group_id, today) or today
            sheet = sheets.load(group_id, meeting)
            return sheet, sheets.receipt(sheet.posted_sheet_id) if sheet.posted_sheet_id else None

        self.start("load", job, working="loading the sheet…")

    @on(Input.Submitted, "#meeting_date")
    def _date_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.group_id is None:
            self._pick_error("pick the group or center first")
            self.query_one("#find").focus()
            return
        try:
            day = parse_date(event.value)
        except DateError as exc:
            self._pick_error(f"Meeting: {exc}")
            return
        if day is not None and self.rows and self._unsaved():
            self.status.say("Typed amounts are kept only for this sheet: post it, or ctrl+g to drop it.",
                            kind="error")
            return
        self._open(self.group_id, day)

    def action_other_group(self) -> None:
        if self._unsaved():
            self.confirm_leave(self._other_group)
        else:
            self._other_group()

    def _other_group(self) -> None:
        self._clear_sheet()
        self.group_id = None
        find = self.query_one("#find", Input)
        find.value = ""
        find.focus()
        self.status.say(HINT)

    # --- the sheet ------------------------------------------------------------------------------------

    def _clear_sheet(self) -> None:
        self.sheet = None
        self.posted = None
        self.rows = {}
        self.order = []
        self._shown = {}
        self._removal = self.query_one("#lines", VerticalScroll).remove_children()
        for widget in ("#sheet-head", "#columns", "#lines", "#totals"):
            self.query_one(widget).display = False
        self.refresh_bindings()

    def _show_sheet(self, sheet: Sheet, receipt: SheetReceipt | None) -> None:
        self._clear_sheet()
        self.sheet = sheet
        self.posted = receipt
        self.meeting_date = sheet.meeting_date
        self.query_one("#meeting_date", Input).value = format_for_typing(sheet.meeting_date)
        if self._keyed_for != (sheet.group_id, sheet.meeting_date):
            self._keyed_for = (sheet.group_id, sheet.meeting_date)
            self.idempotency_key = new_idempotency_key()
        kind = "Center" if sheet.kind == "center" else "Group"
        head = (f"[b]{escape(sheet.group_number)} [/b]{escape(sheet.name)} · {kind.lower()} · "
                f"{sheet.meeting_date:%a} {format_date(sheet.meeting_date)} · {escape(sheet.loan_officer_name)}")
        self.query_one("#sheet-head", Static).update(head)
        self.query_one("#columns", Static).update(HEAD)
        for widget in ("#sheet-head", "#columns", "#lines", "#totals"):
            self.query_one(widget).display = True
        lines = self.query_one("#lines", VerticalScroll)
        if receipt is not None:
            self._show_posted(receipt, lines)
            return
        if not sheet.is_meeting_day:
            nxt = f"; the next is {format_date(sheet.next_meeting)}" if sheet.next_meeting else ""
            self._pick_error(f"Meeting: {format_date(sheet.meeting_date)} is not a meeting day of "
                             f"{sheet.group_number}{nxt}")
        widgets: list[Static | SheetRow] = []
        for group in sheet.groups:
            widgets.append(Static("", id=f"group-{group.group_id}", classes="group-line"))
            for line in group.lines:
                self.rows[line.loan_id] = RowState(line, amount=line.due)
                self.order.append(line.loan_id)
                widgets.append(SheetRow(line))
        if not widgets:
            widgets.append(Static("No member of this group has a loan in play on this day.", classes="group-line"))
        self.refresh_bindings()
        removal = self._removal

        async def ready() -> None:
            if removal is not None:
                await removal
            await lines.mount_all(widgets)
            self._totals()
            if self.order:
                self._focus_row(0)
                self.status.say(KEYS_HINT)

        self.call_later(ready)

    def _show_posted(self, receipt: SheetReceipt, lines: VerticalScroll) -> None:
        widgets = []
        for group in receipt.groups:
            widgets.append(Static(f"[b]{escape(group.group_number)} [/b]{escape(group.name)} · "
                                  f"{format_money(group.total)} · {group.attended} of {len(group.lines)} here",
                                  classes="group-line"))
            for member in group.lines:
                widgets.append(Static(escape(
                    f"{member.customer_name[:20]:<21}{member.loan_number:<10}"
                    f"{format_money(member.amount):>13}  {member.receipt_number or '—':<14}"
                    f"{'yes' if member.attended else 'no'}{' reversed' if member.reversed else ''}"),
                    classes="posted-line"))
        removal = self._removal

        async def ready() -> None:
            if removal is not None:
                await removal
            await lines.mount_all(widgets)

        self.call_later(ready)
        self.query_one("#totals", Static).update(
            f"[b]Posted [/b]{format_date(receipt.meeting_date)} by {escape(receipt.posted_by_name)} · "
            f"total {format_money(receipt.total, self.ctx.currency)}")
        self.query_one("#columns", Static).update(
            f"{'Member':<21}{'Loan':<10}{'Paid':>13}  {'Receipt':<14}Here")
        self.refresh_bindings()
        lines.focus()
        self.status.say("This sheet was posted: p reprints its receipt · ^G another group")

    # --- typing on the sheet --------------------------------------------------------------------------

    def _row_widget(self, loan_id: int) -> SheetRow:
        return self.query_one(f"#row-{loan_id}", SheetRow)

    def _focused_row(self) -> int | None:
        focused = self.focused
        return focused.loan_id if isinstance(focused, AmountInput) else None

    def _focus_row(self, index: int) -> None:
        """Focus a row's paid cell; the list scrolls a page at a time (the row comes to the top), not a line."""
        if not self.order:
            return
        index = max(0, min(index, len(self.order) - 1))
        row = self._row_widget(self.order[index])
        cell = row.query_one(AmountInput)
        lines = self.query_one("#lines", VerticalScroll)
        cell.focus(scroll_visible=False)
        top = row.virtual_region.y
        bottom = top + row.virtual_region.height
        if top < lines.scroll_y or bottom > lines.scroll_y + lines.scrollable_content_region.height:
            group_line = row.virtual_region.y - 1 if index == 0 else top
            lines.scroll_to(y=max(0, group_line), animate=False, immediate=True)

    def _index(self, loan_id: int) -> int:
        return self.order.index(loan_id)

    @on(Input.Changed, ".c-paid")
    def _amount_changed(self, event: Input.Changed) -> None:
        event.stop()
        cell = event.input
        if not isinstance(cell, AmountInput) or cell.loan_id not in self.rows:
            return
        state = self.rows[cell.loan_id]
        state.problem = amount_problem(event.value, state.line)
        state.amount = ZERO if state.problem else parse_money(event.value, allow_zero=True)
        self._row_widget(cell.loan_id).show(state)
        self._totals()

    @on(Input.Submitted, ".c-paid")
    def _amount_entered(self, event: Input.Submitted) -> None:
        event.stop()
        cell = event.input
        if isinstance(cell, AmountInput) and cell.loan_id in self.rows:
            index = self._index(cell.loan_id)
            if index + 1 < len(self.order):
                self._focus_row(index + 1)
            else:
                self.status.say("Last row: ctrl+s posts the sheet.")

    def _set_row(self, loan_id: int, amount: Decimal, attended: bool) -> None:
        state = self.rows[loan_id]
        state.attended = attended
        cell = self._row_widget(loan_id).query_one(AmountInput)
        text = format_money(amount)
        if cell.value != text:
            cell.value = text  # Changed checks it, shows the row and the totals
        else:
            self._row_widget(loan_id).show(state)
            self._totals()

    def action_full(self) -> None:
        loan_id = self._focused_row()
        if loan_id is not None and self.posted is None:
            state = self.rows[loan_id]
            self._set_row(loan_id, min(state.line.due, state.line.max_payable), True)
            self._focus_row(self._index(loan_id) + 1)

    def action_absent(self) -> None:
        loan_id = self._focused_row()
        if loan_id is not None and self.posted is None:
            self._set_row(loan_id, ZERO, False)
            self._focus_row(self._index(loan_id) + 1)

    def action_attendance(self) -> None:
        loan_id = self._focused_row()
        if loan_id is not None and self.posted is None:
            state = self.rows[loan_id]
            state.attended = not state.attended
            self._row_widget(loan_id).show(state)
            self._totals()

    def action_move(self, step: int) -> None:
        loan_id = self._focused_row()
        if loan_id is not None:
            self._focus_row(self._index(loan_id) + step)
        elif step > 0 and self.focused is self.query_one("#find") and self.query_one("#choices").display:
            self.query_one("#choices").focus()

    def _totals(self) -> None:
        """The group subtotals and the total line, each repainted only when its text changes."""
        sheet = self.sheet
        if sheet is None:
            return
        currency = self.ctx.currency
        for group in sheet.groups:
            states = [self.rows[line.loan_id] for line in group.lines]
            paid = sum((s.amount for s in states), ZERO)
            text = (f"[b]{escape(group.group_number)} [/b]{escape(group.name)} · paid {format_money(paid)} of "
                    f"{format_money(group.total_due)} · {sum(1 for s in states if s.attended)} of {len(states)} here")
            self._update(f"group-{group.group_id}", text)
        states = list(self.rows.values())
        wrong = sum(1 for s in states if s.problem)
        total = sum((s.amount for s in states), ZERO)
        text = (f"[b]Total {format_money(total, currency)} [/b]of {format_money(sheet.total_due)} · "
                f"{sum(1 for s in states if s.amount > 0)} paid · {sum(1 for s in states if not s.attended)} absent")
        if wrong:
            text += f" · [b]{wrong} row{'s' * (wrong != 1)} to fix[/b]"
        self._update("totals", text)

    def _update(self, widget_id: str, text: str) -> None:
        if self._shown.get(widget_id) != text:
            self._shown[widget_id] = text
            self.query_one(f"#{widget_id}", Static).update(text)

    # --- posting ----------------------------------------------------------------------------------------

    def entries(self) -> list[SheetEntry]:
        return [SheetEntry(loan_id, self.rows[loan_id].amount, self.rows[loan_id].attended) for loan_id in self.order]

    def summary(self) -> list[str]:
        assert self.sheet is not None
        sheet, currency = self.sheet, self.ctx.currency
        states = list(self.rows.values())
        total = sum((s.amount for s in states), ZERO)
        out = [f"{sheet.group_number} {sheet.name}",
               f"Meeting {sheet.meeting_date:%a} {format_date(sheet.meeting_date)}", ""]
        if len(sheet.groups) > 1:
            for group in sheet.groups:
                paid = sum((self.rows[line.loan_id].amount for line in group.lines), ZERO)
                out.append(f"  {group.group_number} {group.name[:18]:<18} {format_money(paid):>14}")
            out.append("")
        out += [f"Collected     {format_money(total, currency)} of {format_money(sheet.total_due)} due",
                f"Members paid  {sum(1 for s in states if s.amount > 0)} of {len(states)}",
                f"Absent        {sum(1 for s in states if not s.attended)}"]
        return out

    def action_post(self) -> None:
        if self.sheet is None or self.posted is not None or self.busy("post"):
            return
        if isinstance(self.app.screen, ConfirmScreen):
            return
        wrong = [loan_id for loan_id in self.order if self.rows[loan_id].problem]
        if wrong:
            self.drop_keys_typed_ahead()
            self.status.say(f"Fix the {len(wrong)} row{'s' * (len(wrong) != 1)} marked in red first: nothing "
                            "was posted.", kind="error")
            self._focus_row(self._index(wrong[0]))
            return
        if not self.sheet.is_meeting_day:
            self.drop_keys_typed_ahead()
            self.status.say(f"{format_date(self.sheet.meeting_date)} is not a meeting day: change the meeting "
                            "date; nothing was posted.", kind="error")
            self.query_one("#meeting_date").focus()
            return
        if not self.order:
            self.status.say("Nothing to post: no member loan is on this sheet.", kind="error")
            return
        sheet, entries, key, repo = self.sheet, self.entries(), self.idempotency_key, self.sheets

        def answer(yes: bool | None) -> None:
            if yes and not self.busy("post") and self.posted is None:
                self.start("post", lambda: self._post(repo, sheet, entries, key), retry=AUTO,
                           working="posting the sheet…")
            elif not yes:
                self.status.say("Not posted. Change the rows, or ctrl+s to post.")

        self.app.push_screen(ConfirmScreen("Post this collection sheet?", self.summary(),
                                           question="Post it?"), answer)

    @staticmethod
    def _post(repo: CollectionSheetRepository, sheet: Sheet, entries: list[SheetEntry],
              key: str) -> SheetReceipt:
        return repo.post_with_receipt(sheet.group_id, sheet.meeting_date, entries, key)  # one round trip

    # --- answers ----------------------------------------------------------------------------------------

    def done(self, tag: str, result: Any) -> None:
        if tag == "find":
            query, choices = result
            if query != self.query_one("#find", Input).value:
                return
            self._found(choices)
        elif tag == "load":
            self.status.clear()
            self._show_sheet(*result)
        elif tag == "post":
            receipt: SheetReceipt = result
            assert self.sheet is not None
            self._show_sheet(self.sheet, receipt)
            total = format_money(receipt.total, self.ctx.currency)
            self.status.say(f"Posted: sheet CS-{receipt.sheet_id:06d}, {total}.", kind="ok")
            self.action_reprint()

    def _found(self, choices: list[GroupChoice]) -> None:
        self._choices = choices
        table = self.query_one("#choices", PageTable)
        if not choices:
            table.display = False
            self.status.say("No active group or center of yours matches.")
            return
        table.fill((str(c.id), (c.group_number, c.name, c.kind, c.parent_number or "", c.loan_officer_name))
                   for c in choices)
        table.display = True
        self.status.say("enter opens the only match · ↓ and enter pick one")

    def failed(self, tag: str, error: BaseException) -> None:
        if tag == "post" and isinstance(error, LineRefused):
            loan_id = next((i for i in self.order if self.rows[i].line.loan_number == error.row), None)
            if loan_id is not None:
                state = self.rows[loan_id]
                state.problem = error.message
                self._row_widget(loan_id).show(state)
                self._totals()
                self._focus_row(self._index(loan_id))
            self.status.say(f"{error.message.rstrip('.')}. Nothing was posted.", kind="error")
        elif tag == "post" and isinstance(error, ValidationError):
            if "meeting_date" in error.fields:
                self._pick_error(f"Meeting: {error.fields['meeting_date']}")
            self.status.say("; ".join(error.fields.values()) + ". Nothing was posted.", kind="error")
        elif tag in ("load", "find") and isinstance(error, ValidationError):
            self._pick_error("; ".join(error.fields.values()))
            self.status.clear()
        else:
            super().failed(tag, error)

    def action_reprint(self) -> None:
        if self.posted is None:
            return
        from screens.sheet_receipt import SheetReceiptScreen

        self.app.push_screen(SheetReceiptScreen(self.ctx, self.posted.sheet_id, receipt=self.posted))

    # --- leaving --------------------------------------------------------------------------------------

    def _unsaved(self) -> bool:
        return bool(self.unsaved_changes())

    def unsaved_changes(self) -> list[str]:
        if self.sheet is None or self.posted is not None:
            return []
        changed = [s for s in self.rows.values()
                   if s.problem or s.amount != s.line.due or not s.attended]
        if not changed:
            return []
        return [f"Collection sheet {self.sheet.group_number} of {format_date(self.sheet.meeting_date)}: "
                f"{len(changed)} row{'s' * (len(changed) != 1)} typed, nothing posted"]
