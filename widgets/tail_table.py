"""Half of a side-by-side schedule: one row per installment with its due date and what it still owes (due less
paid); from 120 columns also its principal and interest."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from widgets.tables import ScheduleLine, cell


class TailTable(DataTable[Text]):
    DEFAULT_CSS = """
    TailTable { height: 1fr; }
    """
    NARROW = ("#", "Due", "Owed")
    WIDE = ("#", "Due", "Principal", "Interest", "Owed")
    WIDE_FROM = 120

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)

    def on_mount(self) -> None:
        self.wide = self.app.size.width >= self.WIDE_FROM
        self.add_columns(*(self.WIDE if self.wide else self.NARROW))

    def show(self, lines: Iterable[ScheduleLine]) -> None:
        self.clear()
        for line in lines:
            parts = (cell(line.principal_due), cell(line.interest_due)) if self.wide else ()
            self.add_row(cell(line.installment_number, right=True), cell(line.due_date), *parts,
                         cell(line.total_due - line.total_paid), key=str(line.installment_number))
