"""Half of a side-by-side schedule: one row per installment with its due date, principal and total (and, on
wider terminals, interest); installments already paid in part show what they received."""

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
    NARROW = ("#", "Due", "Principal", "Total")
    WIDE = ("#", "Due", "Principal", "Interest", "Total", "Paid")
    WIDE_FROM = 120

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)

    def on_mount(self) -> None:
        self.wide = self.app.size.width >= self.WIDE_FROM
        self.add_columns(*(self.WIDE if self.wide else self.NARROW))

    def show(self, lines: Iterable[ScheduleLine]) -> None:
        self.clear()
        for line in lines:
            if self.wide:
                self.add_row(cell(line.installment_number, right=True), cell(line.due_date), cell(line.principal_due),
                             cell(line.interest_due), cell(line.total_due), cell(line.total_paid),
                             key=str(line.installment_number))
            else:
                self.add_row(cell(line.installment_number, right=True), cell(line.due_date), cell(line.principal_due),
                             cell(line.total_due), key=str(line.installment_number))
