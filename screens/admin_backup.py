"""Administration, backup and maintenance: back up now (with progress), list the backups, restore one
after the operator types the database's name, and run maintenance with progress and its report.

The work runs through the one database path (screens.data.run_in) on the admin screen; none of it runs again
by itself after a lost connection (a backup or a restore is started by a person, again if need be)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, ProgressBar, Static

from db.backup import BackupResult, backup_database, backup_settings
from db.config import Settings, load_settings
from db.maintenance import MaintenanceOptions, MaintenanceReport, run_maintenance
from db.paths import data_dir
from db.restore import RestoreResult, restore_database
from db.scripts_common import BackupFile, human_size, list_backups
from screens.back_office import refusal, table_filled, when
from screens.context import ScreenContext
from screens.data import ASK, DatabaseCalls, run_in
from widgets.dates import format_date
from widgets.fields import FieldRow
from widgets.status import StatusLine

NO_TARGET = ("Backup, restore and maintenance need the database server's details, which this session was "
             "not given. Use `astrofin db backup` / `restore` / `maintenance` from a shell.")


def backup_folder(settings: Settings) -> Path:
    """BACKUP_PATH as an absolute folder. A relative path (the shipped `./backups`) is read inside the data
    folder, so backups land in the same place wherever the app was started, never in the folder it was
    started from; `~` is the user's home."""
    folder = backup_settings(settings)[0].expanduser()
    return folder if folder.is_absolute() else (data_dir() / folder).resolve()


def with_backup_folder(settings: Settings) -> Settings:
    """The settings with BACKUP_PATH resolved by `backup_folder`, for everything that reads it."""
    return replace(settings, backup={**settings.backup, "path": str(backup_folder(settings))})


