"""A till session's sheet: opening float, each cash receipt and payout, expected against counted with the
count by denomination, over or short, the reason, who counted and who approved. `p` prints it as a receipt is
printed (a private text file in the receipts folder, or the printer command)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, VerticalScroll
from textual.widgets import Header, Static

from db.repositories.tills import TillRepository, TillSheet
from screens.context import ScreenContext
from screens.data import DataScreen
from screens.output import print_till_sheet, till_sheet_text
from widgets.footer import KeysFooter
from widgets.status import ConnectionBanner, StatusLine


class TillSheetScreen(DataScreen):
    CSS_PATH = "till_sheet.tcss"
    screen_name = "till_sheet"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("p", "print", "Print")]

    def __init__(self, context: ScreenContext, session_id: int, *, said: str | None = None) -> None:
        super().__init__(context)
        self.session_id = session_id
        self.said = said
        self.sheet: TillSheet | None = None
        self.printed: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        with VerticalScroll(id="sheet-scroll"), Center():
            yield Static("", id="sheet")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Till sheet"
        if self.said:
            self.status.say(self.said, kind="ok")
        self.query_one("#sheet-scroll").focus()
        repo, session_id = TillRepository(self.ctx.engine, self.ctx.actor), self.session_id
        self.start("load", lambda: repo.sheet(session_id), working=None if self.said else "loading the till sheet…")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "print":
            return self.sheet is not None
        return True

    def done(self, tag: str, result: Any) -> None:
        if tag == "load":
            self.sheet = result
            self.query_one("#sheet", Static).update(escape(till_sheet_text(result, self.ctx.currency).rstrip("\n")))
            if not self.said:
                self.status.say("p prints · ↑/↓ scroll · escape goes back")
            self.refresh_bindings()
        elif tag == "print":
            self.printed = result
            self.status.say(result, kind="ok")

    def action_print(self) -> None:
        if self.sheet is None or self.busy("print"):
            return
        sheet, currency = self.sheet, self.ctx.currency
        self.start("print", lambda: print_till_sheet(sheet, currency), working="printing…")
