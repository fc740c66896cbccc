"""A group's page: the group (or center) with its officer, meetings and next meeting; its members with their roles
and dates; the loans taken in it with what they owe and their arrears; the attendance of its last meetings. Keys
for the officer: a adds a member, d removes the highlighted one, e edits the group, x closes it; enter on a loan
opens it. s opens the group's collection sheet for its next meeting, r reprints its last posted sheet."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Header, Static

from db.permissions import COLLECTION_SHEETS
from db.repositories.groups import AttendancePoint, GroupDetail, GroupMember, GroupRepository
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import ASK, DataScreen
from screens.groups import KEEPERS, KINDS
from widgets.dates import format_date
from widgets.footer import KeysFooter
from widgets.money import format_money
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable
from widgets.words import in_words


class GroupPageScreen(DataScreen):
    CSS_PATH = "group_page.tcss"
    screen_name = "group_page"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_member", "Add member"),
        Binding("d", "remove_member", "Remove"),
        Binding("e", "edit", "Edit"),
        Binding("x", "close_group", "Close group"),
        Binding("s", "sheet", "Sheet"),
        Binding("r", "reprint", "Reprint sheet"),
    ]

    def __init__(self, context: ScreenContext, group_id: int) -> None:
        super().__init__(context)
        self.group_id = group_id
        self.detail: GroupDetail | None = None
        self.attendance: list[AttendancePoint] = []
        self._said: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield Static("", id="group-head")
        yield PageTable(("Role", "Customer", "Name", "Joined", "Left"), id="members")
        yield PageTable(("Loan", "Member", "Status", "Owes", "Arrears", "Late", "Next due"), id="loans")
        yield Static("", id="attendance")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Group"
        self.query_one("#members").focus()
        self.load()

    @property
    def repo(self) -> GroupRepository:
        return GroupRepository(self.ctx.engine, self.ctx.actor)

    def load(self, said: str | None = None) -> None:
        if said:
            self._said = said
        repo, today, group_id = self.repo, self.ctx.today(), self.group_id
        self.start("load", lambda: (repo.get(group_id, today=today), repo.attendance_trend(group_id, 8)),
                   working=None, hold=None)

    def done(self, tag: str, result: Any) -> None:
        if tag == "load":
            self._show(*result)
        elif tag == "remove":
            self.load("Member removed: she left the group today.")
        elif tag == "close":
            self.load("Group closed; its memberships ended today.")

    def _show(self, detail: GroupDetail, attendance: list[AttendancePoint]) -> None:
        self.detail = detail
        self.attendance = attendance
        g, currency = detail.group, self.ctx.currency
        center = f" · in center {g.parent_number}" if g.parent_number else ""
        self.query_one("#group-head", Static).update(
            f"[b]{escape(g.group_number)} {escape(g.name)}[/b] · {KINDS.get(g.kind, g.kind)}{escape(center)} · "
            f"{escape(g.branch_code)} · {'closed' if g.status == 'closed' else 'active'}\n"
            f"Officer {escape(g.loan_officer_name)} · meets {escape(g.meetings)}"
            f"{' at ' + escape(g.meeting_place) if g.meeting_place else ''} · next {format_date(g.next_meeting)} · "
            f"{g.member_count} member{'s' * (g.member_count != 1)} · arrears "
            f"{escape(format_money(detail.arrears, currency))}")
        self.query_one("#members", PageTable).fill(
            ((str(m.id), (in_words(m.role), m.customer_number, Text(m.customer_name), format_date(m.joined_on),
                          format_date(m.left_on) if m.left_on else ""))
             for m in detail.members), keep_cursor=True)
        self.query_one("#loans", PageTable).fill(
            ((str(loan.loan_id), (loan.loan_number, Text(loan.customer_name[:20]), in_words(loan.status),
                                  Text(format_money(loan.outstanding), justify="right"),
                                  Text(format_money(loan.arrears), justify="right"),
                                  Text(str(loan.days_past_due) if loan.days_past_due else "", justify="right"),
                                  format_date(loan.next_due_date)))
             for loan in detail.loans), keep_cursor=True)
        self.query_one("#attendance", Static).update(
            "Attendance: " + " · ".join(f"{format_date(p.meeting_date)} {p.attended}/{p.lines}" for p in attendance)
            if attendance else "No meeting posted yet.")
        if self._said:
            self.status.say(self._said, kind="ok")
            self._said = None
        elif not self.status.has_class("-error"):
            self.status.say("a adds a member · d removes one · e edits · tab moves to the loans" if self._keeps()
                            else "tab moves to the loans · enter opens a loan")
        self.refresh_bindings()

    def _keeps(self) -> bool:
        return self.ctx.actor.role in KEEPERS and self.detail is not None and self.detail.group.status == "active"

    def chosen_member(self) -> GroupMember | None:
        if self.detail is None:
            return None
        key = self.query_one("#members", PageTable).current_key()
        return next((m for m in self.detail.members if str(m.id) == key), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add_member", "edit", "close_group"):
            return self._keeps() and (action != "add_member" or self.detail is None
                                      or self.detail.group.kind == "group")
        if action == "remove_member":
            member = self.chosen_member()
            return self._keeps() and member is not None and member.active
        if action == "sheet":
            return (self.ctx.can(COLLECTION_SHEETS) and self.detail is not None
                    and self.detail.group.status == "active")
        if action == "reprint":
            return self.ctx.can(COLLECTION_SHEETS) and bool(self.attendance)
        return True

    def action_sheet(self) -> None:
        """The collection sheet of this group (or center) for its next meeting."""
        from screens.collection_sheet import CollectionSheetScreen

        self.app.push_screen(CollectionSheetScreen(self.ctx, self.group_id), lambda _: self.load())

    def action_reprint(self) -> None:
        """The receipt of the group's last posted sheet, to print again (p on it)."""
        if not self.attendance:
            return
        from screens.sheet_receipt import SheetReceiptScreen

        last = max(self.attendance, key=lambda point: point.meeting_date)
        self.app.push_screen(SheetReceiptScreen(self.ctx, last.sheet_id))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#loans")
    def _open_loan(self, event: DataTable.RowSelected) -> None:
        from screens.loan_detail import LoanDetailScreen

        self.app.push_screen(LoanDetailScreen(self.ctx, int(str(event.row_key.value))))

    def action_add_member(self) -> None:
        if self.detail is None:
            return
        from screens.group_dialogs import AddMemberDialog

        def added(member: object) -> None:
            if isinstance(member, int):
                self.load("Member added.")

        self.app.push_screen(AddMemberDialog(self.ctx, self.detail.group), added)

    def action_remove_member(self) -> None:
        member = self.chosen_member()
        if member is None or not member.active or self.busy("remove"):
            return
        repo, member_id = self.repo, member.id

        def answer(yes: bool | None) -> None:
            if yes:
                # Removing twice is refused by the database (she already left): never run again by itself.
                self.start("remove", lambda: repo.remove_member(member_id), retry=ASK, working="Removing…")

        self.app.push_screen(ConfirmScreen(f"Remove {member.customer_name}", [
            f"{member.customer_number} · {in_words(member.role)} since {format_date(member.joined_on)}",
            "She leaves the group today; a loan taken in the group and still in play keeps her in it."],
            question="Remove?"), answer)

    def action_edit(self) -> None:
        if self.detail is None:
            return
        from screens.group_dialogs import GroupFormDialog

        def saved(group_id: object) -> None:
            if isinstance(group_id, int):
                self.load("Group saved.")

        self.app.push_screen(GroupFormDialog(self.ctx, kind=self.detail.group.kind, group=self.detail.group), saved)

    def action_close_group(self) -> None:
        if self.detail is None or self.busy("close"):
            return
        g, repo = self.detail.group, self.repo

        def answer(yes: bool | None) -> None:
            if yes:
                self.start("close", lambda: repo.close(g.id), retry=ASK, working="Closing…")

        self.app.push_screen(ConfirmScreen(f"Close {g.group_number} {g.name}", [
            "Its memberships end today. A group with a loan still in play, or a center with an active group, "
            "is not closed."], question="Close?"), answer)
