"""Administration, SMS outbox and history: counts by status, messages newest first (paged), the reason a
message failed, and failed messages put back in the queue. Statuses are shown in words."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Select, Static

from db.repositories.sms_outbox import STATUSES, OutboxMessage, OutboxPage, SmsOutboxRepository
from screens.back_office import plain, refusal, table_filled, when
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import ASK, run_in
from widgets.status import StatusLine
from widgets.words import in_words

PAGE = 50


class OutboxPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "retry", "Retry failed"),
        Binding("o", "older", "Older"),
        Binding("t", "newest", "Newest"),
    ]

    def __init__(self, context: ScreenContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = context
        self.page: OutboxPage | None = None
        self.messages: list[OutboxMessage] = []
        self._pages: list[int | None] = [None]

    def compose(self) -> ComposeResult:
        with Horizontal(classes="filters"):
            yield Label("Status")
            yield Select([(in_words(s), s) for s in STATUSES], prompt="all", id="sms-status", compact=True)
            yield Static("Loading…", id="sms-counts")
        yield DataTable(id="sms", cursor_type="row", zebra_stripes=True)
        yield Static("", id="sms-detail", classes="detail")
        yield StatusLine("", id="sms-status-line", classes="status")

    def on_mount(self) -> None:
        self.query_one("#sms", DataTable).add_columns("#", "Queued", "Phone", "Status", "Tries", "Message")
        self.load()

    @property
    def repo(self) -> SmsOutboxRepository:
        return SmsOutboxRepository(self.ctx.engine, self.ctx.actor)

    def _status_filter(self) -> str | None:
        value = self.query_one("#sms-status", Select).value
        return value if isinstance(value, str) else None

    def _line(self) -> StatusLine:
        return self.query_one("#sms-status-line", StatusLine)

    def _failed(self, error: BaseException) -> None:
        self._line().say(refusal(error), kind="error")

    @on(Select.Changed, "#sms-status")
    def _filter_changed(self) -> None:
        self._pages = [None]
        self.load()

    def load(self) -> None:
        repo, status, before = self.repo, self._status_filter(), self._pages[-1]
        self._line().say("Loading messages…")

        def call() -> tuple[dict[str, int], OutboxPage]:
            return repo.counts(), repo.list(status, before_id=before, limit=PAGE)

        run_in(self, "sms", call, self._show, self._failed, working=None)

    def _show(self, found: tuple[dict[str, int], OutboxPage]) -> None:
        counts, page = found
        self.page = page
        self.messages = page.rows
        self.query_one("#sms-counts", Static).update(
            " · ".join(f"{in_words(name)} {counts[name]:,}" for name in STATUSES))
        table = self.query_one("#sms", DataTable)
        table.clear()
        table_filled(table)
        for m in page.rows:
            state = in_words(m.status) + (" (sending)" if m.in_flight else "")
            table.add_row(str(m.id).rjust(5), when(m.created_at),
                          plain(m.phone_number), state, str(m.attempts).rjust(5), plain(m.message[:60]), key=str(m.id))
        where = f"page {len(self._pages)}" + (", more with o" if page.next_before_id else "")
        self._line().say(f"{len(page.rows)} messages, newest first ({where})." if page.rows else "No messages.")
        self._describe(0)

    @on(DataTable.RowHighlighted, "#sms")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        self._describe(event.cursor_row)

    def _describe(self, row: int) -> None:
        detail = self.query_one("#sms-detail", Static)
        if row < 0 or row >= len(self.messages):
            detail.update("")
            return
        m = self.messages[row]
        text = f"{m.message}"
        if m.error_message:
            text += f"  — failed: {m.error_message}"
        if m.segments:
            text += f"  ({m.segments} SMS, {m.encoding})"
        detail.update(escape(text))

    def action_older(self) -> None:
        if self.page is not None and self.page.next_before_id is not None:
            self._pages.append(self.page.next_before_id)
            self.load()

    def action_newest(self) -> None:
        self._pages = [None]
        self.load()

    def action_retry(self) -> None:
        table = self.query_one("#sms", DataTable)
        chosen = self.messages[table.cursor_row] if 0 <= table.cursor_row < len(self.messages) else None
        failed = [m.id for m in self.messages if m.status == "failed"]
        if chosen is not None and chosen.status == "failed":
            ids, question = [chosen.id], f"Put message {chosen.id} to {chosen.phone_number} back in the queue?"
        elif failed:
            ids, question = failed, f"Put the {len(failed)} failed messages on this page back in the queue?"
        else:
            self.app.notify("No failed message here to retry.", severity="warning")
            return
        repo = self.repo

        def answered(yes: bool | None) -> None:
            if yes:
                self._line().say("Putting messages back in the queue…")
                run_in(self, "sms-write", lambda: repo.retry(ids), self._retried, self._failed, retry=ASK,
                       working=None)

        self.app.push_screen(ConfirmScreen("Retry failed messages", [question], question="Retry?"), answered)

    def _retried(self, count: int) -> None:
        self.app.notify(f"{count} message{'s' if count != 1 else ''} queued again.")
        self.load()
