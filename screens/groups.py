"""Groups and centers of the branch: number, name, kind, officer, meetings, members and next meeting. Enter opens a
group's page; n adds a group, c a center (loan officers and supervisors: the database refuses the others); m shows
only the signed-in officer's; r opens the group reports."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Header, Static

from db.repositories.groups import GroupRepository, GroupSummary
from screens.context import ScreenContext
from screens.data import DataScreen
from widgets.dates import format_date
from widgets.footer import KeysFooter
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable

KINDS = {"center": "Center", "group": "Group"}
KEEPERS = ("loan_officer", "supervisor")
"""Roles that keep groups (create, edit, members): the database's grants say the same."""


class GroupsScreen(DataScreen):
    CSS_PATH = "groups.tcss"
    screen_name = "groups"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new('group')", "New group"),
        Binding("c", "new('center')", "New center"),
        Binding("m", "mine", "My groups"),
        Binding("r", "reports", "Reports"),
    ]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self.groups: list[GroupSummary] = []
        self.mine = False
        self._said: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield Static("", id="groups-title")
        yield PageTable(("Number", "Name", "Kind", "Officer", "Meets", "Members", "Next"), id="groups")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Groups"
        self.query_one("#groups").focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @property
    def repo(self) -> GroupRepository:
        return GroupRepository(self.ctx.engine, self.ctx.actor)

    def load(self, said: str | None = None) -> None:
        if said:
            self._said = said
        repo, today = self.repo, self.ctx.today()
        officer = self.ctx.actor.user_id if self.mine else None
        self.start("load", lambda: repo.list_groups(officer_id=officer, today=today), working=None, hold=None)

    def done(self, tag: str, result: Any) -> None:
        if tag == "load":
            self._show(result)

    def _show(self, groups: list[GroupSummary]) -> None:
        self.groups = groups
        self.query_one("#groups-title", Static).update(
            f"[b]{'My groups' if self.mine else 'Groups and centers'}[/b] · {len(groups)}")
        self.query_one("#groups", PageTable).fill(
            ((str(g.id), (g.group_number, Text(("  " if g.parent_id else "") + g.name), KINDS.get(g.kind, g.kind),
                          Text(g.loan_officer_name[:18]), Text(g.meetings), Text(str(g.member_count), justify="right"),
                          format_date(g.next_meeting)))
             for g in _in_centers(groups)), keep_cursor=True)
        if self._said:
            self.status.say(self._said, kind="ok")
            self._said = None
        elif not groups:
            self.status.say("No group yet: n adds a group, c a center." if self._keeps() else "No group yet.")
        else:
            self.status.say("enter opens the group · m my groups · r reports")

    def _keeps(self) -> bool:
        return self.ctx.actor.role in KEEPERS

    def chosen(self) -> GroupSummary | None:
        key = self.query_one("#groups", PageTable).current_key()
        return next((g for g in self.groups if str(g.id) == key), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "new":
            return self._keeps()
        return True

    @on(DataTable.RowSelected, "#groups")
    def _open(self) -> None:
        group = self.chosen()
        if group is not None:
            from screens.group_page import GroupPageScreen

            self.app.push_screen(GroupPageScreen(self.ctx, group.id))

    def action_new(self, kind: str) -> None:
        from screens.group_dialogs import GroupFormDialog

        def saved(group_id: object) -> None:
            if isinstance(group_id, int):
                self.load(f"{KINDS[kind]} saved.")

        self.app.push_screen(GroupFormDialog(self.ctx, kind=kind), saved)

    def action_mine(self) -> None:
        self.mine = not self.mine
        self.load()

    def action_reports(self) -> None:
        from screens.group_reports import GroupReportsScreen

        self.app.push_screen(GroupReportsScreen(self.ctx))


def _in_centers(groups: list[GroupSummary]) -> list[GroupSummary]:
    """Each center followed by its groups, then the groups on their own, by number."""
    by_parent: dict[int, list[GroupSummary]] = {}
    for g in groups:
        if g.parent_id is not None:
            by_parent.setdefault(g.parent_id, []).append(g)
    seen = {g.id for g in groups}
    ordered: list[GroupSummary] = []
    for g in groups:
        if g.parent_id is None or g.parent_id not in seen:
            ordered.append(g)
            ordered.extend(by_parent.get(g.id, []) if g.kind == "center" else [])
    return ordered
