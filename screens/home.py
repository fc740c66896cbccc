"""Home: who is signed in, the day at a glance for the role, and the keys to every screen it may open."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from db.permissions import APPROVE_LOANS, HOLD_TILL, ScreenSpec, role_label
from db.repositories.dashboard import DayAtAGlance, PendingApplication, day_at_a_glance
from db.repositories.tills import TillRepository, TillSession
from screens.context import ScreenContext
from screens.data import DatabaseCalls, describe
from widgets.dates import format_date
from widgets.figures import FigureTable, format_figure
from widgets.footer import KeysFooter
from widgets.money import format_money
from widgets.status import ConnectionBanner, StatusLine

LOADING = "Loading the day's figures…"


def till_line(session: TillSession | None, required: bool, currency: str = "") -> str:
    """The signed-in person's open till: 'Till T1 · open since 08:02 · float 5,000.00 · expected 12,400.00 ·
    14 receipts', or what to do when none is open ('' where tills are not required)."""
    if session is None:
        return "[b]No till open[/b] · o open till" if required else ""
    receipts = f"{session.receipt_count} receipt{'s' * (session.receipt_count != 1)}"
    return (f"[b]Till {escape(session.till_code)}[/b] · open since {session.opened_at.astimezone():%H:%M} · "
            f"float {format_money(session.opening_float)} · expected {format_money(session.expected_cash)} · "
            f"{receipts}")


def glance_title(branch_code: str, branches: int) -> str:
    """The figures' title, saying whose they are: the staff member's branch, and those below it if any."""
    if not branch_code:
        return "The day at a glance"
    below = " and below" if branches > 1 else ""
    return f"The day at a glance · {escape(branch_code)}{below}"


