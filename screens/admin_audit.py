"""Administration, audit log: filter by table, user, record and dates; old and new values side by side;
seal and check the hash chain. Statuses and types in the values are shown in words, days as every day is."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Select

from db.audit import VerifyResult
from db.errors import ValidationError
from db.repositories.audit_log import (
    AUDITED_TABLES,
    AuditEntry,
    AuditFilter,
    AuditLogRepository,
    AuditPage,
    field_changes,
)
from screens.back_office import day_range, plain, refusal, table_filled, when
from screens.context import ScreenContext
from screens.data import run_in
from screens.typeahead import EDITING_PASSES
from widgets.status import StatusLine
from widgets.words import in_words

PAGE = 100
CODED_FIELDS = frozenset({"status", "transaction_type", "account_type", "interest_method", "repayment_frequency"})
"""Fields whose values are codes: shown in words (widgets.words)."""


def shown_value(field: str, value: str) -> str:
    return in_words(value) if field in CODED_FIELDS and value and value != "-" else value


class AuditPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+b", "verify", "Check chain"),
        Binding("ctrl+g", "older", "Older"),
        Binding("ctrl+t", "newest", "Newest"),
    ]

    def __init__(self, context: ScreenContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = context
        self.entries: list[AuditEntry] = []
        self.page: AuditPage | None = None
        self._pages: list[int | None] = [None]
        self._filter = AuditFilter()
        self.verified: VerifyResult | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="filters"):
            yield Label("Table")
            yield Select([(t, t) for t in AUDITED_TABLES], prompt="all", id="audit-table", compact=True)
            yield Label("User")
            yield Input(id="audit-user", classes="code", compact=True, max_length=50, placeholder="any")
            yield Label("Record")
            yield Input(id="audit-record", classes="code", compact=True, max_length=12, restrict=r"[0-9]*",
                        placeholder="any")
        with Horizontal(classes="filters"):
            yield Label("From")
            yield Input(id="audit-from", classes="day", compact=True, max_length=10, placeholder="dd/mm/yyyy")
            yield Label("To")
            yield Input(id="audit-to", classes="day", compact=True, max_length=10, placeholder="dd/mm/yyyy")
            yield StatusLine("", id="audit-error", classes="field-error inline")
        with Vertical(id="audit-body"):
            yield DataTable(id="audit", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="audit-values", cursor_type="row", zebra_stripes=True)
        yield StatusLine("", id="audit-status", classes="status")

    def on_mount(self) -> None:
        self.query_one("#audit", DataTable).add_columns("#", "When", "Table", "Rec", "Do", "By")
        self.query_one("#audit-values", DataTable).add_columns("Field", "Old", "New")
        self.load()

    @property
    def repo(self) -> AuditLogRepository:
        return AuditLogRepository(self.ctx.engine, self.ctx.actor)

    def _line(self, name: str = "status") -> StatusLine:
        return self.query_one(f"#audit-{name}", StatusLine)

    def _failed(self, error: BaseException) -> None:
        self._line("error" if isinstance(error, ValidationError) else "status").say(refusal(error), kind="error")

    def _read_filter(self) -> AuditFilter | None:
        error = self._line("error")
        table = self.query_one("#audit-table", Select).value
        user = self.query_one("#audit-user", Input).value.strip()
        record = self.query_one("#audit-record", Input).value.strip()
        try:
            day_from, day_to = day_range(self.query_one("#audit-from", Input).value,
                                         self.query_one("#audit-to", Input).value, required=False)
        except ValueError as exc:
            error.say(str(exc), kind="error")
            return None
        error.clear()
        return AuditFilter(table if isinstance(table, str) else None, user or None, int(record) if record else None,
                           day_from, day_to)

    @on(Select.Changed, "#audit-table")
    @on(Input.Submitted, "#audit-user, #audit-record, #audit-from, #audit-to")
    def apply_filter(self) -> None:
        flt = self._read_filter()
        if flt is None:
            return
        self._filter = flt
        self._pages = [None]
        self.load(typing=True)

    def load(self, typing: bool = False) -> None:
        """A page of the log; a filter being typed keeps its keys flowing into the field while it loads."""
        repo, flt, before = self.repo, self._filter, self._pages[-1]
        self._line().say("Reading the audit log…")
        options: dict[str, Any] = {"hold": EDITING_PASSES} if typing else {}
        run_in(self, "audit", lambda: repo.list(flt, before_id=before, limit=PAGE), self._show, self._failed,
               working=None, **options)

    def _show(self, page: AuditPage) -> None:
        self.page = page
        self.entries = page.rows
        table = self.query_one("#audit", DataTable)
        table.clear()
        table_filled(table)
        for e in page.rows:
            table.add_row(str(e.id).rjust(5), when(e.changed_at), e.table_name,
                          "" if e.record_id is None else str(e.record_id), in_words(e.action.lower()),
                          plain(e.changed_by_name or "-"), key=str(e.id))
        more = "; ctrl+g shows older" if page.next_before_id else ""
        self._line().say(f"{len(page.rows)} changes, newest first (page {len(self._pages)}{more})."
                         if page.rows else "No changes match the filter.")
        self._describe(0)

    @on(DataTable.RowHighlighted, "#audit")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        self._describe(event.cursor_row)

    def _describe(self, row: int) -> None:
        values = self.query_one("#audit-values", DataTable)
        values.clear()
        table_filled(values)
        if row < 0 or row >= len(self.entries):
            return
        entry = self.entries[row]
        for change in field_changes(entry):
            style = "bold" if change.changed else ""
            values.add_row(Text(change.field, style=style),
                           Text(shown_value(change.field, change.old)[:48], style=style),
                           Text(shown_value(change.field, change.new)[:48], style=style))

    def action_older(self) -> None:
        if self.page is not None and self.page.next_before_id is not None:
            self._pages.append(self.page.next_before_id)
            self.load()

    def action_newest(self) -> None:
        self._pages = [None]
        self.load()

    def action_verify(self) -> None:
        repo = self.repo
        self._line().say("Sealing new rows and checking the chain…")
        # Sealing what is not sealed yet and checking again gives the same answer: it runs again by itself.
        run_in(self, "audit-verify", repo.verify, self._verified, self._failed, working=None)

    def _verified(self, result: VerifyResult) -> None:
        self.verified = result
        self._line().say(("Chain " + result.summary()) if result.ok else result.summary(),
                         kind="ok" if result.ok else "error")
        if not result.ok:
            self.app.notify(escape(result.summary()), title="Audit chain broken", severity="error", timeout=30)
