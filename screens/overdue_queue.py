"""The overdue queue: loans by days past due, filtered by branch (with or without the branches below), arrears
bucket and officer (a loan officer sees their own loans first, or only theirs); reminders to one or the selected
loans; the list exported as CSV, a page at a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Checkbox, Header, Label, Select, Static

from db.repositories.branch_scope import BranchOption, BranchScopeRepository
from db.repositories.loans import LoanRepository
from db.repositories.reports import BUCKETS, QUEUE_PAGE, OverdueLoan, OverduePage, ReportRepository
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import ASK, DataScreen
from screens.export import export_csv
from widgets.branch_picker import BranchPicker
from widgets.footer import KeysFooter
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable

CSV_COLUMNS = ("loan_number", "customer_name", "phone", "days_past_due", "amount_overdue", "oldest_due_date",
               "outstanding_principal", "loan_officer_name")


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows: a bucket, one officer's loans, the actor's loans first, one branch (or all)."""

    bucket: str | None = None
    officer: int | None = None
    officer_first: bool = False
    branch_id: int | None = None
    with_children: bool = True


def export_queue(repo: ReportRepository, as_of: date, chosen: QueueFilter) -> tuple[str, int]:
    """Write the whole filtered queue to a new private CSV file, one page in memory at a time."""
    count = 0

    def rows() -> Iterator[list[object]]:
        nonlocal count
        after: OverdueLoan | None = None
        while True:
            page = repo.overdue_queue(as_of, bucket=chosen.bucket, officer_id=chosen.officer,
                                      officer_first=chosen.officer_first, after=after, branch_id=chosen.branch_id,
                                      with_children=chosen.with_children)
            for row in page.rows:
                yield [getattr(row, name) for name in CSV_COLUMNS]
            count += len(page.rows)
            if not page.more or not page.rows:
                return
            after = page.rows[-1]

    path = export_csv(f"overdue-{as_of.isoformat()}", CSV_COLUMNS, rows())
    return str(path), count


