"""Dialogs about groups: a new or changed group or center (name, center, officer, meeting day, frequency, first
meeting, place) and a new member (customer number, role, day joined). Each checks what was typed, writes through
the one database path and shows each refusal beside its field (the database's rules: GroupRepository)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from db.errors import ValidationError
from db.repositories.customers import CustomerRepository
from db.repositories.groups import FREQUENCIES, ROLES, WEEKDAYS, GroupForm, GroupRepository, GroupSummary
from db.repositories.loans import LoanRepository
from screens.context import ScreenContext
from screens.data import ASK, DatabaseCalls
from widgets.dates import DateError, format_for_typing, parse_date
from widgets.fields import FieldRow
from widgets.status import ConnectionBanner, StatusLine
from widgets.words import in_words

KEYS = "ctrl+s saves · escape closes"
FIELDS = {"loan_officer_id": "officer", "meeting_weekday": "weekday", "meeting_frequency": "frequency",
          "first_meeting_date": "first", "meeting_place": "place", "parent_id": "center", "customer_id": "customer",
          "joined_on": "joined", "group_id": "customer"}
"""The database's names of the fields it refuses, as the dialogs name them (`name` and `role` in both)."""


class GroupDialog(DatabaseCalls, ModalScreen[object]):
    """What the group dialogs share: the repository, a save key, escape, refusals beside their fields."""

    CSS_PATH = "group_dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Close"),
                                             Binding("ctrl+s", "save", "Save")]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__()
        self.ctx = context

    @property
    def repo(self) -> GroupRepository:
        return GroupRepository(self.ctx.engine, self.ctx.actor)

    def failed(self, tag: str, error: BaseException) -> None:
        if isinstance(error, ValidationError):
            self.show_field_errors({FIELDS.get(name, name): message for name, message in error.fields.items()})
        else:
            super().failed(tag, error)

    def action_save(self) -> None:
        """Dialogs check, then write."""

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _saved(self, result: object) -> None:
        self.dismiss(result)


class GroupFormDialog(GroupDialog):
    """A new group or center (kind), or changes to one (group). A group in a center meets at the center's
    meetings: its meeting fields are not asked."""

    def __init__(self, context: ScreenContext, *, kind: str, group: GroupSummary | None = None) -> None:
        super().__init__(context)
        self.kind = kind
        self.group = group

    def _in_center(self) -> bool:
        return self.group is not None and self.group.parent_id is not None

    def compose(self) -> ComposeResult:
        g = self.group
        yield ConnectionBanner()
        with Vertical(id="dialog-box") as box:
            what = "center" if self.kind == "center" else "group"
            box.border_title = f"Edit {g.group_number}" if g else f"New {what}"
            yield FieldRow("Name", Input(g.name if g else "", id="group-name", max_length=100, compact=True),
                           name="name")
            if self.kind == "group" and g is None:
                yield FieldRow("Center", Select([], id="group-center", prompt="(none: meets on its own)",
                                                compact=True), name="center")
            yield FieldRow("Officer", Select([], id="group-officer", prompt="choose the officer", compact=True),
                           name="officer")
            yield FieldRow("Meets on", Select([(day, n) for n, day in enumerate(WEEKDAYS, 1)], id="group-weekday",
                                              value=g.meeting_weekday if g else 2, compact=True), name="weekday")
            yield FieldRow("Every", Select([("week", "weekly"), ("two weeks", "biweekly")], id="group-frequency",
                                           value=g.meeting_frequency if g else FREQUENCIES[0], compact=True),
                           name="frequency")
            yield FieldRow("First meeting", Input(format_for_typing(g.first_meeting_date) if g else "",
                                                  id="group-first", compact=True, placeholder="optional, 08/12/2026"),
                           name="first")
            yield FieldRow("Place", Input(g.meeting_place or "" if g else "", id="group-place", max_length=200,
                                          compact=True), name="place")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="group-save", variant="primary", compact=True)
            yield StatusLine(KEYS, id="status")

    def on_mount(self) -> None:
        self.query_one("#group-name", Input).focus()
        for name in ("weekday", "frequency", "first"):
            self.query_one(f"#field-{name}").display = not self._in_center()
        groups, loans = self.repo, LoanRepository(self.ctx.engine, self.ctx.actor)
        with_centers = self.kind == "group" and self.group is None
        self.start("choices", lambda: (loans.loan_officers(),
                                       groups.list_groups(kind="center") if with_centers else []),
                   working="Reading the officers…", on_done=self._choices)

    def _choices(self, answer: tuple[list[object], list[GroupSummary]]) -> None:
        officers, centers = answer
        picker = self.query_one("#group-officer", Select)
        picker.set_options([(getattr(o, "full_name", ""), getattr(o, "id", 0)) for o in officers])
        want = self.group.loan_officer_id if self.group else self.ctx.actor.user_id
        if any(getattr(o, "id", None) == want for o in officers):
            picker.value = want
        if centers:
            self.query_one("#group-center", Select).set_options([(f"{c.group_number} {c.name}", c.id)
                                                                 for c in centers])
        self.status.say(KEYS)

    @on(Select.Changed, "#group-center")
    def _center_picked(self, event: Select.Changed) -> None:
        in_center = isinstance(event.value, int)
        for name in ("weekday", "frequency", "first"):
            self.query_one(f"#field-{name}").display = not in_center

    @on(Input.Submitted)
    @on(Button.Pressed, "#group-save")
    def action_save(self) -> None:
        if self.busy("save") or self.busy("choices"):
            return
        errors: dict[str, str] = {}
        name = self.query_one("#group-name", Input).value.strip()
        if not name:
            errors["name"] = "name the group, e.g. Upendo Women Group"
        officer = self.query_one("#group-officer", Select).value
        if not isinstance(officer, int):
            errors["officer"] = "choose the officer who runs its meetings"
        first: date | None = None
        try:
            first = parse_date(self.query_one("#group-first", Input).value, required=False)
        except DateError as exc:
            errors["first"] = str(exc)
        weekday = self.query_one("#group-weekday", Select).value
        if first is not None and isinstance(weekday, int) and first.isoweekday() != weekday:
            errors["first"] = f"the first meeting is a {first:%A}, not a {WEEKDAYS[weekday - 1]}"
        self.show_field_errors(errors)
        if errors or not isinstance(officer, int):
            return
        parent = None
        if self.query("#group-center"):  # a new group may sit in a center
            value = self.query_one("#group-center", Select).value
            parent = value if isinstance(value, int) else None
        frequency = self.query_one("#group-frequency", Select).value
        form = GroupForm(kind=self.kind, name=name, loan_officer_id=officer,
                         meeting_weekday=weekday if isinstance(weekday, int) else None,
                         meeting_frequency=frequency if isinstance(frequency, str) else None,
                         first_meeting_date=first, meeting_place=self.query_one("#group-place", Input).value.strip()
                         or None, parent_id=parent)
        repo, group = self.repo, self.group
        if group is None:
            self.start("save", lambda: repo.create(form), retry=ASK, working="Saving…", on_done=self._saved)
        else:
            group_id = group.id

            def update() -> int:
                repo.update(group_id, form)
                return group_id

            self.start("save", update, retry=ASK, working="Saving…", on_done=self._saved)


