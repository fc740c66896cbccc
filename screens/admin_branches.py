"""Administration, branches: the tree under the head office with its staff, open loans and customers; create a
branch under another, rename one, deactivate or reactivate one (the database refuses the head office, a branch
with open loans and one with active branches under it, and the reason is shown).

The branch form makes its own calls through the one database path; the pane's calls run on the admin screen.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Select

from db.repositories.branches import Branch, BranchRepository
from screens.back_office import plain, refusal, right, table_filled
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import ASK, AUTO, DatabaseCalls, run_in
from widgets.dates import format_date
from widgets.fields import FieldRow
from widgets.status import ConnectionBanner, StatusLine

INDENT = "  "


def tree_label(branch: Branch) -> str:
    """A branch's name indented by its depth under the head office."""
    return INDENT * branch.depth + branch.name


def branch_choices(branches: list[Branch], *, active_only: bool = True,
                   leave_out: int | None = None) -> list[tuple[str, int]]:
    """Options of a branch Select, in tree order and indented: code and name."""
    return [(INDENT * b.depth + f"{b.code} · {b.name}", b.id) for b in branches
            if (b.is_active or not active_only) and b.id != leave_out]


class BranchForm(DatabaseCalls, ModalScreen[Branch | None]):
    """A new branch (`create`: code, name, the branch it belongs under) or a new name (`rename`)."""

    CSS_PATH = "admin_branches.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel"),
                                             Binding("ctrl+s", "save", "Save")]

    def __init__(self, context: ScreenContext, branches: list[Branch], branch: Branch | None = None) -> None:
        super().__init__()
        self.ctx = context
        self.branches = branches
        self.branch = branch

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        with Vertical(id="branch-box") as box:
            box.border_title = escape(f"Rename {self.branch.code}" if self.branch else "New branch")
            if self.branch is None:
                yield FieldRow("Code", Input(id="branch-code", max_length=10, compact=True, placeholder="e.g. NRB01"),
                               name="code")
            name = self.branch.name if self.branch else ""
            yield FieldRow("Name", Input(name, id="branch-name", max_length=100, compact=True), name="name")
            if self.branch is None:
                choices = branch_choices(self.branches)
                yield FieldRow("Under", Select(choices, value=choices[0][1] if choices else Select.NULL,
                                               id="branch-parent", compact=True, prompt="choose a branch"),
                               name="parent")
            with Horizontal(id="branch-buttons"):
                yield Button("Save", id="branch-save", variant="primary", compact=True)
            yield StatusLine("ctrl+s saves · escape cancels", id="status")

    def on_mount(self) -> None:
        self.query("Input").first().focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#branch-save")
    def action_save(self) -> None:
        if self.busy("save"):
            return
        self.show_field_errors({})
        repo = BranchRepository(self.ctx.engine, self.ctx.actor)
        name = self.query_one("#branch-name", Input).value
        branch = self.branch
        if branch is None:
            code = self.query_one("#branch-code", Input).value
            parent = self.query_one("#branch-parent", Select).value
            parent_id = parent if isinstance(parent, int) else None

            def call() -> Branch:
                return repo.create(code, name, parent_id)
        else:
            def call() -> Branch:
                return repo.rename(branch.id, name)
        # A new branch is not made twice by itself: after a lost connection the person saves again.
        self.start("save", call, retry=ASK, working="Saving…", on_done=self._saved)

    def _saved(self, branch: Branch) -> None:
        self.dismiss(branch)

    def action_cancel(self) -> None:
        self.dismiss(None)


