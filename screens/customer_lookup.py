"""Find a customer as you type: name fragment, phone, national ID, customer or loan number.

Results come a page at a time from the database (keyset); the table never holds more than one page.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Header, Input, Static

from db.repositories.customers import PAGE_SIZE, CustomerRepository, CustomerRow, SearchPage
from screens.context import ScreenContext
from screens.data import DataScreen
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable

HINT = "Type a name, phone, national ID, C-000123 or L-000045"


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

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self._query = ""
        self._starts: list[CustomerRow | None] = [None]
        self._page: SearchPage = SearchPage((), False)

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield Input(id="search", placeholder=HINT, max_length=100, compact=True)
        yield StatusLine(HINT, id="status")
        yield PageTable(("Number", "Name", "Phone", "National ID", "Status"), id="results")
        yield Static("", id="paging")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Find customer"

    @property
    def repo(self) -> CustomerRepository:
        return CustomerRepository(self.ctx.engine, self.ctx.actor)

    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        self._query = event.value
        self._starts = [None]
        self._search(None)

    def _search(self, after: CustomerRow | None) -> None:
        query, repo, size = self._query, self.repo, self.page_size
        if not query.strip():
            self._seq["search"] = self._seq.get("search", 0) + 1  # drop any answer still on its way
            self._show(SearchPage((), False))
            self.status.say(HINT)
            return
        self.start("search", lambda: repo.search(query, after=after, limit=size), working="searching…")

    def done(self, tag: str, result: Any) -> None:
        if tag == "search":
            self._show(result)

    def _show(self, page: SearchPage) -> None:
        self._page = page
        self.refresh_bindings()
        table = self.query_one("#results", PageTable)
        table.fill((str(row.id), (row.customer_number, row.full_name, row.phone, row.national_id, row.status))
                   for row in page.rows)
        number = len(self._starts)
        if not page.rows:
            self.status.say("No customer matches." if self._query.strip() else HINT)
            self.query_one("#paging", Static).update("")
            return
        self.status.say("enter opens the customer · ↓ moves into the list")
        more = " · ctrl+n next page" if page.more else ""
        back = " · ctrl+b previous page" if number > 1 else ""
        self.query_one("#paging", Static).update(f"Page {number}{more}{back}")

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
