"""A small table of labelled figures (counts and money), right-aligned, with no knowledge of the database."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from rich.table import Table
from textual.widgets import Static

from widgets.money import format_money


def format_figure(value: int | Decimal, is_money: bool, currency: str = "KES") -> str:
    if is_money:
        return format_money(Decimal(value), currency)
    return f"{value:,}"


class FigureTable(Static):
    """Rows of `label … value`; `show` replaces them all at once."""

    DEFAULT_CSS = """
    FigureTable { height: auto; }
    """

    rows: tuple[tuple[str, str], ...] = ()

    def show(self, rows: Iterable[tuple[str, str]]) -> None:
        self.rows = tuple(rows)
        table = Table.grid(expand=True, padding=(0, 1))
        table.add_column("label", ratio=1)  # a long label wraps between words, never cut
        table.add_column("value", justify="right", no_wrap=True)
        for label, value in self.rows:
            table.add_row(label, value)
        self.update(table)
