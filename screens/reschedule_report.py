"""The reports screen's reschedules: approved reschedules per month and branch with the principal they moved, and
the requests waiting for a supervisor (enter opens one). A pane of the reports screen: it reads through the
screen's one database path (`run_in`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from db.repositories.reschedules import Reschedule, RescheduleMonth, RescheduleRepository
from screens.back_office import refusal, right, table_filled
from screens.context import ScreenContext
from screens.data import run_in
from screens.export import export_csv
from screens.reschedule import terms_text
from widgets.dates import format_date
from widgets.money import format_money
from widgets.status import StatusLine
from widgets.tables import PageTable

MONTHS = 12


class ReschedulePane(Vertical):
    DEFAULT_CSS: ClassVar[str] = """
    ReschedulePane { height: 1fr; }
    ReschedulePane #resched-status { height: 1; margin: 1 0 0 0; }
    ReschedulePane #resched-months { height: 1fr; max-height: 8; }
    ReschedulePane #resched-pending-title { height: 1; color: $text-muted; }
    ReschedulePane #resched-pending { height: 1fr; }
    """

    def __init__(self, context: ScreenContext, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self.ctx = context
        self.months: list[RescheduleMonth] = []
        self.pending: list[Reschedule] = []

    def compose(self) -> ComposeResult:
        yield StatusLine("Loading reschedules…", id="resched-status")
        yield DataTable(id="resched-months", cursor_type="row", zebra_stripes=True)
        yield Static("Waiting for approval (enter opens one)", id="resched-pending-title")
        yield PageTable(("Requested", "Loan", "Customer", "By", "Terms"), id="resched-pending")

    def on_mount(self) -> None:
        self.query_one("#resched-months", DataTable).add_columns("Month", "Branch", "Reschedules",
                                                                 "Outstanding moved")

    def load(self) -> None:
        repo = RescheduleRepository(self.ctx.engine, self.ctx.actor)
        run_in(self, "reschedules", lambda: (repo.monthly(MONTHS), repo.pending()), self._show,
               self._failed, working=None)

    def _failed(self, error: BaseException) -> None:
        self.query_one("#resched-status", StatusLine).say(refusal(error), kind="error")

    def _show(self, result: tuple[Sequence[RescheduleMonth], Sequence[Reschedule]]) -> None:
        self.months, self.pending = list(result[0]), list(result[1])
        table = self.query_one("#resched-months", DataTable)
        table.clear()
        table_filled(table)
        for m in self.months:
            table.add_row(m.month.strftime("%b %Y"), m.branch_code, right(f"{m.reschedules:,}", 11),
                          right(format_money(m.outstanding_moved, self.ctx.currency), 17))
        self.query_one("#resched-pending", PageTable).fill(
            (str(r.id), (format_date(r.requested_at.date()), r.loan_number, r.customer_name, r.requested_by_name,
                         terms_text(r.terms))) for r in self.pending)
        total = sum(m.reschedules for m in self.months)
        self.query_one("#resched-status", StatusLine).say(
            f"Approved reschedules in the last {MONTHS} months by branch: {total}; {len(self.pending)} waiting.")

    @on(PageTable.RowSelected, "#resched-pending")
    def _open(self) -> None:
        key = self.query_one("#resched-pending", PageTable).current_key()
        chosen = next((r for r in self.pending if str(r.id) == key), None)
        if chosen is not None:
            from screens.reschedule import RescheduleScreen

            self.app.push_screen(RescheduleScreen(self.ctx, chosen.loan_id), lambda _: self.load())

    def written_to(self, stem: str) -> Path:
        """The months as a CSV file (screens.export) named after `stem`."""
        return export_csv(stem, ["Month", "Branch", "Reschedules", "Outstanding moved"],
                          [(m.month, m.branch_code, m.reschedules, m.outstanding_moved) for m in self.months])
