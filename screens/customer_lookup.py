"""Find a customer as you type: name fragment, phone, national ID, customer or loan number.

Results come a page at a time from the database (keyset); the table never holds more than one page.
A key starts its search after a short pause (`debounce_seconds`) in which no other key came: a burst of keys
(fast typing, a paste, a held key) runs one search, for the last text. The pause waits in the search's own
worker, so a test or a caller that waits for the screen's workers waits for the answer too. Only the newest
text's answer is ever shown; "searching…" appears only when an answer is slow to come.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Checkbox, Header, Input, Static

from db.repositories.customers import PAGE_SIZE, CustomerRepository, CustomerRow, SearchPage
from screens.context import ScreenContext
from screens.data import DataScreen
from screens.typeahead import EDITING_PASSES
from widgets.footer import KeysFooter
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable
from widgets.words import in_words

HINT = "Type a name, phone, national ID, C-000123 or L-000045"
FOUND = "enter opens the customer · ↓ moves into the list"
NONE_FOUND = "No customer matches."
SEARCHING = "searching…"
DEBOUNCE_SECONDS = 0.02
"""The pause after a key before its search starts; see docs/performance.md for why this figure."""
SLOW_SECONDS = 0.3
"""An answer slower than this puts "searching…" on the status line; a quick one never flashes it."""


class CustomerLookupScreen(DataScreen):
    CSS_PATH = "customer_lookup.tcss"
    screen_name = "customer_lookup"
    AUTO_FOCUS = "#search"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "page(1)", "Next page"),
        Binding("ctrl+b", "page(-1)", "Prev page"),
        Binding("down", "to_results", show=False),
    ]

    page_size = PAGE_SIZE
    debounce_seconds = DEBOUNCE_SECONDS

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self._query = ""
        self._starts: list[CustomerRow | None] = [None]
        self._page: SearchPage = SearchPage((), False)
        self.shown_query = ""
        """The search text whose answer the table holds now ("" for none): never an older keystroke's."""
        self._superseded = threading.Event()
        self._slow: Timer | None = None
        self._paging = (False, False)
        self.officer_view = context.actor.role == "loan_officer"
        """A loan officer may keep to the customers of their own loans ("my loans")."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        with Horizontal(id="search-line"):
            yield Input(id="search", placeholder=HINT, max_length=100, compact=True)
            if self.officer_view:
                yield Checkbox("my loans only", False, compact=True, id="mine")
        yield StatusLine(HINT, id="status")
        yield PageTable(("Number", "Name", "Phone", "National ID", "Status"), id="results")
        yield Static("", id="paging")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Find customer"

    @property
    def repo(self) -> CustomerRepository:
        return CustomerRepository(self.ctx.engine, self.ctx.actor)

    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        self._query = event.value
        self._starts = [None]
        self._search(None, pause=self.debounce_seconds)

    @on(Checkbox.Changed, "#mine")
    def _mine_changed(self) -> None:
        self._starts = [None]
        self._search(None)

    @property
    def only_mine(self) -> bool:
        return self.officer_view and self.query_one("#mine", Checkbox).value

    def _search(self, after: CustomerRow | None, *, pause: float = 0.0) -> None:
        query, repo, size, mine = self._query, self.repo, self.page_size, self.only_mine
        self._superseded.set()  # a search still in its pause gives up: its text is no longer wanted
        superseded = self._superseded = threading.Event()
        if not query.strip():
            self._seq["search"] = self._seq.get("search", 0) + 1  # drop any answer still on its way
            self._stop_slow()
            self._show(SearchPage((), False))
            return

        def job() -> SearchPage | None:
            if pause > 0 and superseded.wait(pause):
                return None  # a newer key came during the pause; this answer would be dropped anyway
            return repo.search(query, after=after, limit=size, mine=mine)

        self.start("search", job, working=None, hold=EDITING_PASSES)  # enter waits for the answer
        if self._slow is None:
            self._slow = self.set_timer(SLOW_SECONDS, self._still_searching)

    def _still_searching(self) -> None:
        self._slow = None
        if self.busy("search") and not self.connection_lost:
            self._say(SEARCHING)

    def _stop_slow(self) -> None:
        if self._slow is not None:
            self._slow.stop()
            self._slow = None

    def done(self, tag: str, result: Any) -> None:
        if tag == "search" and result is not None:
            self._stop_slow()
            self._show(result)

    def failed(self, tag: str, error: BaseException) -> None:
        self._stop_slow()
        super().failed(tag, error)

    def _say(self, text: str) -> None:
        """The status line, changed only when its text changes (an unchanged line costs no repaint)."""
        status = self.status
        if status.text != text or status.has_class("-error", "-ok"):
            status.say(text)

    def _show(self, page: SearchPage) -> None:
        self._page = page
        self.shown_query = self._query
        table = self.query_one("#results", PageTable)
        table.fill((str(row.id), (row.customer_number, row.full_name, row.phone, row.national_id, in_words(row.status)))
                   for row in page.rows)
        number = len(self._starts)
        paging = (bool(page.more), number > 1)
        if paging != self._paging:  # the footer's page keys change only when paging does
            self._paging = paging
            self.refresh_bindings()
        if not page.rows:
            self._say(NONE_FOUND if self._query.strip() else HINT)
            self._paging_line("")
            return
        self._say(FOUND)
        more = " · ctrl+n next page" if page.more else ""
        back = " · ctrl+b previous page" if number > 1 else ""
        self._paging_line(f"Page {number}{more}{back}")

    def _paging_line(self, text: str) -> None:
        line = self.query_one("#paging", Static)
        if str(line.content) != text:
            line.update(text, layout=False)  # one line, fixed height in the stylesheet

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "page":
            forward = bool(parameters) and int(str(parameters[0])) > 0
            return bool(self._page.more) if forward else len(self._starts) > 1
        return super().check_action(action, parameters)

    def action_page(self, step: int) -> None:
        if step > 0 and self._page.more and self._page.rows:
            self._starts.append(self._page.rows[-1])
        elif step < 0 and len(self._starts) > 1:
            self._starts.pop()
        else:
            return
        self._search(self._starts[-1])

    def action_to_results(self) -> None:
        table = self.query_one("#results", PageTable)
        if self.focused is self.query_one("#search", Input) and table.row_count:
            table.focus()

    @on(Input.Submitted, "#search")
    def _submitted(self) -> None:
        table = self.query_one("#results", PageTable)
        if table.row_count == 1:
            self._open(table.current_key())
        elif table.row_count:
            table.focus()

    @on(PageTable.RowSelected, "#results")
    def _selected(self, event: PageTable.RowSelected) -> None:
        self._open(str(event.row_key.value))

    def _open(self, key: str | None) -> None:
        if key:
            from screens.customer_detail import CustomerDetailScreen

            self.app.push_screen(CustomerDetailScreen(self.ctx, int(key)))
