"""Tables that hold one page at a time; cells are plain text (never markup from what someone typed)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from rich.text import Text
from textual.widgets import DataTable

from widgets.dates import format_date
from widgets.money import format_money
from widgets.words import in_words


def cell(value: object, *, right: bool = False) -> Text:
    if isinstance(value, Text):
        return value
    if isinstance(value, Decimal):
        return Text(format_money(value), justify="right")
    if isinstance(value, date):
        return Text(format_date(value))
    return Text("" if value is None else str(value), justify="right" if right else "left")


def table_filled(table: DataTable[Any]) -> None:
    """Wake a table filled from outside its own message queue, so it measures its new rows' widths now
    (it does so when idle, and a table that receives no message would wait for the next key: until then
    its new cells show cut to the old columns' widths)."""
    table.call_later(table.refresh)


class PageTable(DataTable[Text]):
    """A row-cursor table filled a page at a time; `rows_held` is all it keeps in memory."""

    DEFAULT_CSS = """
    PageTable { height: 1fr; }
    """

    def __init__(self, columns: Sequence[str], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._column_names = tuple(columns)

    def on_mount(self) -> None:
        self.add_columns(*self._column_names)

    def fill(self, rows: Iterable[tuple[str, Sequence[object]]], *, keep_cursor: bool = False) -> None:
        """Replace every row: (key, cells) pairs; `keep_cursor` leaves the cursor on the same line."""
        row = self.cursor_row
        self.clear()
        for key, cells in rows:
            self.add_row(*(cell(value) for value in cells), key=key)
        if keep_cursor and self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1))
        self._measure_new_rows()

    def _measure_new_rows(self) -> None:
        """Measure the new rows' cells now, before anything paints them. DataTable measures on idle, and keeps
        the lines it painted before that in caches its column widths do not key: a paint that came first (a
        busy machine, a frame due) left the rows cut to the header's widths until the next key."""
        new_rows = list(self._new_rows)
        self._new_rows.clear()
        self._require_update_dimensions = False
        self._update_dimensions(new_rows)
        self.refresh()

    @property
    def rows_held(self) -> int:
        return self.row_count

    def current_key(self) -> str | None:
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None


class ScheduleLine(Protocol):
    """What a schedule row offers (the repository's ScheduleRow has these)."""

    @property
    def installment_number(self) -> int: ...
    @property
    def due_date(self) -> date: ...
    @property
    def principal_due(self) -> Decimal: ...
    @property
    def interest_due(self) -> Decimal: ...
    @property
    def penalty_due(self) -> Decimal: ...
    @property
    def total_due(self) -> Decimal: ...
    @property
    def total_paid(self) -> Decimal: ...
    @property
    def status(self) -> str: ...
    @property
    def balance_after(self) -> Decimal | None: ...


def schedule_mark(line: ScheduleLine, today: date) -> str:
    """Paid / Overdue (from the due date and today, never stored) / Partly paid / blank.

    An overdue installment that was partly paid reads Overdue: the Paid column beside it shows the part, and
    the mark stays short enough for the whole row to fit 80 columns."""
    if line.status == "paid":
        return in_words("paid")
    if line.due_date < today:
        return "Overdue"
    return in_words("partial") if line.status == "partial" else ""


class ScheduleTable(DataTable[Text]):
    """A repayment schedule: a preview (with the balance after each installment) or a loan's own."""

    DEFAULT_CSS = """
    ScheduleTable { height: 1fr; }
    """

    PREVIEW = ("#", "Due", "Payment", "Balance", "Principal", "Interest")
    LOAN = ("#", "Due", "Principal", "Interest", "Penalty", "Due total", "Paid", "Mark")
    LOAN_NARROW = ("#", "Due", "Principal", "Interest", "Due total", "Paid", "Mark")
    WIDE_FROM = 100
    """Narrower terminals leave out the penalty column (the due total includes it)."""

    def __init__(self, *, preview: bool, **kwargs: object) -> None:
        super().__init__(cursor_type="row", **kwargs)  # type: ignore[arg-type]
        self.preview = preview

    def on_mount(self) -> None:
        self.wide = self.app.size.width >= self.WIDE_FROM
        self.add_columns(*(self.PREVIEW if self.preview else self.LOAN if self.wide else self.LOAN_NARROW))

    def show(self, lines: Iterable[ScheduleLine], today: date) -> None:
        self.clear()
        for line in lines:
            number = cell(line.installment_number, right=True)
            if self.preview:
                self.add_row(number, cell(line.due_date), cell(line.total_due),
                             cell(line.balance_after if line.balance_after is not None else ""),
                             cell(line.principal_due), cell(line.interest_due), key=str(line.installment_number))
            else:
                penalty = (cell(line.penalty_due),) if self.wide else ()
                self.add_row(number, cell(line.due_date), cell(line.principal_due), cell(line.interest_due),
                             *penalty, cell(line.total_due), cell(line.total_paid),
                             cell(schedule_mark(line, today)), key=str(line.installment_number))
