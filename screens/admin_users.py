"""Administration, users: create, change role, reset password, lock, unlock, deactivate (never delete)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from db.errors import AstrofinError, ValidationError
from db.permissions import role_label
from db.repositories.users import ROLES, StaffMember, UserRepository
from screens.back_office import ConfirmScreen, FieldError, plain, run_db, status_text, table_filled
from screens.context import ScreenContext

FAR_OFF_YEAR = 9000


def account_state(member: StaffMember, now: datetime | None = None) -> str:
    if not member.is_active:
        return "inactive"
    if member.locked_until is not None:
        moment = now or datetime.now().astimezone()
        if member.locked_until.year >= FAR_OFF_YEAR:
            return "locked"
        if member.locked_until > moment:
            return f"locked to {member.locked_until.astimezone():%H:%M}"
    return "active"


class UserForm(ModalScreen[StaffMember | None]):
    """A new account (`create`), a new password (`password`) or a new role (`role`), checked field by field."""

    DEFAULT_CSS = """
    UserForm { align: center middle; }
    UserForm Input { background: $panel; }
    UserForm > Vertical { width: 70; max-width: 100%; height: auto; border: thick $primary;
                          background: $surface; padding: 0 1; }
    UserForm .row { height: 1; margin-top: 1; }
    UserForm .row Label { width: 12; color: $text-muted; }
    UserForm .row Input, UserForm .row Select { width: 1fr; max-width: 40; }
    UserForm #user-status { height: auto; margin-top: 1; color: $text-muted; }
    UserForm #user-status.error { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel"),
                                             Binding("ctrl+s", "save", "Save")]

    def __init__(self, context: ScreenContext, mode: str, member: StaffMember | None = None) -> None:
        super().__init__()
        self.ctx = context
        self.mode = mode
        self.member = member
        self._saving = False

    def _row(self, label: str, widget: Any, field: str) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label(label)
            yield widget
        yield FieldError(id=f"error-{field}")

    def compose(self) -> ComposeResult:
        titles = {"create": "New user", "password": "Reset password", "role": "Change role"}
        with Vertical() as box:
            who = f" — {self.member.username}" if self.member else ""
            box.border_title = escape(titles[self.mode] + who)
            if self.mode == "create":
                yield from self._row("Username", Input(id="user-username", max_length=50, compact=True), "username")
                yield from self._row("Full name", Input(id="user-full-name", max_length=100, compact=True),
                                     "full_name")
            if self.mode in ("create", "role"):
                current = self.member.role if self.member else "cashier"
                yield from self._row("Role", Select([(role_label(r), r) for r in ROLES], value=current,
                                                    allow_blank=False, compact=True, id="user-role"), "role")
            if self.mode in ("create", "password"):
                yield from self._row("Password", Input(id="user-password", password=True, max_length=1024,
                                                       compact=True), "password")
                yield from self._row("Again", Input(id="user-confirm", password=True, max_length=1024,
                                                    compact=True), "confirm")
            with Horizontal(classes="row"):
                yield Label("")
                yield Button("Save", id="user-save", variant="primary", compact=True)
            yield Static("ctrl+s saves · escape cancels", id="user-status")

    def on_mount(self) -> None:
        first = self.query("Input, Select").first()
        first.focus()

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    @on(Input.Submitted)
    @on(Button.Pressed, "#user-save")
    def action_save(self) -> None:
        if self._saving:
            return
        for error in self.query(FieldError).results():
            error.show("")
        repo = UserRepository(self.ctx.engine, self.ctx.actor)
        member = self.member
        if self.mode == "create":
            username, full_name = self._value("#user-username"), self._value("#user-full-name")
            role = str(self.query_one("#user-role", Select).value)
            password, confirm = self._value("#user-password"), self._value("#user-confirm")

            def call() -> StaffMember:
                return repo.create(username, full_name, role, password, confirm)
        elif self.mode == "password" and member is not None:
            password, confirm = self._value("#user-password"), self._value("#user-confirm")

            def call() -> StaffMember:
                return repo.reset_password(member.id, password, confirm)
        elif member is not None:
            role = str(self.query_one("#user-role", Select).value)

            def call() -> StaffMember:
                return repo.change_role(member.id, role)
        else:
            return
        self._saving = True
        status_text(self.query_one("#user-status", Static), "Saving…")
        run_db(self, call, self._saved, self._refused)

    def _saved(self, member: StaffMember) -> None:
        self.dismiss(member)

    def _refused(self, error: AstrofinError) -> None:
        self._saving = False
        status = self.query_one("#user-status", Static)
        if isinstance(error, ValidationError):
            shown = False
            for field, message in error.fields.items():
                target = self.query(f"#error-{field}")
                if target:
                    target.first(FieldError).show(message)
                    shown = True
            status_text(status, "Not saved: see the fields marked." if shown else str(error), error=True)
        else:
            status_text(status, str(error), error=True)

    def action_cancel(self) -> None:
        self.dismiss(None)


class UsersPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New"),
        Binding("r", "role", "Role"),
        Binding("p", "password", "Password"),
        Binding("l", "lock", "Lock"),
        Binding("u", "unlock", "Unlock"),
        Binding("d", "deactivate", "Deactivate"),
        Binding("a", "reactivate", "Reactivate", show=False),
    ]

    def __init__(self, context: ScreenContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = context
        self.members: list[StaffMember] = []

    def compose(self) -> ComposeResult:
        yield Static("Loading staff accounts…", id="users-status", classes="status")
        yield DataTable(id="users", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#users", DataTable).add_columns("Username", "Full name", "Role", "State", "Failed",
                                                        "Last sign-in")
        self.load()

    @property
    def repo(self) -> UserRepository:
        return UserRepository(self.ctx.engine, self.ctx.actor)

    def _status(self) -> Static:
        return self.query_one("#users-status", Static)

    def _failed(self, error: AstrofinError) -> None:
        status_text(self._status(), str(error), error=True)

    def load(self, select_id: int | None = None) -> None:
        repo = self.repo
        run_db(self, repo.list, lambda members: self._show(members, select_id), self._failed, group="users")

    def _show(self, members: list[StaffMember], select_id: int | None) -> None:
        self.members = members
        table = self.query_one("#users", DataTable)
        table.clear()
        table_filled(table)
        for member in members:
            last = member.last_login_at.astimezone().strftime("%Y-%m-%d %H:%M") if member.last_login_at else "never"
            table.add_row(plain(member.username), plain(member.full_name), role_label(member.role),
                          account_state(member),
                          str(member.failed_login_count).rjust(6), last, key=str(member.id))
        if select_id is not None:
            row = next((i for i, m in enumerate(members) if m.id == select_id), None)
            if row is not None:
                table.move_cursor(row=row)
        active = sum(1 for m in members if m.is_active)
        status_text(self._status(), f"{len(members)} accounts, {active} active. Accounts are never deleted: "
                                    "deactivate instead.")

    def chosen(self) -> StaffMember | None:
        table = self.query_one("#users", DataTable)
        if not self.members or table.cursor_row < 0 or table.cursor_row >= len(self.members):
            return None
        return self.members[table.cursor_row]

    def _changed(self, member: StaffMember | None, what: str = "saved") -> None:
        if member is not None:
            self.app.notify(escape(f"{member.username}: {what}."))
            self.load(member.id)

    def action_new(self) -> None:
        self.app.push_screen(UserForm(self.ctx, "create"), lambda m: self._changed(m, "account created"))

    def _with_chosen(self) -> StaffMember | None:
        member = self.chosen()
        if member is None:
            self.app.notify("Choose a user in the list first.", severity="warning")
        return member

    def action_role(self) -> None:
        if member := self._with_chosen():
            self.app.push_screen(UserForm(self.ctx, "role", member), lambda m: self._changed(m, "role changed"))

    def action_password(self) -> None:
        if member := self._with_chosen():
            self.app.push_screen(UserForm(self.ctx, "password", member),
                                 lambda m: self._changed(m, "password reset"))

    def _confirmed(self, verb: str, question: str, call: Any, what: str) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                status_text(self._status(), "Saving…")
                run_db(self, call, lambda m: self._changed(m, what), self._failed, group="users-write")
        self.app.push_screen(ConfirmScreen(question, verb), answered)

    def action_lock(self) -> None:
        if member := self._with_chosen():
            repo = self.repo
            self._confirmed("Lock", f"Lock {member.username}? They cannot sign in until unlocked.",
                            lambda: repo.lock(member.id), "locked")

    def action_unlock(self) -> None:
        if member := self._with_chosen():
            repo = self.repo
            status_text(self._status(), "Saving…")
            run_db(self, lambda: repo.unlock(member.id), lambda m: self._changed(m, "unlocked"), self._failed,
                   group="users-write")

    def action_deactivate(self) -> None:
        if member := self._with_chosen():
            repo = self.repo
            self._confirmed("Deactivate", f"Deactivate {member.username}? The account stays in the records "
                                          "but can no longer sign in.", lambda: repo.deactivate(member.id),
                            "deactivated")

    def action_reactivate(self) -> None:
        if member := self._with_chosen():
            repo = self.repo
            run_db(self, lambda: repo.reactivate(member.id), lambda m: self._changed(m, "reactivated"), self._failed,
                   group="users-write")