class OverdueQueueScreen(DataScreen):
    CSS_PATH = "overdue_queue.tcss"
    screen_name = "overdue_queue"
    AUTO_FOCUS = "#queue"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "pick", "Select"),
        Binding("m", "remind", "Remind"),
        Binding("x", "export", "CSV"),
        Binding("ctrl+n", "page(1)", "Next page"),
        Binding("ctrl+b", "page(-1)", "Prev page"),
    ]

    page_size = QUEUE_PAGE

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self.selected: set[int] = set()
        self.page = OverduePage((), False)
        self._starts: list[OverdueLoan | None] = [None]
        self.officer_view = context.actor.role == "loan_officer"
        # The staff member's own branch with those below (everything they may see), a loan officer's loans first.
        self.branch_id: int | None = context.actor.branch_id
        self.with_children = True
        self.branches: list[BranchOption] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        with Horizontal(id="scope"):
            yield BranchPicker(self.branch_id, self.with_children, id="branch")
            if self.officer_view:
                yield Checkbox("my loans only", False, compact=True, id="mine")
        with Horizontal(id="filters"):
            yield Label("Bucket")
            yield Select([(label, label) for label, _, _ in BUCKETS if label != "current"], id="bucket",
                         prompt="all late", compact=True)
            yield Label("Officer")
            yield Select([], id="officer", prompt="all officers", compact=True)
        yield PageTable(("", "Loan", "Customer", "Phone", "Days", "Overdue", "Officer"), id="queue")
        yield Static("", id="paging")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Overdue queue"
        loans = LoanRepository(self.ctx.engine, self.ctx.actor)
        self.start("officers", loans.loan_officers, working=None, hold=None)  # a background fill: no key waits
        scope = BranchScopeRepository(self.ctx.engine, self.ctx.actor)
        self.start("branches", scope.visible_branches, working=None, hold=None)
        self.load()

    @property
    def repo(self) -> ReportRepository:
        return ReportRepository(self.ctx.engine, self.ctx.actor)

    @property
    def only_mine(self) -> bool:
        return self.officer_view and self.query_one("#mine", Checkbox).value

    def _filters(self) -> QueueFilter:
        bucket = self.query_one("#bucket", Select).value
        officer = self.query_one("#officer", Select).value
        if self.only_mine:
            officer = self.ctx.actor.user_id
        return QueueFilter(bucket if isinstance(bucket, str) else None, officer if isinstance(officer, int) else None,
                           self.officer_view and not self.only_mine, self.branch_id, self.with_children)

    def load(self) -> None:
        repo, today, size, after = self.repo, self.ctx.today(), self.page_size, self._starts[-1]
        chosen = self._filters()
        self.start("queue", lambda: repo.overdue_queue(today, bucket=chosen.bucket, officer_id=chosen.officer,
                                                       officer_first=chosen.officer_first, after=after, limit=size,
                                                       branch_id=chosen.branch_id,
                                                       with_children=chosen.with_children),
                   working="loading the queue…")

    @on(Select.Changed, "#bucket, #officer")
    @on(Checkbox.Changed, "#mine")
    def _filter(self) -> None:
        if self.is_mounted:
            self._starts = [None]
            self.selected.clear()
            self.load()

    @on(BranchPicker.Changed, "#branch")
    def _branch_changed(self, event: BranchPicker.Changed) -> None:
        self.branch_id, self.with_children = event.branch_id, event.with_children
        self._filter()

    def _show_branches(self, branches: Sequence[BranchOption]) -> None:
        self.branches = list(branches)
        self.query_one("#branch", BranchPicker).set_branches((b.label, b.id) for b in self.branches)

    def done(self, tag: str, result: Any) -> None:
        if tag == "officers":
            self.query_one("#officer", Select).set_options((s.full_name, s.id) for s in result)
        elif tag == "branches":
            self._show_branches(result)
        elif tag == "queue":
            self.page = result
            self._draw()
        elif tag == "remind":
            asked, queued = result
            skipped = asked - queued
            self.status.say(f"Queued {queued} reminder{'s' * (queued != 1)}"
                            + (f"; {skipped} already reminded today or without a phone" if skipped else "")
                            + ".", kind="ok")
            self.selected.clear()
            self._draw()
        elif tag == "export":
            path, count = result
            self.status.say(f"Exported {count} loans to {path}", kind="ok")

    def _draw(self) -> None:
        self.refresh_bindings()
        table = self.query_one("#queue", PageTable)
        cursor = table.cursor_row
        # R beside the loan number: a reschedule replaced its schedule (and it is late again).
        table.fill((str(r.loan_id), ("✓" if r.loan_id in self.selected else " ",
                                     r.loan_number + (" R" if r.rescheduled else ""), r.customer_name,
                                     r.phone or "—", r.days_past_due, r.amount_overdue, r.loan_officer_name or "—"))
                   for r in self.page.rows)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        number = len(self._starts)
        parts = [f"Page {number}"]
        if any(r.rescheduled for r in self.page.rows):
            parts.append("R rescheduled")
        if self.officer_view:
            parts.append("only your loans" if self.only_mine else "your loans first")
        if self.page.more:
            parts.append("ctrl+n next page")
        if number > 1:
            parts.append("ctrl+b previous page")
        if self.selected:
            parts.append(f"{len(self.selected)} selected")
        self.query_one("#paging", Static).update(" · ".join(parts))
        if not self.status.has_class("-ok"):
            self.status.say("enter opens · space selects · m reminds · x exports CSV" if self.page.rows
                            else "No loan is late. Nothing to chase today.")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "page":
            forward = bool(parameters) and int(str(parameters[0])) > 0
            return bool(self.page.more) if forward else len(self._starts) > 1
        return super().check_action(action, parameters)

    @on(PageTable.RowSelected, "#queue")
    def _open(self, event: PageTable.RowSelected) -> None:
        from screens.loan_detail import LoanDetailScreen

        self.app.push_screen(LoanDetailScreen(self.ctx, int(str(event.row_key.value))))

    def action_page(self, step: int) -> None:
        if step > 0 and self.page.more and self.page.rows:
            self._starts.append(self.page.rows[-1])
        elif step < 0 and len(self._starts) > 1:
            self._starts.pop()
        else:
            return
        self.status.clear()
        self.load()

    def _current(self) -> OverdueLoan | None:
        key = self.query_one("#queue", PageTable).current_key()
        return next((r for r in self.page.rows if str(r.loan_id) == key), None)

    def action_pick(self) -> None:
        row = self._current()
        if row is None:
            return
        self.selected.symmetric_difference_update({row.loan_id})
        self.status.clear()
        self._draw()

    def action_remind(self) -> None:
        if self.busy("remind"):
            return
        chosen = [r for r in self.page.rows if r.loan_id in self.selected]
        if not chosen:
            current = self._current()
            chosen = [current] if current else []
        if not chosen:
            return
        lines = [f"{r.loan_number} · {r.customer_name} · {r.days_past_due} days late" for r in chosen[:8]]
        if len(chosen) > 8:
            lines.append(f"… and {len(chosen) - 8} more")
        ids, repo, today = [r.loan_id for r in chosen], self.repo, self.ctx.today()

        def answer(yes: bool | None) -> None:
            if yes:
                self.start("remind", lambda: (len(ids), repo.remind(ids, today)), retry=ASK,
                           working="queueing reminders…")

        self.app.push_screen(ConfirmScreen(f"Send {len(chosen)} SMS reminder{'s' * (len(chosen) != 1)}", lines,
                                           question="Queue them?"), answer)

    def action_export(self) -> None:
        if self.busy("export"):
            return
        repo, today, chosen = self.repo, self.ctx.today(), self._filters()
        self.start("export", lambda: export_queue(repo, today, chosen), working="exporting…")
