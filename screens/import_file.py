"""Import a file from the back office: an M-Pesa organisation statement (db/mpesa/statement_import.py), or customers,
loans or repayments from their CSV templates (db/imports/book.py), with a progress bar, the summary and the report
written beside the file; a dry run checks every row and writes nothing. "Template" writes the chosen kind's template
beside the chosen path.

The importer runs in a thread worker through the one database path; its progress comes back through
`call_from_thread`, a few times a second at most. Escape during a run leaves the screen and the run FINISHES in the
background (each row is its own transaction and the importers are keyed, so stopping half-way would be safe too, but
a run that goes on leaves the statement's totals and the report whole): when it ends, a notice on whatever screen is
open says how it went and where the report is. The same file is not started again while it still runs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Header, Input, ProgressBar, Select, Static

from db.permissions import MOBILE_MONEY_SUSPENSE
from screens.back_office import refusal
from screens.context import ScreenContext
from screens.data import ASK, DataScreen
from widgets.fields import FieldRow
from widgets.footer import KeysFooter
from widgets.status import ConnectionBanner, StatusLine

if TYPE_CHECKING:
    from db.imports.outcome import ImportSummary

MPESA = "mpesa"
KIND_LABELS = {MPESA: "M-Pesa statement", "customers": "Customers", "loans": "Loans", "repayments": "Repayments"}
BOOK_KINDS = ("customers", "loans", "repayments")
PROGRESS_EVERY = 0.2
"""Seconds between two progress updates on screen (each one waits for the screen to draw it)."""
KEYS = "ctrl+s starts · ctrl+t writes the template · escape leaves (a run goes on)"

_running: set[Path] = set()
"""Files being imported by this process (a run goes on after its screen closed)."""
_running_lock = threading.Lock()


def kinds_for(role: str) -> list[str]:
    """The M-Pesa statement is posted by those who keep the suspense queue (0024 lets the supervisor and the
    accountant post); the book's templates by every role the import screen opens for (the database decides)."""
    from db.permissions import can

    return ([MPESA] if can(role, MOBILE_MONEY_SUSPENSE) else []) + list(BOOK_KINDS)


def path_problem(raw: str) -> str | None:
    """Why the typed path cannot be imported, or None."""
    text = raw.strip()
    if not text:
        return "type the path of the file to import, e.g. ~/Downloads/statement.csv"
    path = Path(text).expanduser()
    if not path.exists():
        return f"there is no file {path}"
    if path.is_dir():
        return f"{path} is a folder: name the file in it"
    if not os.access(path, os.R_OK):
        return f"{path} cannot be read by this account: check its permissions"
    return None


def template_path(raw: str, kind: str) -> Path:
    """Where the template goes: inside the folder typed, or beside the file typed (which need not exist)."""
    text = raw.strip()
    base = Path(text).expanduser() if text else Path.cwd()
    folder = base if base.is_dir() else base.parent
    return folder / f"{kind}-template.csv"


def run_import(context: ScreenContext, kind: str, path: Path, dry_run: bool,
               progress: Callable[[int, int], None]) -> ImportSummary:
    """The importer of the kind, on the context's engine as the signed-in person."""
    if kind == MPESA:
        from db.mpesa.statement_import import import_statement

        return import_statement(context.engine, context.actor, path, dry_run=dry_run, progress=progress)
    from db.imports.book import import_book

    return import_book(context.engine, context.actor, kind, path, dry_run=dry_run, progress=progress)


def write_kind_template(kind: str, path: Path) -> Path:
    from db.imports.book import write_template

    if path.exists():
        raise FileExistsError(f"{path} already exists: move it away or type another folder")
    write_template(kind, path)
    return path


