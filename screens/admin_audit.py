"""Administration, audit log: filter by table, user, record and dates; old and new values side by side;
seal and check the hash chain."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Select, Static

from db.audit import VerifyResult
from db.errors import AstrofinError, ValidationError
from db.repositories.audit_log import (
    AUDITED_TABLES,
    AuditEntry,
    AuditFilter,
    AuditLogRepository,
    AuditPage,
    field_changes,
)
from screens.back_office import parse_day, plain, run_db, status_text, table_filled
from screens.context import ScreenContext

PAGE = 100


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
            yield Input(id="audit-from", classes="day", compact=True, max_length=10, placeholder="YYYY-MM-DD")
            yield Label("To")
            yield Input(id="audit-to", classes="day", compact=True, max_length=10, placeholder="YYYY-MM-DD")
            yield Static("", id="audit-error", classes="field-error inline")
        with Vertical(id="audit-body"):
            yield DataTable(id="audit", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="audit-values", cursor_type="row", zebra_stripes=True)
        yield Static("", id="audit-status", classes="status")

    def on_mount(self) -> None:
        self.query_one("#audit", DataTable).add_columns("#", "When", "Table", "Rec", "Do", "By")
        self.query_one("#audit-values", DataTable).add_columns("Field", "Old", "New")
        self.load()

    @property
    def repo(self) -> AuditLogRepository:
        return AuditLogRepository(self.ctx.engine, self.ctx.actor)

    def _failed(self, error: AstrofinError) -> None:
        if isinstance(error, ValidationError):
            status_text(self.query_one("#audit-error", Static), str(error), error=True)
        else:
            status_text(self.query_one("#audit-status", Static), str(error), error=True)

    def _read_filter(self) -> AuditFilter | None:
        error = self.query_one("#audit-error", Static)
        table = self.query_one("#audit-table", Select).value
        user = self.query_one("#audit-user", Input).value.strip()
        record = self.query_one("#audit-record", Input).value.strip()
        try:
            raw_from = self.query_one("#audit-from", Input).value.strip()
            raw_to = self.query_one("#audit-to", Input).value.strip()
            day_from: date | None = parse_day(raw_from, "From") if raw_from else None
            day_to: date | None = parse_day(raw_to, "To") if raw_to else None
            if day_from and day_to and day_to < day_from:
                raise ValueError("To: the last day is before the first day")
        except ValueError as exc:
            status_text(error, str(exc), error=True)
            return None
        status_text(error, "")
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
        self.load()

    def load(self) -> None:
        repo, flt, before = self.repo, self._filter, self._pages[-1]
        status_text(self.query_one("#audit-status", Static), "Reading the audit log…")
        run_db(self, lambda: repo.list(flt, before_id=before, limit=PAGE), self._show, self._failed, group="audit")

    def _show(self, page: AuditPage) -> None:
        self.page = page
        self.entries = page.rows
        table = self.query_one("#audit", DataTable)
        table.clear()
        table_filled(table)
        for e in page.rows:
            table.add_row(str(e.id).rjust(5), e.changed_at.astimezone().strftime("%m-%d %H:%M"), e.table_name,
                          "" if e.record_id is None else str(e.record_id), e.action[:3],
                          plain(e.changed_by_name or "-"), key=str(e.id))
        more = "; ctrl+g shows older" if page.next_before_id else ""
        status_text(self.query_one("#audit-status", Static),
                    f"{len(page.rows)} changes, newest first (page {len(self._pages)}{more})."
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
            values.add_row(Text(change.field, style=style), Text(change.old[:48], style=style),
                           Text(change.new[:48], style=style))

    def action_older(self) -> None:
        if self.page is not None and self.page.next_before_id is not None:
            self._pages.append(self.page.next_before_id)
            self.load()

    def action_newest(self) -> None:
        self._pages = [None]
        self.load()

    def action_verify(self) -> None:
        repo = self.repo
        status_text(self.query_one("#audit-status", Static), "Sealing new rows and checking the chain…")
        run_db(self, repo.verify, self._verified, self._failed, group="audit-verify")

    def _verified(self, result: VerifyResult) -> None:
        self.verified = result
        status = self.query_one("#audit-status", Static)
        status_text(status, ("Chain " + result.summary()) if result.ok else result.summary(), error=not result.ok)
        status.set_class(result.ok, "good")
        if not result.ok:
            self.app.notify(escape(result.summary()), title="Audit chain broken", severity="error", timeout=30)
