"""Group reports: arrears per center and group (loans in play, what they owe, what is late, the share late), and
the meetings of the signed-in officer's week with their sheets once posted. Enter opens a group's page."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Header, Static

from db.repositories.groups import GroupArrears, GroupRepository, Meeting
from screens.context import ScreenContext
from screens.data import DataScreen
from screens.groups import KINDS
from widgets.dates import format_date
from widgets.footer import KeysFooter
from widgets.money import format_money
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable


class GroupReportsScreen(DataScreen):
    CSS_PATH = "group_reports.tcss"
    screen_name = "group_reports"

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self.rows: list[GroupArrears] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield Static("[b]Arrears by center and group[/b]", classes="report-title")
        yield PageTable(("Number", "Name", "Kind", "Loans", "Late", "Owes", "Arrears", "%"), id="arrears")
        yield Static("[b]My meetings this week[/b]", classes="report-title")
        yield PageTable(("Day", "Number", "Name", "Place", "Sheet"), id="meetings")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Group reports"
        self.query_one("#arrears").focus()
        repo, today = GroupRepository(self.ctx.engine, self.ctx.actor), self.ctx.today()
        self.start("load", lambda: (repo.arrears_by_group(today), repo.officer_meetings(week_of=today)),
                   working=None, hold=None)

    def done(self, tag: str, result: Any) -> None:
        if tag == "load":
            self._show(*result)

    def _show(self, rows: list[GroupArrears], meetings: list[Meeting]) -> None:
        self.rows = rows
        self.query_one("#arrears", PageTable).fill(
            (str(r.group_id), (r.group_number, Text(("  " if r.parent_number else "") + r.name),
                               KINDS.get(r.kind, r.kind), Text(str(r.loans), justify="right"),
                               Text(str(r.loans_in_arrears), justify="right"),
                               Text(format_money(r.outstanding), justify="right"),
                               Text(format_money(r.arrears), justify="right"),
                               Text(f"{r.arrears_rate}", justify="right")))
            for r in rows)
        self.query_one("#meetings", PageTable).fill(
            (f"{m.group_id}-{m.meeting_date}", (f"{m.meeting_date:%a} {format_date(m.meeting_date)}", m.group_number,
                                                Text(m.name), Text(m.meeting_place or ""),
                                                f"posted ({m.posted_sheet_id})" if m.posted_sheet_id else ""))
            for m in meetings)
        self.status.say("enter opens the group · tab moves to your meetings" if rows else "No group yet.")

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value).split("-")[0]
        if key.isdigit():
            from screens.group_page import GroupPageScreen

            self.app.push_screen(GroupPageScreen(self.ctx, int(key)))
