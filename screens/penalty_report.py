"""The reports screen's Penalties tab: late penalties charged, waived and collected per month and branch (the
person's branches), read through the screen's one database path and exportable to CSV."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable

from db.repositories.penalties import PenaltyMonth, PenaltyRepository
from screens.back_office import refusal, right, table_filled
from screens.context import ScreenContext
from screens.data import run_in
from screens.export import export_csv
from widgets.money import format_money
from widgets.status import StatusLine


class PenaltyPane(Vertical):
    DEFAULT_CSS = """
    PenaltyPane { height: 1fr; }
    PenaltyPane DataTable { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.months: list[PenaltyMonth] = []

    def compose(self) -> ComposeResult:
        yield StatusLine("Loading the penalties…", id="penalties-status", classes="status")
        yield DataTable(id="penalties-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Month", "Branch", "Charged", "Waived", "Collected")

    def load(self, context: ScreenContext) -> None:
        repo = PenaltyRepository(context.engine, context.actor)
        run_in(self, "penalties", repo.monthly, self.show, self._failed, working=None)

    def _failed(self, error: BaseException) -> None:
        self.query_one("#penalties-status", StatusLine).say(refusal(error), kind="error")

    def show(self, months: Sequence[PenaltyMonth]) -> None:
        self.months = list(months)
        table = self.query_one(DataTable)
        table.clear()
        table_filled(table)
        for m in self.months:
            table.add_row(m.month.strftime("%b %Y"), Text(m.branch_code),
                          *(right(format_money(v), 12) for v in (m.charged, m.waived, m.collected)))
        self.query_one("#penalties-status", StatusLine).say(
            "Late penalties per month and branch (your branches): charged, waived, collected (less reversals)."
            if self.months else "No late penalties charged, waived or collected yet.")

    def written_to(self, stem: str) -> Path:
        """The months as a CSV file (screens.export) named after `stem`."""
        return export_csv(stem, ["Month", "Branch", "Charged", "Waived", "Collected"],
                          [(m.month, m.branch_code, m.charged, m.waived, m.collected) for m in self.months])
