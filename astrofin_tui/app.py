"""The AstroFinance app: sign-in first, then home for the role; one gate opens every other screen."""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from rich.markup import escape
from sqlalchemy import Engine
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static, TextArea

from astrofin_tui.gate import Gate
from astrofin_tui.palette import ScreenCommands
from db.config import Settings
from db.engine import Actor
from db.permissions import SCREENS, SCREENS_BY_NAME, ScreenSpec, role_label
from db.target import Target
from screens.change_password import ChangePasswordScreen
from screens.context import ScreenContext
from screens.data import RETRY_SECONDS
from screens.home import HomeScreen
from screens.lock import LockScreen
from screens.placeholder import PlaceholderScreen
from screens.sign_in import DemoAccount, SignInScreen
from screens.typeahead import ReleasedKey, TypeAhead

ScreenBuilder = Callable[[ScreenContext], Screen[Any]]


def _lazy(module: str, class_name: str) -> ScreenBuilder:
    """A builder that imports the screen's module when the screen first opens."""

    def build(context: ScreenContext) -> Screen[Any]:
        screen_class: Callable[[ScreenContext], Screen[Any]] = getattr(importlib.import_module(module), class_name)
        return screen_class(context)

    return build


# Each screen's module is imported when the screen first opens, not when the app starts: a cashier's
# process never loads the report charts (plotext), the ledger screens or the backup and restore code.
SCREEN_BUILDERS: dict[str, ScreenBuilder] = {
    "customer_lookup": _lazy("screens.customer_lookup", "CustomerLookupScreen"),
    "payment_entry": _lazy("screens.payment_entry", "PaymentEntryScreen"),
    "overdue_queue": _lazy("screens.overdue_queue", "OverdueQueueScreen"),
    "customer_form": _lazy("screens.customer_form", "CustomerFormScreen"),
    "loan_application": _lazy("screens.loan_application", "LoanApplicationScreen"),
    "loan_detail": _lazy("screens.loan_detail", "LoanDetailScreen"),
    "accounting": _lazy("screens.accounting", "AccountingScreen"),
    "reports": _lazy("screens.reports", "ReportsScreen"),
    "administration": _lazy("screens.admin", "AdminScreen"),
    "till_overview": _lazy("screens.till_overview", "TillOverviewScreen"),
    "collection_sheet": _lazy("screens.collection_sheet", "CollectionSheetScreen"),
    "mobile_money_suspense": _lazy("screens.suspense", "SuspenseScreen"),
    "import_file": _lazy("screens.import_file", "ImportFileScreen"),
}
"""Screens that exist, by gate name; any other permitted screen opens as a placeholder saying what it will hold."""

UNQUEUED_KEYS = frozenset({"ctrl+q"})
"""Keys that never wait behind keys typed ahead: quitting works even while the database does not answer."""

IDLE_LOCK_ENV = "ASTROFIN_IDLE_LOCK_MINUTES"
DEFAULT_IDLE_LOCK_MINUTES = 5.0


def idle_lock_seconds_from(env: dict[str, str] | None = None) -> float:
    """ASTROFIN_IDLE_LOCK_MINUTES (default 5; 0 turns the lock off); a value that is not a number is ignored."""
    raw = (os.environ if env is None else env).get(IDLE_LOCK_ENV, "").strip()
    try:
        minutes = float(raw) if raw else DEFAULT_IDLE_LOCK_MINUTES
    except ValueError:
        minutes = DEFAULT_IDLE_LOCK_MINUTES
    return max(minutes, 0.0) * 60


def _screen_bindings() -> list[BindingType]:
    """Each function key twice: `open` (shown only when permitted) and a hidden `refuse` that records the try."""
    bindings: list[BindingType] = []
    for spec in SCREENS:
        bindings.append(Binding(spec.key, f"open('{spec.name}')", spec.key_label, key_display=spec.key_display,
                                id=f"open_{spec.name}"))
        bindings.append(Binding(spec.key, f"refuse('{spec.name}')", show=False))
    return bindings


def _frugal_driver() -> type[Driver] | None:
    """The blank-erasing driver on POSIX terminals; elsewhere Textual's own."""
    if sys.platform == "win32":
        return None
    from astrofin_tui.frugal_driver import FrugalDriver

    return FrugalDriver