class HomeScreen(DatabaseCalls):
    CSS_PATH = "home.tcss"
    SUB_TITLE = "Home"
    AUTO_FOCUS = "#screens"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("o", "open_till", "Open till"),
                                             Binding("c", "close_till", "Close till")]

    class OpenRequested(Message):
        """The person picked a screen from the list; the app's gate decides."""

        def __init__(self, screen_name: str) -> None:
            super().__init__()
            self.screen_name = screen_name

    def __init__(self, context: ScreenContext, entries: Sequence[ScreenSpec]) -> None:
        super().__init__()
        self.ctx = context
        self._entries = tuple(entries)
        self._loaded_once = False
        self.till_session: TillSession | None = None
        self.tills_required = False
        self._till_known = False

    def compose(self) -> ComposeResult:
        actor = self.ctx.actor
        today = self.ctx.today()
        yield Header()
        yield ConnectionBanner()
        with Horizontal(id="who"):
            branch = f" · {escape(actor.branch_label)}" if actor.branch_label else ""
            yield Static(f"[b]{escape(role_label(actor.role))}[/b] · {escape(actor.full_name or actor.username)}"
                         f"{branch}", id="who-name")
            yield Static(f"{today:%A} {format_date(today)}", id="who-day")
        yield Static("", id="till-line")
        with Horizontal(id="home-body"):
            with Vertical(id="left"):
                with Vertical(id="glance"):
                    yield Static("The day at a glance", classes="section-title", id="glance-title")
                    yield StatusLine(LOADING, id="glance-status")
                    yield FigureTable(id="figures")
                if self.ctx.can(APPROVE_LOANS):
                    with Vertical(id="pending"):
                        yield Static("Waiting for approval · enter opens", classes="section-title")
                        yield Static(LOADING, id="pending-status")
                        yield OptionList(id="pending-list", compact=True)
            with Vertical(id="keys"):
                yield Static("Screens", classes="section-title")
                yield OptionList(*self._options(), id="screens", compact=True)
                yield Static("", id="screen-help")
        yield KeysFooter()

    def _options(self) -> list[Option]:
        return [Option(f"{spec.key_display:<4}{escape(spec.title)}", id=spec.name) for spec in self._entries]

    def on_mount(self) -> None:
        if self.ctx.can(APPROVE_LOANS):
            self.query_one("#pending-list").display = False
        self.query_one("#till-line").display = False
        self._load()

    def on_screen_resume(self) -> None:
        if self._loaded_once:  # back from a screen: an application may have been decided, a payment taken
            self._load()

    def _load(self) -> None:
        context, as_of = self.ctx, self.ctx.today()
        # The figures are a courtesy: nothing typed waits for them.
        self.start("glance", lambda: day_at_a_glance(context.engine, context.actor, as_of), working=None,
                   hold=None)
        if self.ctx.can(HOLD_TILL):
            repo = TillRepository(context.engine, context.actor)
            # o and c depend on the till: keys typed ahead of its answer wait for it (one short read).
            self.start("till", lambda: (repo.tills_required(), repo.my_open_session()), working=None,
                       on_done=self._show_till, on_failed=self._till_failed)

    # --- the till -----------------------------------------------------------------------------------------

    def _show_till(self, answer: tuple[bool, TillSession | None]) -> None:
        self.tills_required, self.till_session = answer
        self._till_known = True
        line = self.query_one("#till-line", Static)
        text = till_line(self.till_session, self.tills_required, self.ctx.currency)
        line.update(text)
        line.display = bool(text)
        self.refresh_bindings()

    def _till_failed(self, error: BaseException) -> None:
        line = self.query_one("#till-line", Static)
        line.update(escape(f"Your till could not be read: {describe(error)}"))
        line.display = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_till":  # offered where the branch requires tills (administration switches it)
            return (self.ctx.can(HOLD_TILL) and self._till_known and self.tills_required
                    and self.till_session is None)
        if action == "close_till":
            return self.till_session is not None
        return True

    def action_open_till(self) -> None:
        if not self.check_action("open_till", ()):
            return
        from screens.till_dialogs import OpenTillDialog

        def opened(session: object) -> None:
            if isinstance(session, TillSession):  # the till line says so (no toast: nothing expires on screen)
                self._show_till((self.tills_required, session))

        self.app.push_screen(OpenTillDialog(self.ctx), opened)

    def action_close_till(self) -> None:
        if self.check_action("close_till", ()):
            from screens.till_close import TillCloseScreen

            self.app.push_screen(TillCloseScreen(self.ctx))

    @property
    def status(self) -> StatusLine:
        return self.query_one("#glance-status", StatusLine)

    def done(self, tag: str, result: Any) -> None:
        glance: DayAtAGlance = result
        self._loaded_once = True
        if self.ctx.can(APPROVE_LOANS):
            self._show_pending(glance.pending)
        currency = self.ctx.currency
        self.query_one("#figures", FigureTable).show(
            (figure.label, format_figure(figure.value, figure.is_money, currency))
            for figure in glance.figures
        )
        self.status.display = False
        self.query_one("#glance-title", Static).update(glance_title(self.ctx.actor.branch_code, glance.branches))

    def failed(self, tag: str, error: BaseException) -> None:
        self.status.display = True
        self.status.say(f"The figures could not be loaded: {describe(error)}", kind="error")

    def _show_pending(self, pending: Sequence[PendingApplication]) -> None:
        listing = self.query_one("#pending-list", OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        # Figures first and the name last, so that a long name wraps between words, never through a number.
        listing.add_options(Option(f"{escape(p.loan_number)}  {format_money(p.principal)}  "
                                   f"{escape(p.customer_name)}", id=str(p.loan_id))
                            for p in pending)
        if pending and highlighted is not None:
            listing.highlighted = min(highlighted, len(pending) - 1)
        listing.display = bool(pending)
        status = self.query_one("#pending-status", Static)
        status.update("No application is waiting." if not pending else "")
        status.display = not pending

    @on(OptionList.OptionSelected, "#pending-list")
    def _open_application(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            from screens.loan_detail import LoanDetailScreen

            self.app.push_screen(LoanDetailScreen(self.ctx, int(event.option.id)))

    @on(OptionList.OptionHighlighted, "#screens")
    def _describe(self, event: OptionList.OptionHighlighted) -> None:
        spec = next((s for s in self._entries if s.name == event.option.id), None)
        self.query_one("#screen-help", Static).update(escape(spec.description) if spec else "")

    @on(OptionList.OptionSelected, "#screens")
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.post_message(self.OpenRequested(event.option.id))
