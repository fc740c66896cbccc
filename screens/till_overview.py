"""A supervisor's tills: every session of the branch today (open, waiting for approval, closed) with its float,
cash in and out, expected and counted cash and difference; the vault; the branch's tills. Approve a count that
differs (never one's own: the database refuses it), open a session's sheet, add a till, deactivate or
reactivate one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Header, Static

from db.repositories.tills import Till, TillRepository, TillSession
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import ASK, AUTO, DataScreen
from screens.output import STATUS_WORDS, over_short
from widgets.footer import KeysFooter
from widgets.money import format_money
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable

WIDE_FROM = 100
STATUS_SHORT = {"open": "Open", "pending_approval": "To approve", "closed": "Closed"}


def signed(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + format_money(value)


class TillOverviewScreen(DataScreen):
    CSS_PATH = "till_overview.tcss"
    screen_name = "till_overview"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve"),
        Binding("s", "sheet", "Sheet"),
        Binding("n", "new_till", "New till"),
        Binding("d", "deactivate", "Deactivate"),
        Binding("r", "reactivate", "Reactivate"),
    ]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self.sessions: list[TillSession] = []
        self.tills: list[Till] = []
        self.vault: Decimal | None = None
        self._said: str | None = None
        self._till_said = ""

    def _wide(self) -> bool:
        return self.app.size.width >= WIDE_FROM

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield Static("", id="vault")
        columns = (("Till", "Cashier", "Float", "Cash in", "Cash out", "Expected", "Counted", "Diff", "Status")
                   if self._wide() else ("Till", "Cashier", "Expected", "Counted", "Diff", "Status"))
        yield PageTable(columns, id="sessions")
        yield Static("", id="session-detail")
        yield PageTable(("Till", "Name", "State", "Held by"), id="tills")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Tills"
        self.query_one("#sessions").focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()  # back from a sheet: nothing changed there, but a close may have come in meanwhile

    @property
    def repo(self) -> TillRepository:
        return TillRepository(self.ctx.engine, self.ctx.actor)

    def load(self, said: str | None = None) -> None:
        repo, today = self.repo, self.ctx.today()
        if said:  # shown once, by whichever load answers next (a screen's resume may load again meanwhile)
            self.status.clear()
            self._said = said
        self.start("load", lambda: (repo.sessions(today), repo.tills(), repo.vault_balance()), working=None,
                   hold=None)

    # --- showing ----------------------------------------------------------------------------------------

    def done(self, tag: str, result: Any) -> None:
        if tag == "load":
            self._show(*result)
        elif tag == "approve":
            self.load(f"Till {result.till_code} of {result.cashier_name}: close approved; "
                      f"{over_short(result.difference)[0].lower()} {over_short(result.difference)[1]} posted.")
        elif tag == "till":
            self.load(self._till_said)

    def _show(self, sessions: list[TillSession], tills: list[Till], vault: Decimal) -> None:
        self.sessions, self.tills, self.vault = sessions, tills, vault
        currency, wide = self.ctx.currency, self._wide()
        waiting = sum(1 for s in sessions if s.status == "pending_approval")
        self.query_one("#vault", Static).update(
            f"[b]Vault[/b] {escape(format_money(vault, currency))} · {len(sessions)} session"
            f"{'s' * (len(sessions) != 1)} today · {waiting} waiting for approval")
        rows = []
        for s in sessions:
            figures = (s.opening_float, s.cash_in, s.cash_out) if wide else ()
            rows.append((str(s.id), (s.till_code, s.cashier_name[:16], *figures, s.expected_cash,
                                     s.counted_cash if s.counted_cash is not None else Text("—", justify="right"),
                                     Text(signed(s.difference), justify="right"),
                                     STATUS_SHORT.get(s.status, s.status))))
        self.query_one("#sessions", PageTable).fill(rows, keep_cursor=True)
        self.query_one("#tills", PageTable).fill(
            ((str(t.id), (Text(t.code), Text(t.name), "Active" if t.is_active else "Inactive", Text(t.held_by or "—")))
             for t in tills), keep_cursor=True)
        self._detail()
        if self._said:
            self.status.say(self._said, kind="ok")
            self._said = None
        elif self.status.has_class("-error"):
            pass  # a refusal stays on show until the next action
        elif not sessions:
            self.status.say("No till has been opened in the branch today.")
        else:
            self.status.say("a approves a count that differs · s the sheet · tab moves to the tills")
        self.refresh_bindings()

    def chosen(self) -> TillSession | None:
        key = self.query_one("#sessions", PageTable).current_key()
        return next((s for s in self.sessions if str(s.id) == key), None)

    def chosen_till(self) -> Till | None:
        key = self.query_one("#tills", PageTable).current_key()
        return next((t for t in self.tills if str(t.id) == key), None)

    def _detail(self) -> None:
        s = self.chosen()
        text = ""
        if s is not None:
            text = (f"{escape(s.till_code)} · {escape(s.cashier_name)} · opened {s.opened_at.astimezone():%H:%M} · "
                    f"float {format_money(s.opening_float)} · in {format_money(s.cash_in)} · "
                    f"out {format_money(s.cash_out)} · {s.receipt_count} receipt{'s' * (s.receipt_count != 1)} · "
                    f"{escape(STATUS_WORDS.get(s.status, s.status))}")
            if s.close_reason:
                text += f"\nReason: {escape(s.close_reason)}"
        self.query_one("#session-detail", Static).update(text)

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._detail()
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#sessions")
    def _selected(self) -> None:
        self.action_sheet()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "approve":
            s = self.chosen()
            return s is not None and s.status == "pending_approval"
        if action == "sheet":
            return self.chosen() is not None
        if action == "deactivate":
            t = self.chosen_till()
            return t is None or t.is_active
        if action == "reactivate":
            t = self.chosen_till()
            return t is not None and not t.is_active
        return True

    # --- acting -----------------------------------------------------------------------------------------

    def action_approve(self) -> None:
        s = self.chosen()
        if s is None or s.status != "pending_approval" or self.busy("approve"):
            return
        self.status.clear()
        currency = self.ctx.currency
        label, amount = over_short(s.difference)
        lines = [f"Till {s.till_code} · {s.cashier_name} · counted by {s.counted_by_name or '—'}",
                 f"Expected   {format_money(s.expected_cash, currency):>18}",
                 f"Counted    {format_money(s.counted_cash or Decimal(0), currency):>18}",
                 f"{label:<10} {currency + ' ' + amount:>18}",
                 f"Reason: {s.close_reason or '—'}",
                 "The counted cash goes back to the vault and the difference to cash over and short (5100)."]
        repo, session_id = self.repo, s.id

        def answer(yes: bool | None) -> None:
            if yes and not self.busy("approve"):
                # Approving twice is refused by the database (the session is closed): never posted twice.
                self.start("approve", lambda: repo.approve(session_id), retry=ASK, working="Approving…")

        self.app.push_screen(ConfirmScreen(f"Approve the close of {s.till_code}", lines, question="Approve?"),
                             answer)

    def action_sheet(self) -> None:
        s = self.chosen()
        if s is not None:
            from screens.till_sheet import TillSheetScreen

            self.app.push_screen(TillSheetScreen(self.ctx, s.id))

    def action_new_till(self) -> None:
        from screens.till_dialogs import NewTillDialog

        def added(till: object) -> None:
            if isinstance(till, Till):
                self.load(f"Till {till.code} · {till.name} added.")

        self.app.push_screen(NewTillDialog(self.ctx), added)

    def _set_active(self, active: bool) -> None:
        till = self.chosen_till()
        if till is None:
            self.status.say("Choose a till in the lower list first (tab moves there).", kind="error")
            return
        if till.is_active == active:
            return
        verb = "Reactivate" if active else "Deactivate"
        self._till_said = f"Till {till.code} {'reactivated' if active else 'deactivated'}."
        lines = [f"{till.code} · {till.name}" + (f" · held by {till.held_by}" if till.held_by else ""),
                 "Nobody can open it until it is reactivated." if not active else "Cashiers can open it again."]
        repo, till_id = self.repo, till.id

        def answer(yes: bool | None) -> None:
            if yes:
                # Sets one state: after a lost connection it runs again by itself (twice changes nothing more).
                self.start("till", lambda: repo.set_till_active(till_id, active), retry=AUTO, working="Saving…")

        self.app.push_screen(ConfirmScreen(f"{verb} till {till.code}", lines, question=f"{verb}?"), answer)

    def action_deactivate(self) -> None:
        self._set_active(False)

    def action_reactivate(self) -> None:
        self._set_active(True)