class AstrofinApp(App[None]):
    TITLE = "AstroFinance"
    # Over a slow link a dialog must not re-tint the whole screen behind it: that resends every cell.
    CSS = "AstrofinApp.-low-bandwidth ModalScreen { background: transparent; }"
    COMMANDS = App.COMMANDS | {ScreenCommands}
    # Sign-out comes first so a narrow footer never hides it; the screen keys are also listed on home.
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+o", "sign_out", "Sign out"), *_screen_bindings()]

    def __init__(
        self,
        engine: Engine,
        *,
        today: Callable[[], date] = date.today,
        demo_accounts: Sequence[DemoAccount] = (),
        low_bandwidth: bool = False,
        theme: str | None = None,
        quiet_cursor: bool | None = None,
        access_log: Path | None = None,
        currency: str = "KES",
        target: Target | None = None,
        settings: Settings | None = None,
        idle_lock_seconds: float | None = None,
        retry_seconds: float = RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(driver_class=_frugal_driver() if low_bandwidth else None)
        self.idle_lock_seconds = idle_lock_seconds_from() if idle_lock_seconds is None else idle_lock_seconds
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.last_activity = clock()
        self.locked = False
        self.engine = engine
        self.today = today
        self.currency = currency
        self.target = target
        self.settings = settings
        self.demo_accounts = tuple(demo_accounts)
        self.low_bandwidth = low_bandwidth
        self.quiet_cursor = low_bandwidth if quiet_cursor is None else quiet_cursor
        self.gate = Gate(access_log)
        self.typeahead = TypeAhead(self, self._hand_on)
        self.actor: Actor | None = None
        if theme or low_bandwidth:
            self.theme = theme or "ansi-dark"
        if low_bandwidth:
            self.animation_level = "none"
            self.add_class("-low-bandwidth")

    # --- screens -------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(self._sign_in_screen())
        if self.idle_lock_seconds > 0:
            # Checks a number and changes nothing on screen until the lock is due: no bytes while idle.
            self.set_interval(min(30.0, max(self.idle_lock_seconds / 4, 0.05)), self.check_idle_lock)

    def _sign_in_screen(self) -> SignInScreen:
        return SignInScreen(self.engine, self.demo_accounts)

    def screen_context(self) -> ScreenContext:
        if self.actor is None:
            raise RuntimeError("nobody is signed in")
        return ScreenContext(self.engine, self.actor, self.today, self.currency, self.target, self.settings)

    def permitted_screens(self) -> tuple[ScreenSpec, ...]:
        return self.gate.permitted(self.actor)

    def on_sign_in_screen_signed_in(self, message: SignInScreen.SignedIn) -> None:
        if not isinstance(self.screen, SignInScreen) or self.actor is not None:
            return
        if message.actor.must_change_password:  # an administrator reset it: the person chooses their own first
            self.push_screen(ChangePasswordScreen(self.engine, message.actor, required=True), self._first_password)
        else:
            self.sign_in_as(message.actor)

    def _first_password(self, actor: Actor | None) -> None:
        if actor is None:
            if isinstance(self.screen, SignInScreen):
                self.screen.start_over("Not signed in: a new password must be chosen first.")
            return
        self.sign_in_as(actor)

    def action_change_password(self) -> None:
        if self.actor is not None and not self.locked:
            self.push_screen(ChangePasswordScreen(self.engine, self.actor, required=False), self._password_changed)

    def action_groups(self) -> None:
        """Groups and centers (from the palette; the database decides who may change them)."""
        if self.actor is not None and not self.locked:
            from screens.groups import GroupsScreen

            self.push_screen(GroupsScreen(self.screen_context()))

    def _password_changed(self, actor: Actor | None) -> None:
        if actor is not None and self.actor is not None and actor.user_id == self.actor.user_id:
            self.actor = actor
            self.notify("Your password was changed.", title="Password")

    def sign_in_as(self, actor: Actor) -> Any:
        """Replace the sign-in screen with home for a person whose password was checked."""
        self.actor = actor
        # The header names the branch the person works in, on every screen until sign-out.
        self.title = f"{self.TITLE} · {actor.branch_label[:30]}" if actor.branch_label else self.TITLE
        self.refresh_bindings()
        return self.switch_screen(HomeScreen(self.screen_context(), self.permitted_screens()))

    def on_home_screen_open_requested(self, message: HomeScreen.OpenRequested) -> None:
        self.open_screen(message.screen_name, via="home")

    def open_screen(self, name: str, *, via: str = "call") -> bool:
        """The one way to open a screen: refused (and recorded) unless the signed-in role may open it."""
        if not self.gate.permits(self.actor, name):
            self._refuse(name, via)
            return False
        if self.locked:
            return False
        if getattr(self.screen, "screen_name", None) == name:
            return True
        builder = SCREEN_BUILDERS.get(name)
        context = self.screen_context()
        self.push_screen(builder(context) if builder else PlaceholderScreen(SCREENS_BY_NAME[name]))
        return True

    def _refuse(self, name: str, via: str) -> None:
        self.gate.record_refusal(self.actor, name, via)
        if self.actor is None:
            text = "Sign in first."
        elif name not in SCREENS_BY_NAME:
            text = f"There is no screen called {escape(name)}."
        else:
            role = role_label(self.actor.role).lower()
            text = f"{escape(self.gate.title(name))} is not open to the {escape(role)} role. The attempt was recorded."
        self.notify(text, title="Not permitted", severity="error")

    # --- idle lock -----------------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, ReleasedKey):  # a key typed ahead, its turn come (screens.typeahead)
            await super().on_event(event.key)
            return
        if isinstance(event, events.Key | events.MouseDown | events.Paste):
            self.last_activity = self.clock()
        if isinstance(event, events.Key) and not event.is_forwarded and event.key not in UNQUEUED_KEYS:
            await self.typeahead.key(event)
            return
        if isinstance(event, events.Paste) and not event.is_forwarded:
            await self.typeahead.key(event)
            return
        await super().on_event(event)

    async def _hand_on(self, key: events.Key | events.Paste) -> None:
        await super().on_event(key)

    def check_idle_lock(self) -> None:
        if (self.actor is not None and not self.locked and self.idle_lock_seconds > 0
                and self.clock() - self.last_activity >= self.idle_lock_seconds):
            self.lock()

    def lock(self) -> None:
        """Cover the screen and ask for the password again; whatever is open underneath stays as it is."""
        if self.actor is None or self.locked:
            return
        self.locked = True
        self.refresh_bindings()
        self.push_screen(LockScreen(self.engine, self.actor), self._unlocked)

    def _unlocked(self, _ok: bool | None) -> None:
        self.locked = False
        self.last_activity = self.clock()
        self.refresh_bindings()

    async def action_sign_out(self) -> None:
        self.locked = False
        self.actor = None
        self.title = self.TITLE
        self.refresh_bindings()
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        await self.switch_screen(self._sign_in_screen())

    async def action_quit(self) -> None:
        """Quit; a form with unsaved changes asks first (screens.leaving.FormScreen.confirm_leave)."""
        confirm_leave = getattr(self.screen, "confirm_leave", None)
        if callable(confirm_leave):
            confirm_leave(self.exit)
        else:
            self.exit()

    async def action_home(self) -> None:
        while len(self.screen_stack) > 2:
            await self.pop_screen()

    # --- keys, palette -------------------------------------------------------------------------------

    def action_open(self, name: str) -> None:
        self.open_screen(name, via="key")

    def action_refuse(self, name: str) -> None:
        self.open_screen(name, via="key")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.locked:
            return action == "sign_out"
        if action == "open":
            return bool(parameters) and self.gate.permits(self.actor, str(parameters[0]))
        if action in ("sign_out", "home"):
            return self.actor is not None
        return True

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":  # a screenshot file would carry customer data out of the app
                yield command
        if self.actor is not None:
            yield SystemCommand("Home", "Back to the home screen", self.action_home)
            yield SystemCommand("Sign out", "Sign out and return to the sign-in screen", self.action_sign_out)
            yield SystemCommand("Change my password", "Choose a new password for your own account",
                                self.action_change_password)
            if self.actor.role in ("cashier", "loan_officer", "supervisor", "accountant"):
                yield SystemCommand("Groups", "Groups and centers, their members, loans and arrears (0023)",
                                    self.action_groups)

    # --- quiet terminal ------------------------------------------------------------------------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if self.quiet_cursor and isinstance(event.widget, Input | TextArea):
            event.widget.cursor_blink = False

    def get_loading_widget(self) -> Widget:
        return Static("Waiting for the database…")