class BranchesPane(Vertical):
    DEFAULT_CSS = """
    BranchesPane #branches-status { margin-bottom: 1; }
    BranchesPane #branches { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New"),
        Binding("r", "rename", "Rename"),
        Binding("d", "deactivate", "Deactivate"),
        Binding("a", "reactivate", "Reactivate"),
        Binding("t", "tills_required", "Tills required"),
    ]

    def __init__(self, context: ScreenContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = context
        self.branches: list[Branch] = []

    def compose(self) -> ComposeResult:
        yield StatusLine("Loading the branches…", id="branches-status", classes="status")
        yield DataTable(id="branches", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#branches", DataTable).add_columns("Branch", "Code", "State", right("Staff", 5),
                                                           right("Loans", 5), right("Customers", 9), "Closed to",
                                                           "Tills")
        self.load()

    @property
    def repo(self) -> BranchRepository:
        return BranchRepository(self.ctx.engine, self.ctx.actor)

    def _status(self) -> StatusLine:
        return self.query_one("#branches-status", StatusLine)

    def _failed(self, error: BaseException) -> None:
        self._status().say(refusal(error), kind="error")

    def load(self, select_id: int | None = None, said: str | None = None) -> None:
        repo = self.repo
        run_in(self, "branches", repo.tree, lambda rows: self._show(rows, select_id, said), self._failed,
               working=None)

    def _show(self, branches: list[Branch], select_id: int | None, said: str | None = None) -> None:
        self.branches = branches
        table = self.query_one("#branches", DataTable)
        keep = table.cursor_row
        table.clear()
        table_filled(table)
        for branch in branches:
            table.add_row(plain(tree_label(branch)), plain(branch.code), "Active" if branch.is_active else "Inactive",
                          right(str(branch.staff), 5), right(str(branch.open_loans), 5),
                          right(str(branch.customers), 9),
                          format_date(branch.closed_through) if branch.closed_through else "—",
                          "Required" if branch.tills_required else "—", key=str(branch.id))
        row = next((i for i, b in enumerate(branches) if b.id == select_id), None) if select_id else keep
        if row is not None and 0 <= row < len(branches):
            table.move_cursor(row=row)
        if said:
            self._status().say(said, kind="ok")
        else:
            active = sum(1 for b in branches if b.is_active)
            self._status().say(f"{len(branches)} branches, {active} active. Branches are never deleted: "
                               "deactivate instead.")

    def chosen(self) -> Branch | None:
        table = self.query_one("#branches", DataTable)
        if not self.branches or not 0 <= table.cursor_row < len(self.branches):
            return None
        return self.branches[table.cursor_row]

    def _with_chosen(self) -> Branch | None:
        branch = self.chosen()
        if branch is None:
            self.app.notify("Choose a branch in the list first.", severity="warning")
        return branch

    def _saved(self, branch: Branch | None, what: str) -> None:
        if branch is not None:
            said = f"{branch.code} {branch.name}: {what}."
            self.app.notify(escape(said))
            self.load(branch.id, said)

    def action_new(self) -> None:
        self.app.push_screen(BranchForm(self.ctx, self.branches), lambda b: self._saved(b, "created"))

    def action_rename(self) -> None:
        if branch := self._with_chosen():
            self.app.push_screen(BranchForm(self.ctx, self.branches, branch), lambda b: self._saved(b, "renamed"))

    def _set_active(self, branch: Branch, active: bool) -> None:
        verb = "Reactivate" if active else "Deactivate"
        what = "reactivated" if active else "deactivated"
        repo = self.repo

        def answered(yes: bool | None) -> None:
            if yes:
                # Sets one state: after a lost connection it runs again by itself (twice changes nothing more).
                self._status().say("Saving…")
                run_in(self, "branches-write", lambda: repo.set_active(branch.id, active),
                       lambda b: self._saved(b, what), self._failed, retry=AUTO, working=None)
        question = ("Its staff and customers stay; no new customers or loans should be opened there."
                    if not active else "It takes customers and loans again.")
        lines = [f"{branch.code} · {branch.name} · {branch.staff} staff · {branch.open_loans} open loans", question]
        self.app.push_screen(ConfirmScreen(f"{verb} {branch.code}", lines, question=f"{verb}?"), answered)

    def action_tills_required(self) -> None:
        """Switch whether cash in the chosen branch must go through an open till."""
        branch = self._with_chosen()
        if branch is None:
            return
        required = not branch.tills_required
        repo = self.repo

        def answered(yes: bool | None) -> None:
            if yes:
                # Sets one state: after a lost connection it runs again by itself (twice changes nothing more).
                self._status().say("Saving…")
                run_in(self, "branches-write", lambda: repo.set_tills_required(branch.id, required),
                       lambda b: self._saved(b, "tills required" if required else "tills no longer required"),
                       self._failed, retry=AUTO, working=None)
        lines = [f"{branch.code} · {branch.name}",
                 "Cash repayments and disbursements there are refused until the cashier opens a till."
                 if required else "Cash may be taken there without an open till."]
        verb = "Require tills" if required else "Stop requiring tills"
        self.app.push_screen(ConfirmScreen(f"{verb} in {branch.code}", lines, question=f"{verb}?"), answered)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        branch = self.chosen()
        if action == "deactivate":
            return branch is None or branch.is_active
        if action == "reactivate":
            return branch is not None and not branch.is_active
        return True

    @on(DataTable.RowHighlighted, "#branches")
    def _highlighted(self) -> None:
        self.screen.refresh_bindings()

    def action_deactivate(self) -> None:
        if branch := self._with_chosen():
            self._set_active(branch, False)

    def action_reactivate(self) -> None:
        if branch := self._with_chosen():
            self._set_active(branch, True)