class ImportFileScreen(DataScreen):
    CSS_PATH = "import_file.tcss"
    screen_name = "import_file"
    AUTO_FOCUS = "#kind"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "start_import", "Start", priority=True),
        Binding("ctrl+t", "template", "Template", priority=True),
    ]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self.kinds = kinds_for(context.actor.role)
        self.summary: ImportSummary | None = None
        self._last_drawn = 0.0
        self._left = threading.Event()
        """Set when the screen has gone (escape during a run): the run's end is then told by a notice."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield FieldRow("Kind", Select([(KIND_LABELS[k], k) for k in self.kinds], id="kind", value=self.kinds[0],
                                      allow_blank=False, compact=True), name="kind")
        yield FieldRow("File", Input(id="path", max_length=4096, compact=True,
                                     placeholder="/home/you/statement.csv"), name="path")
        yield Checkbox("Dry run: check every row, write nothing", False, id="dry-run", compact=True)
        with Horizontal(id="buttons"):
            yield Button("Start", id="start", variant="primary", compact=True)
            yield Button("Template", id="template", compact=True)
        yield ProgressBar(total=None, show_eta=False, id="progress")
        yield Static("", id="progress-line")
        with VerticalScroll(id="summary-box"):
            yield Static("", id="summary")
        yield StatusLine(KEYS, id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Import a file"
        self.query_one("#progress").display = False  # until a run starts: an idle bar would only animate
        # The path is what is typed every time; the kind (a statement first) is one shift+tab away.
        self.query_one("#path", Input).focus()

    @property
    def kind(self) -> str:
        value = self.query_one("#kind", Select).value
        return value if isinstance(value, str) else self.kinds[0]

    @property
    def running(self) -> bool:
        return self.busy("import")

    # --- starting ---------------------------------------------------------------------------------------

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#start")
    def action_start_import(self) -> None:
        if self.running:
            self.status.say("An import is under way: wait for it to finish.", kind="error")
            return
        raw = self.query_one("#path", Input).value
        problem = path_problem(raw)
        if problem is None:
            path = Path(raw.strip()).expanduser().resolve()
            with _running_lock:
                if path in _running:
                    problem = "this file is still being imported in the background: wait for its notice"
        self.show_field_errors({"path": problem} if problem else {})
        if problem:
            return
        kind, dry_run, context, app = self.kind, self.query_one("#dry-run", Checkbox).value, self.ctx, self.app
        self.summary = None
        self.query_one("#summary", Static).update("")
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.query_one("#progress-line", Static).update("Reading the file…")
        progress = self._progress(app)

        def job() -> ImportSummary:
            with _running_lock:
                _running.add(path)
            try:
                summary = run_import(context, kind, path, dry_run, progress)
            finally:
                with _running_lock:
                    _running.discard(path)
            if self._left.is_set():  # the person left the screen: the notice finds them where they are
                self._notify_from_thread(app, summary)
            return summary

        what = "Checking" if dry_run else "Importing"
        self.status.say(f"{what} {path.name}… escape leaves the screen, the run goes on.")
        # A run is started by a person, never again by itself after a lost connection (the rows already written
        # are keyed: a second run skips them).
        self.start("import", job, retry=ASK, working=None, hold=None, on_done=self._imported,
                   on_failed=self._import_failed)
        self.refresh_bindings()

    def _progress(self, app: App[Any]) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if self._left.is_set() or (now - self._last_drawn < PROGRESS_EVERY and done < total):
                return
            self._last_drawn = now
            try:
                app.call_from_thread(self._show_progress, done, total)
            except RuntimeError:
                pass  # the app is closing: the run goes on without a bar

        return report

    def on_unmount(self) -> None:
        """(Textual calls each class's handler: DatabaseCalls releases its keys in its own.)"""
        self._left.set()

    def _show_progress(self, done: int, total: int) -> None:
        if self._left.is_set():
            return
        self.query_one("#progress", ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#progress-line", Static).update(f"{done:,} of {total:,} rows")

    @staticmethod
    def _notify_from_thread(app: App[Any], summary: ImportSummary) -> None:
        """The app is the one captured when the run started: a screen that has gone no longer finds it."""
        lines = summary.lines()
        try:
            app.call_from_thread(app.notify, escape("\n".join(lines[:1] + lines[-1:])), title="Import finished",
                                 timeout=30)
        except RuntimeError:
            pass  # the app has closed meanwhile

    def _imported(self, summary: ImportSummary) -> None:
        self.summary = summary
        total = max(summary.rows, 1)
        self.query_one("#progress", ProgressBar).update(total=total, progress=total)
        self.query_one("#progress-line", Static).update(f"{summary.rows:,} of {summary.rows:,} rows")
        self.query_one("#summary", Static).update(escape("\n".join(summary.lines())))
        refused = summary.counts.get("refused", 0)
        self.status.say(("Dry run done: nothing was written." if summary.dry_run else "Import done.")
                        + (f" {refused:,} row{'s' * (refused != 1)} refused." if refused else "")
                        + (" Each row's result is in the report." if summary.report_path else ""), kind="ok")
        self.refresh_bindings()

    def _import_failed(self, error: BaseException) -> None:
        """A whole file refused (not a CSV, columns missing): one line beside the path."""
        self.query_one("#progress-line", Static).update("")
        self.query_one("#progress", ProgressBar).display = False
        self.show_field_errors({"path": refusal(error)})
        self.refresh_bindings()

    # --- the template -----------------------------------------------------------------------------------

    @on(Button.Pressed, "#template")
    def action_template(self) -> None:
        kind = self.kind
        if kind == MPESA:
            self.show_field_errors({"kind": "an M-Pesa statement is exported by the M-Pesa portal: there is no "
                                            "template for it"})
            return
        target = template_path(self.query_one("#path", Input).value, kind)
        if not target.parent.is_dir():
            self.show_field_errors({"path": f"there is no folder {target.parent}"})
            return
        self.show_field_errors({})
        self.start("template", lambda: write_kind_template(kind, target), retry=ASK, working=None, hold=None,
                   on_done=self._template_written, on_failed=lambda error: self.show_field_errors(
                       {"path": refusal(error)}))

    def _template_written(self, path: Path) -> None:
        self.query_one("#path", Input).value = str(path)
        self.status.say(f"Template written: {path}. Fill it in, then start the import of it.", kind="ok")

    @on(Select.Changed, "#kind")
    def _kind_changed(self) -> None:
        self.query_one("#field-kind", FieldRow).error(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start_import":
            return not self.running
        return True

    def failed(self, tag: str, error: BaseException) -> None:
        self.status.say(refusal(error), kind="error")

    def done(self, tag: str, result: Any) -> None:
        self.status.clear()
