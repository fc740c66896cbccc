"""A loan's reschedules, newest first, and the schedule rows each approved one replaced, as they were."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Header, Static

from db.repositories.reschedules import OldRow, Reschedule, RescheduleRepository
from screens.context import ScreenContext
from screens.data import DataScreen
from screens.reschedule import terms_text
from widgets.dates import format_date
from widgets.footer import KeysFooter
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable
from widgets.tail_table import TailTable
from widgets.words import in_words


class RescheduleHistoryScreen(DataScreen):
    CSS_PATH = "reschedule_history.tcss"
    screen_name = "reschedule_history"

    def __init__(self, context: ScreenContext, loan_id: int, loan_number: str) -> None:
        super().__init__(context)
        self.loan_id = loan_id
        self.loan_number = loan_number
        self.old: list[OldRow] = []
        self.reschedules: list[Reschedule] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield PageTable(("Decided", "Status", "Terms", "Reason / note"), id="reschedules")
        yield Static("", id="old-title")
        yield TailTable(id="old-rows")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = f"Reschedules of {self.loan_number}"
        repo, loan_id = RescheduleRepository(self.ctx.engine, self.ctx.actor), self.loan_id
        self.start("load", lambda: (repo.for_loan(loan_id), repo.history(loan_id)), working="loading…")

    def done(self, tag: str, result: Any) -> None:
        self.reschedules, self.old = result
        rows = [(str(r.id), (r.decided_at.date() if r.decided_at else r.requested_at.date(), in_words(r.status),
                             terms_text(r.terms), " / ".join(x for x in (r.reason, r.decision_note or "") if x)))
                for r in self.reschedules]
        table = self.query_one("#reschedules", PageTable)
        table.fill(rows)
        table.focus()
        self.status.say("Up and down choose a reschedule; its old rows show below." if rows else
                        "This loan was never rescheduled.")
        self._show_old()

    @on(PageTable.RowHighlighted, "#reschedules")
    def _show_old(self) -> None:
        key = self.query_one("#reschedules", PageTable).current_key()
        chosen = next((r for r in self.reschedules if str(r.id) == key), None)
        rows = [o.row for o in self.old if chosen is not None and o.reschedule_id == chosen.id]
        title = self.query_one("#old-title", Static)
        if chosen is None or chosen.status != "approved":
            title.update("No rows replaced." if chosen is not None else "")
        else:
            title.update(f"Replaced on {format_date(chosen.decided_at.date() if chosen.decided_at else None)} "
                         f"by {chosen.decided_by_name or '—'}: {len(rows)} rows as they were")
        self.query_one("#old-rows", TailTable).show(rows)
