"""Dialogs about a branch's books and customers: a supervisor's transfer of a customer to another branch, and the
period close of a branch (accountant or supervisor).

Each reads the branches and writes through the one database path (it is a DatabaseCalls screen), asks with the
one yes/no dialog before writing, and shows each refusal beside the field it concerns.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from db.repositories.branches import Branch, BranchRepository, close_problems, transfer_problems
from db.repositories.customers import CustomerDetail
from screens.admin_branches import branch_choices
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import ASK, AUTO, DatabaseCalls
from widgets.dates import DateError, format_date, parse_date
from widgets.fields import FieldRow
from widgets.status import ConnectionBanner, StatusLine

KEYS = "ctrl+s saves · escape closes"


class BranchDialog(DatabaseCalls, ModalScreen[object]):
    """What both dialogs share: the branches read on opening, the chosen branch, a save key and escape."""

    CSS_PATH = "branch_dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Close"),
                                             Binding("ctrl+s", "save", "Save")]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__()
        self.ctx = context
        self.branches: list[Branch] = []

    @property
    def repo(self) -> BranchRepository:
        return BranchRepository(self.ctx.engine, self.ctx.actor)

    def read_branches(self) -> None:
        repo = self.repo
        self.start("branches", lambda: repo.tree(counts=False), working="Reading the branches…",
                   on_done=self._branches_read)

    def _branches_read(self, branches: list[Branch]) -> None:
        self.branches = branches
        self.status.say(KEYS)
        self.branches_read()

    def branches_read(self) -> None:
        """The branches are known; dialogs fill their choice."""

    def chosen_branch(self) -> Branch | None:
        value = self.query_one(".branch-choice", Select).value
        return next((b for b in self.branches if b.id == value), None)

    def action_save(self) -> None:
        """Dialogs check, ask, then write."""

    def action_cancel(self) -> None:
        self.dismiss(None)


class TransferDialog(BranchDialog):
    """Move a customer (and their loans) to another active branch, with a reason; answers how many loans moved."""

    def __init__(self, context: ScreenContext, customer: CustomerDetail, current: Branch | None) -> None:
        super().__init__(context)
        self.customer = customer
        self.current = current

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        with Vertical(id="dialog-box") as box:
            box.border_title = escape(f"Transfer {self.customer.customer_number}")
            where = self.current.label if self.current else "—"
            yield Static(escape(f"{self.customer.full_name} · now in {where}"), id="transfer-from")
            yield FieldRow("To branch", Select([], id="transfer-branch", classes="branch-choice", compact=True,
                                               prompt="choose a branch"), name="branch")
            yield FieldRow("Reason", Input(id="transfer-reason", max_length=500, compact=True), name="reason")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Transfer", id="transfer-save", variant="primary", compact=True)
            yield StatusLine(KEYS, id="status")

    def on_mount(self) -> None:
        self.query_one("#transfer-branch", Select).focus()
        self.read_branches()

    def branches_read(self) -> None:
        here = self.current.id if self.current else None
        self.query_one("#transfer-branch", Select).set_options(branch_choices(self.branches, leave_out=here))

    @on(Input.Submitted)
    @on(Button.Pressed, "#transfer-save")
    def action_save(self) -> None:
        if self.busy("save"):
            return
        target = self.chosen_branch()
        reason = self.query_one("#transfer-reason", Input).value
        problems = transfer_problems(target.id if target else None, reason)
        self.show_field_errors(problems)
        if problems or target is None:
            return
        loans = len(self.customer.loans)
        lines = [f"{self.customer.full_name} · {self.customer.customer_number}",
                 f"From {self.current.label if self.current else '—'} to {target.label}",
                 f"{loans} loan{'s' if loans != 1 else ''} move with the customer, and their outstanding "
                 "principal moves between the two branches' books.",
                 f"Reason: {reason.strip()}"]

        def answered(yes: bool | None) -> None:
            if yes:
                repo, customer_id = self.repo, self.customer.id
                self.start("save", lambda: repo.transfer_customer(customer_id, target.id, reason), retry=ASK,
                           working="Transferring…", on_done=self._moved)
        self.app.push_screen(ConfirmScreen(f"Transfer to {target.code}", lines, question="Transfer?"), answered)

    def _moved(self, loans: int) -> None:
        self.dismiss(loans)


class ClosePeriodDialog(BranchDialog):
    """Close a branch's books through a day: nothing may be posted there on or before it afterwards. The dialog
    stays open and shows the new close (or the refusal), so several branches can be closed in turn."""

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        with Vertical(id="dialog-box") as box:
            box.border_title = "Close period"
            yield FieldRow("Branch", Select([], id="close-branch", classes="branch-choice", compact=True,
                                            prompt="choose a branch"), name="branch")
            yield Static("Closed through —", id="close-current")
            yield FieldRow("Through", Input(id="close-through", max_length=11, compact=True,
                                            placeholder="dd/mm/yyyy"), name="through")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close period", id="close-save", variant="primary", compact=True)
            yield StatusLine(KEYS, id="status")

    def on_mount(self) -> None:
        self.query_one("#close-branch", Select).focus()
        self.read_branches()

    def branches_read(self) -> None:
        picker = self.query_one("#close-branch", Select)
        keep = picker.value
        picker.set_options(branch_choices(self.branches, active_only=False))
        if isinstance(keep, int):
            picker.value = keep
        elif self.branches:
            picker.value = self.branches[0].id
        self._show_current()

    @on(Select.Changed, "#close-branch")
    def _show_current(self) -> None:
        branch = self.chosen_branch()
        closed = format_date(branch.closed_through) if branch and branch.closed_through else "— (never closed)"
        self.query_one("#close-current", Static).update(escape(f"Closed through {closed}"))

    @on(Input.Submitted)
    @on(Button.Pressed, "#close-save")
    def action_save(self) -> None:
        if self.busy("save"):
            return
        branch = self.chosen_branch()
        today = self.ctx.today()
        date_problem = None
        try:
            through = parse_date(self.query_one("#close-through", Input).value, latest=today - timedelta(days=1))
        except DateError as exc:
            through, date_problem = None, str(exc)
        problems = close_problems(branch.id if branch else None, through, today)
        if date_problem:
            problems["through"] = date_problem
        self.show_field_errors(problems)
        if problems or branch is None or through is None:
            return
        lines = [branch.label,
                 f"Closed through {format_date(branch.closed_through)} now; through {format_date(through)} after.",
                 "Nothing can be posted in this branch on or before that day afterwards."]

        def answered(yes: bool | None) -> None:
            if yes:
                repo = self.repo
                # Closing through the same day twice changes nothing more: after a lost connection it runs again.
                self.start("save", lambda: repo.close_period(branch.id, through, today=today), retry=AUTO,
                           working="Closing…", on_done=self._period_closed)
        self.app.push_screen(ConfirmScreen(f"Close {branch.code}", lines, question="Close the period?"), answered)

    def _period_closed(self, branch: Branch) -> None:
        self.branches = [branch if b.id == branch.id else b for b in self.branches]
        self._show_current()
        self.query_one("#close-through", Input).value = ""
        self.status.say(f"{branch.code} closed through {format_date(branch.closed_through)}.", kind="ok")
