"""Administration, users: create, change role or branch, reset password, lock, unlock, deactivate (never delete).

The user form makes its own calls through the one database path (it is a DatabaseCalls screen): a lost
connection shows its banner and keeps what was typed; the pane's calls run on the admin screen (run_in).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Select

from db.permissions import role_label
from db.repositories.branches import Branch, BranchRepository
from db.repositories.users import ROLES, StaffMember, UserRepository
from screens.admin_branches import branch_choices
from screens.back_office import plain, refusal, table_filled, when
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import ASK, AUTO, DatabaseCalls, run_in
from widgets.fields import FieldRow
from widgets.status import ConnectionBanner, StatusLine

FAR_OFF_YEAR = 9000


def account_state(member: StaffMember, now: datetime | None = None) -> str:
    if not member.is_active:
        return "Inactive"
    if member.locked_until is not None:
        moment = now or datetime.now().astimezone()
        if member.locked_until.year >= FAR_OFF_YEAR:
            return "Locked"
        if member.locked_until > moment:
            return f"Locked to {member.locked_until.astimezone():%H:%M}"
    return "Active"


class UserSaved:
    """What the user form saved, and the sentence that tells the administrator."""

    def __init__(self, member: StaffMember, said: str) -> None:
        self.member = member
        self.said = said


class UserForm(DatabaseCalls, ModalScreen[UserSaved | None]):
    """A new account (`create`), a new password (`password`), a new role (`role`) or another branch (`branch`),
    checked field by field. The branch is chosen from the branches of the tree, once they are read."""

    DEFAULT_CSS = """
    UserForm { align: center middle; }
    UserForm Input { background: $panel; }
    UserForm > Vertical { width: 70; max-width: 100%; height: auto; border: thick $primary;
                          background: $surface; padding: 0 1; }
    UserForm FieldRow { margin-top: 1; }
    UserForm FieldRow Input, UserForm FieldRow Select { width: 1fr; max-width: 40; }
    UserForm #user-buttons { height: 1; margin-top: 1; padding-left: 16; }
    UserForm #status { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel"),
                                             Binding("ctrl+s", "save", "Save")]

    def __init__(self, context: ScreenContext, mode: str, member: StaffMember | None = None) -> None:
        super().__init__()
        self.ctx = context
        self.mode = mode
        self.member = member

    def compose(self) -> ComposeResult:
        titles = {"create": "New user", "password": "Reset password", "role": "Change role",
                  "branch": "Change branch"}
        yield ConnectionBanner()
        with Vertical() as box:
            who = f" — {self.member.username}" if self.member else ""
            box.border_title = escape(titles[self.mode] + who)
            if self.mode == "create":
                yield FieldRow("Username", Input(id="user-username", max_length=50, compact=True), name="username")
                yield FieldRow("Full name", Input(id="user-full-name", max_length=100, compact=True),
                               name="full_name")
            if self.mode in ("create", "role"):
                current = self.member.role if self.member else "cashier"
                yield FieldRow("Role", Select([(role_label(r), r) for r in ROLES], value=current, allow_blank=False,
                                              compact=True, id="user-role"), name="role")
            if self.mode in ("create", "branch"):
                yield FieldRow("Branch", Select([], id="user-branch", compact=True, prompt="reading the branches…"),
                               name="branch")
            if self.mode in ("create", "password"):
                yield FieldRow("Password", Input(id="user-password", password=True, max_length=1024, compact=True),
                               name="password")
                yield FieldRow("Again", Input(id="user-confirm", password=True, max_length=1024, compact=True),
                               name="confirm")
            with Horizontal(id="user-buttons"):
                yield Button("Save", id="user-save", variant="primary", compact=True)
            yield StatusLine("ctrl+s saves · escape cancels", id="status")

    def on_mount(self) -> None:
        self.query("Input, Select").first().focus()
        if self.mode in ("create", "branch"):
            repo = BranchRepository(self.ctx.engine, self.ctx.actor)
            self.start("branches", lambda: repo.tree(counts=False), working=None, hold=None,
                       on_done=self._branches_read)

    def _branches_read(self, branches: list[Branch]) -> None:
        choices = branch_choices(branches)
        picker = self.query_one("#user-branch", Select)
        picker.set_options(choices)
        current = self.member.branch_id if self.member else None
        if current is not None and any(value == current for _, value in choices):
            picker.value = current
        elif choices:
            picker.value = choices[0][1]  # the head office, first in the tree
        self.status.say("ctrl+s saves · escape cancels")

    def _branch(self) -> int | None:
        value = self.query_one("#user-branch", Select).value
        return value if isinstance(value, int) else None

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    @on(Input.Submitted)
    @on(Button.Pressed, "#user-save")
    def action_save(self) -> None:
        if self.busy("save"):
            return
        self.show_field_errors({})
        repo = UserRepository(self.ctx.engine, self.ctx.actor)
        member = self.member
        if self.mode == "create":
            username, full_name = self._value("#user-username"), self._value("#user-full-name")
            role = str(self.query_one("#user-role", Select).value)
            password, confirm = self._value("#user-password"), self._value("#user-confirm")
            branch_id = self._branch()

            def call() -> UserSaved:
                made = repo.create(username, full_name, role, password, confirm, branch_id)
                return UserSaved(made, f"{made.username}: account created.")
        elif self.mode == "password" and member is not None:
            password, confirm = self._value("#user-password"), self._value("#user-confirm")

            def call() -> UserSaved:
                reset = repo.reset_password(member.id, password, confirm)
                return UserSaved(reset, reset.summary)
        elif self.mode == "branch" and member is not None:
            chosen_branch = self._branch()

            def call() -> UserSaved:
                moved = repo.set_branch(member.id, chosen_branch)
                return UserSaved(moved, f"{moved.username}: now works for {moved.branch_code}.")
        elif member is not None:
            role = str(self.query_one("#user-role", Select).value)

            def call() -> UserSaved:
                changed = repo.change_role(member.id, role)
                return UserSaved(changed, f"{changed.username}: role changed.")
        else:
            return
        # A new account or password is not saved twice by itself: after a lost connection the person saves again.
        self.start("save", call, retry=ASK, working="Saving…", on_done=self._saved)

    def _saved(self, saved: UserSaved) -> None:
        self.dismiss(saved)

    def action_cancel(self) -> None:
        self.dismiss(None)


class UsersPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New"),
        Binding("r", "role", "Role"),
        Binding("b", "branch", "Branch"),
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
        yield StatusLine("Loading staff accounts…", id="users-status", classes="status")
        yield DataTable(id="users", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#users", DataTable).add_columns("Username", "Full name", "Role", "Branch", "State",
                                                        "Failed", "Last sign-in")
        self.load()

    @property
    def repo(self) -> UserRepository:
        return UserRepository(self.ctx.engine, self.ctx.actor)

    def _status(self) -> StatusLine:
        return self.query_one("#users-status", StatusLine)

    def _failed(self, error: BaseException) -> None:
        self._status().say(refusal(error), kind="error")

    def load(self, select_id: int | None = None, said: str | None = None) -> None:
        """Read the accounts; the cursor goes to `select_id` and the line under the list says `said`, if given."""
        repo = self.repo
        run_in(self, "users", repo.list, lambda members: self._show(members, select_id, said), self._failed,
               working=None)

    def _show(self, members: list[StaffMember], select_id: int | None, said: str | None = None) -> None:
        self.members = members
        table = self.query_one("#users", DataTable)
        table.clear()
        table_filled(table)
        for member in members:
            last = when(member.last_login_at) if member.last_login_at else "never"
            table.add_row(plain(member.username), plain(member.full_name), role_label(member.role),
                          plain(member.branch_code or "—"), account_state(member),
                          str(member.failed_login_count).rjust(6), last, key=str(member.id))
        if select_id is not None:
            row = next((i for i, m in enumerate(members) if m.id == select_id), None)
            if row is not None:
                table.move_cursor(row=row)
        active = sum(1 for m in members if m.is_active)
        if said:
            self._status().say(said, kind="ok")
        else:
            self._status().say(f"{len(members)} accounts, {active} active. Accounts are never deleted: deactivate "
                               "instead.")

    def chosen(self) -> StaffMember | None:
        table = self.query_one("#users", DataTable)
        if not self.members or table.cursor_row < 0 or table.cursor_row >= len(self.members):
            return None
        return self.members[table.cursor_row]

    def _changed(self, member: StaffMember, what: str) -> None:
        self._saved(UserSaved(member, f"{member.username}: {what}."))

    def _saved(self, saved: UserSaved | None) -> None:
        if saved is not None:
            self.app.notify(escape(saved.said))
            self.load(saved.member.id, saved.said)

    def action_new(self) -> None:
        self.app.push_screen(UserForm(self.ctx, "create"), self._saved)

    def _with_chosen(self) -> StaffMember | None:
        member = self.chosen()
        if member is None:
            self.app.notify("Choose a user in the list first.", severity="warning")
        return member

    def action_role(self) -> None:
        if member := self._with_chosen():
            self.app.push_screen(UserForm(self.ctx, "role", member), self._saved)

    def action_branch(self) -> None:
        if member := self._with_chosen():
            self.app.push_screen(UserForm(self.ctx, "branch", member), self._saved)

    def action_password(self) -> None:
        if member := self._with_chosen():
            self.app.push_screen(UserForm(self.ctx, "password", member), self._saved)

    def _write(self, call: Any, what: str) -> None:
        """Lock, unlock, deactivate, reactivate: each sets the account to one state, so after a lost connection it
        runs again by itself (running it twice changes nothing more)."""
        self._status().say("Saving…")
        run_in(self, "users-write", call, lambda m: self._changed(m, what), self._failed, retry=AUTO, working=None)

    def _confirmed(self, verb: str, member: StaffMember, question: str, call: Any, what: str) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._write(call, what)
        lines = [f"{member.username} · {member.full_name} · {role_label(member.role)}", question]
        self.app.push_screen(ConfirmScreen(f"{verb} {member.username}", lines, question=f"{verb}?"), answered)

    def action_lock(self) -> None:
        if member := self._with_chosen():
            repo = self.repo
            self._confirmed("Lock", member, "They cannot sign in until unlocked.", lambda: repo.lock(member.id),
                            "locked")

    def action_unlock(self) -> None:
        if member := self._with_chosen():
            repo = self.repo
            self._write(lambda: repo.unlock(member.id), "unlocked")

    def action_deactivate(self) -> None:
        if member := self._with_chosen():
            repo = self.repo
            self._confirmed("Deactivate", member, "The account stays in the records but can no longer sign in.",
                            lambda: repo.deactivate(member.id), "deactivated")

    def action_reactivate(self) -> None:
        if member := self._with_chosen():
            repo = self.repo
            self._write(lambda: repo.reactivate(member.id), "reactivated")
