"""A page table measures the rows it is filled with at once, before anything paints them: DataTable would
measure on idle and keep what it painted before that, so a lookup's results could show cut to the header's
widths on a busy machine until the next key."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult

from widgets.tables import PageTable

COLUMNS = ("Number", "Name", "Phone", "National ID", "Status")
ROW = ("C-000002", "Baraka Kamau", "+254711000002", "", "Active")


class _Holder(App[None]):
    def compose(self) -> ComposeResult:
        yield PageTable(COLUMNS, id="results")


def test_a_filled_table_is_measured_before_it_is_painted() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        app = _Holder()
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one(PageTable)
            await pilot.pause()
            table.fill([("2", ROW)])
            at_once = [column.content_width for column in table.columns.values()]  # no idle has run yet
            table.fill([("3", ("C-000003", "Ann", "", "", "Active"))])
            await pilot.pause()
            return at_once, [column.content_width for column in table.columns.values()]

    at_once, later = asyncio.run(scenario())
    assert at_once == [max(len(name), len(value)) for name, value in zip(COLUMNS, ROW, strict=True)]
    assert later == at_once  # a narrower page keeps the columns: no jumping as pages change