class RestoreConfirm(ModalScreen[bool]):
    """Restoring replaces the whole database: the operator types its name to go on."""

    DEFAULT_CSS = """
    RestoreConfirm { align: center middle; }
    RestoreConfirm Input { background: $panel; }
    RestoreConfirm > Vertical { width: 72; max-width: 100%; height: auto; border: thick $error;
                                background: $surface; padding: 0 1; }
    RestoreConfirm #restore-question { margin-top: 1; }
    RestoreConfirm FieldRow { margin-top: 1; }
    RestoreConfirm FieldRow Input { width: 30; }
    RestoreConfirm .row { height: 1; margin-top: 1; }
    RestoreConfirm Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, backup: BackupFile, database: str) -> None:
        super().__init__()
        self.backup = backup
        self.database = database

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Restore a backup"
            yield Static(
                f"Replace everything in database [b]{escape(self.database)}[/b] with the backup "
                f"[b]{escape(self.backup.path.name)}[/b] taken {when(self.backup.taken_at)}?\n"
                "Whatever was recorded since then is lost, and everyone is disconnected. "
                "Type the database name to confirm.", id="restore-question")
            yield FieldRow("Database name", Input(id="restore-name", compact=True, max_length=63), name="restore")
            with Horizontal(classes="row"):
                yield Button("Restore", id="restore-yes", variant="error", compact=True)
                yield Button("Cancel", id="restore-no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#restore-name", Input).focus()

    @on(Input.Submitted, "#restore-name")
    @on(Button.Pressed, "#restore-yes")
    def _confirm(self) -> None:
        typed = self.query_one("#restore-name", Input).value.strip()
        if typed != self.database:
            self.query_one(FieldRow).error(f"That is not {self.database}; type the name exactly, or escape to cancel.")
            return
        self.dismiss(True)

    @on(Button.Pressed, "#restore-no")
    def action_cancel(self) -> None:
        self.dismiss(False)


class BackupPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "backup", "Backup now"),
        Binding("r", "restore", "Restore"),
        Binding("m", "maintenance", "Maintenance"),
        Binding("l", "list", "List"),
    ]

    def __init__(self, context: ScreenContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = context
        self.backups: list[BackupFile] = []
        self.last_backup: BackupResult | None = None
        self.last_report: MaintenanceReport | None = None
        self.last_restore: RestoreResult | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine("", id="backup-folder", classes="status")
        yield DataTable(id="backups", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="backup-progress-row"):
            yield ProgressBar(total=1.0, show_eta=False, id="backup-progress")
            yield StatusLine("b back up · r restore the chosen one · m maintenance", id="backup-step")
        with VerticalScroll(id="backup-report-box"):
            yield Static("", id="backup-report")

    def on_mount(self) -> None:
        self.query_one("#backups", DataTable).add_columns("Backup file", "Size", "Taken")
        if self.ctx.target is None:
            self._line("folder").say(NO_TARGET, kind="error")
            return
        self.action_list()

    # --- settings and listing -------------------------------------------------------------------------------

    def _settings(self) -> Settings:
        """The configuration, its BACKUP_PATH made absolute (backups and maintenance's backup go there)."""
        return with_backup_folder(self.ctx.settings if self.ctx.settings is not None else load_settings())

    def _folder(self) -> Path:
        return backup_settings(self._settings())[0]

    def _line(self, name: str = "step") -> StatusLine:
        return self.query_one(f"#backup-{name}", StatusLine)

    @property
    def busy(self) -> bool:
        """A backup, restore or maintenance is under way."""
        screen = self.screen
        return isinstance(screen, DatabaseCalls) and screen.busy("backup-work")

    def action_list(self) -> None:
        def listed() -> tuple[Path, list[BackupFile]]:
            folder = self._folder()
            return folder, list_backups(folder)

        run_in(self, "backup-list", listed, self._show_list, self._failed, working=None)

    def _show_list(self, found: tuple[Path, list[BackupFile]]) -> None:
        folder, backups = found
        self.backups = backups
        table = self.query_one("#backups", DataTable)
        table.clear()
        table_filled(table)
        for item in backups:
            table.add_row(item.path.name, human_size(item.size).rjust(10),
                          f"{format_date(item.taken_at.date())} {item.taken_at:%H:%M:%S}",
                          key=item.path.name)
        count = f"{len(backups)} backup{'s' if len(backups) != 1 else ''}" if backups else "No backups yet"
        self._line("folder").say(f"{count} in {folder} (newest first).")

    # --- long work with progress ----------------------------------------------------------------------------

    def _failed(self, error: BaseException) -> None:
        self._line().say(refusal(error), kind="error")

    def _progress(self) -> Callable[[str, float], None]:
        def report(message: str, fraction: float) -> None:
            try:
                self.app.call_from_thread(self._show_progress, message, fraction)
            except RuntimeError:
                pass
        return report

    def _show_progress(self, message: str, fraction: float) -> None:
        self.query_one("#backup-progress", ProgressBar).update(progress=fraction)
        self._line().say(message)

    def _start(self, what: str) -> bool:
        if self.ctx.target is None:
            self.app.notify(NO_TARGET, severity="error")
            return False
        if self.busy:
            self.app.notify("Wait for the work under way to finish.", severity="warning")
            return False
        self.query_one("#backup-progress", ProgressBar).update(progress=0)
        self._line().say(f"{what}…")
        self.query_one("#backup-report", Static).update("")
        return True

    def action_backup(self) -> None:
        target = self.ctx.target
        if target is None or not self._start("Starting the backup"):
            return
        progress = self._progress()

        def work() -> BackupResult:
            folder, days, count = backup_settings(self._settings())
            return backup_database(target, folder, retention_days=days, retention_count=count, progress=progress)

        self._work(work, self._backed_up)

    def _work(self, job: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        """Long work with its progress on screen; keys are not held meanwhile (escape still goes back)."""
        run_in(self, "backup-work", job, on_done, self._failed, retry=ASK, working=None, hold=None)

    def _backed_up(self, result: BackupResult) -> None:
        self.last_backup = result
        lines = [f"Backup written: {result.summary()} in {result.seconds:.1f} s"]
        lines += [f"Deleted old backup: {path.name}" for path in result.deleted]
        self.query_one("#backup-report", Static).update(escape("\n".join(lines)))
        self.action_list()

    def action_restore(self) -> None:
        target = self.ctx.target
        table = self.query_one("#backups", DataTable)
        chosen = self.backups[table.cursor_row] if 0 <= table.cursor_row < len(self.backups) else None
        if target is None:
            self.app.notify(NO_TARGET, severity="error")
            return
        if chosen is None:
            self.app.notify("Choose a backup in the list first.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes and self._start(f"Restoring {chosen.path.name}"):
                progress = self._progress()
                self._work(lambda: restore_database(target, chosen.path, reset=True, progress=progress),
                           self._restored)

        self.app.push_screen(RestoreConfirm(chosen, target.database), answered)

    def _restored(self, result: RestoreResult) -> None:
        self.last_restore = result
        self.ctx.engine.dispose()  # its connections were to the database that was replaced
        self.query_one("#backup-report", Static).update(escape(result.summary()))
        self.app.notify(escape(f"{result.summary()}. Sign in again."), title="Restored", timeout=20)
        sign_out = getattr(self.app, "action_sign_out", None)
        if sign_out is not None:
            self.app.call_later(sign_out)

    def action_maintenance(self) -> None:
        target = self.ctx.target
        if target is None or not self._start("Starting maintenance"):
            return
        progress = self._progress()

        def work() -> MaintenanceReport:
            return run_maintenance(target, MaintenanceOptions.from_settings(self._settings()), progress=progress)

        self._work(work, self._maintained)

    def _maintained(self, report: MaintenanceReport) -> None:
        self.last_report = report
        self.query_one("#backup-report", Static).update(escape("\n".join(maintenance_lines(report))))
        self.action_list()


def maintenance_lines(report: MaintenanceReport) -> list[str]:
    total = len(report.steps)
    lines = [f"Maintenance of {report.database} finished in {report.seconds:.1f} s"]
    lines += [outcome.line(total) for outcome in report.steps]
    if report.function_report is not None:
        lines.append("perform_database_maintenance(): " + json.dumps(report.function_report, default=str,
                                                                    ensure_ascii=False, sort_keys=True)[:400])
    if report.stats is not None:
        lines += report.stats.lines()
    return lines