class AddMemberDialog(GroupDialog):
    """A customer of the branch joins the group: their number, their role, the day they joined (today when
    empty)."""

    def __init__(self, context: ScreenContext, group: GroupSummary) -> None:
        super().__init__(context)
        self.group = group

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        with Vertical(id="dialog-box") as box:
            box.border_title = f"New member of {self.group.group_number}"
            yield FieldRow("Customer", Input(id="member-customer", max_length=20, compact=True,
                                             placeholder="customer number, e.g. C-000123"), name="customer")
            yield FieldRow("Role", Select([(in_words(r), r) for r in ROLES], id="member-role", value="member",
                                          compact=True), name="role")
            yield FieldRow("Joined", Input(id="member-joined", compact=True, placeholder="today, or 01/12/2026"),
                           name="joined")
            yield Static("", id="member-name")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add member", id="member-save", variant="primary", compact=True)
            yield StatusLine(KEYS, id="status")

    def on_mount(self) -> None:
        self.query_one("#member-customer", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#member-save")
    def action_save(self) -> None:
        if self.busy("save"):
            return
        errors: dict[str, str] = {}
        number = self.query_one("#member-customer", Input).value.strip().upper()
        if not number:
            errors["customer"] = "type the customer's number, e.g. C-000123"
        joined: date | None = None
        try:
            joined = parse_date(self.query_one("#member-joined", Input).value, required=False,
                                latest=self.ctx.today())
        except DateError as exc:
            errors["joined"] = str(exc)
        self.show_field_errors(errors)
        if errors:
            return
        role = str(self.query_one("#member-role", Select).value)
        customers, repo, group_id = CustomerRepository(self.ctx.engine, self.ctx.actor), self.repo, self.group.id

        def add() -> int:
            found = [row for row in customers.search(number, limit=6).rows if row.customer_number == number]
            if not found:
                raise ValidationError({"customer": f"no customer {number} in your branches"})
            return repo.add_member(group_id, found[0].id, role, joined)

        self.start("save", add, retry=ASK, working="Adding the member…", on_done=self._saved)
