"""Routine maintenance: backup, VACUUM ANALYZE, REINDEX, materialized views, the database's own
maintenance function, the day's late penalties, and statistics.

A step whose SQL function is not installed (yet) is skipped and says so; a step switched off in the
configuration is skipped with that reason. Nothing here fails because an optional part is missing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from db.backup import DEFAULT_RETENTION_COUNT, DEFAULT_RETENTION_DAYS, BackupResult, backup_database, backup_settings
from db.config import ConfigError, Settings
from db.errors import AstrofinError
from db.scripts_common import (
    TABLES,
    Progress,
    StepOutcome,
    Steps,
    connect,
    first_line,
    function_installed,
    human_size,
)
from db.target import Target

NOT_INSTALLED = "not installed"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _enabled(section: dict[str, Any], key: str, variable: str) -> bool:
    raw = str(section.get(key, "true")).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{variable} must be true or false, not {section.get(key)!r}")


@dataclass(frozen=True)
class MaintenanceOptions:
    backup: bool = True
    vacuum: bool = True
    reindex: bool = True
    refresh_views: bool = True
    penalties: bool = True
    """Charge the late penalties due today (apply_overdue_penalties); PENALTIES_ENABLED=false skips it."""
    backup_dir: Path = Path("./backups")
    retention_days: int = DEFAULT_RETENTION_DAYS
    retention_count: int = DEFAULT_RETENTION_COUNT
    verify_restore: bool = False
    """Restore the backup into a scratch database and compare it with the source (--verify-restore)."""

    @classmethod
    def from_settings(cls, settings: Settings, *, no_backup: bool = False,
                      verify_restore: bool = False) -> MaintenanceOptions:
        """BACKUP_BEFORE_MAINTENANCE, VACUUM_ENABLED, REINDEX_ENABLED, REFRESH_VIEWS_ENABLED, PENALTIES_ENABLED,
        BACKUP_*."""
        section = settings.maintenance
        folder, days, count = backup_settings(settings)
        return cls(
            backup=not no_backup and _enabled(section, "backup_before_maintenance", "BACKUP_BEFORE_MAINTENANCE"),
            vacuum=_enabled(section, "vacuum_enabled", "VACUUM_ENABLED"),
            reindex=_enabled(section, "reindex_enabled", "REINDEX_ENABLED"),
            refresh_views=_enabled(section, "refresh_views_enabled", "REFRESH_VIEWS_ENABLED"),
            penalties=_enabled(section, "penalties_enabled", "PENALTIES_ENABLED"),
            backup_dir=folder,
            retention_days=days,
            retention_count=count,
            verify_restore=verify_restore,
        )


@dataclass(frozen=True)
class TableStats:
    name: str
    rows: int
    total_bytes: int
    dead_tuples: int


@dataclass(frozen=True)
class DatabaseStats:
    database: str
    size_bytes: int
    tables: list[TableStats]

    def lines(self) -> list[str]:
        out = [f"Database {self.database}: {human_size(self.size_bytes)}",
               f"  {'table':<24}{'rows':>10}{'size':>12}{'dead rows':>11}"]
        for table in self.tables:
            out.append(f"  {table.name:<24}{table.rows:>10}{human_size(table.total_bytes):>12}"
                       f"{table.dead_tuples:>11}")
        return out


@dataclass
class MaintenanceReport:
    database: str
    steps: list[StepOutcome] = field(default_factory=list)
    backup: BackupResult | None = None
    function_report: Any = None
    """What perform_database_maintenance() returned (its jsonb, as Python values), when installed."""
    penalties_written: int | None = None
    """How many late penalty charges the run wrote (None when the step was skipped)."""
    stats: DatabaseStats | None = None
    seconds: float = 0.0


def collect_stats(conn: Connection) -> DatabaseStats:
    """Size of the database and, per table of the design, exact rows, total size and dead tuples."""
    database = str(conn.execute(text("SELECT current_database()")).scalar_one())
    size = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    stats = {
        row.relname: row
        for row in conn.execute(text(
            "SELECT relname, pg_total_relation_size(relid) AS total_bytes, n_dead_tup "
            "FROM pg_stat_user_tables WHERE schemaname = 'public'"))
    }
    tables = []
    for name in TABLES:  # names from the fixed list of the design, never from input
        if name not in stats:
            continue
        rows = int(conn.execute(text(f"SELECT count(*) FROM public.{name}")).scalar_one())  # noqa: S608
        tables.append(TableStats(name, rows, int(stats[name].total_bytes), int(stats[name].n_dead_tup or 0)))
    return DatabaseStats(database, size, tables)


def _vacuum(conn: Connection) -> None:
    conn.execute(text("VACUUM (ANALYZE)"))


def _reindex(conn: Connection) -> str:
    """REINDEX DATABASE when this user may; otherwise each table of the design it owns."""
    name = str(conn.execute(text("SELECT current_database()")).scalar_one())
    quoted = conn.dialect.identifier_preparer.quote_identifier(name)
    try:
        conn.execute(text(f"REINDEX DATABASE {quoted}"))
        return "whole database"
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
            raise
    for table in TABLES:
        conn.execute(text(f"REINDEX TABLE public.{table}"))
    return f"{len(TABLES)} tables"


def run_maintenance(target: Target, options: MaintenanceOptions | None = None, *,
                    progress: Progress | None = None) -> MaintenanceReport:
    """Run every maintenance step in order; a failing step stops the run with an AstrofinError."""
    options = options or MaintenanceOptions()
    report = MaintenanceReport(target.database)
    steps = Steps(7, progress)
    started = time.perf_counter()
    with connect(target):  # a clear message now if the server or database is not there
        pass

    if not options.backup:
        steps.skip("Backup", "switched off (--no-backup or BACKUP_BEFORE_MAINTENANCE=false)")
    else:
        with steps.step("Backup") as step:
            report.backup = backup_database(target, options.backup_dir, retention_days=options.retention_days,
                                            retention_count=options.retention_count,
                                            restore_check=options.verify_restore)
            step.detail = report.backup.summary()

    with connect(target, autocommit=True) as conn:
        _sql_step(steps, "VACUUM ANALYZE", options.vacuum, "VACUUM_ENABLED=false", lambda: _vacuum(conn))
        _sql_step(steps, "REINDEX", options.reindex, "REINDEX_ENABLED=false", lambda: _reindex(conn))

    with connect(target) as conn:
        if not options.refresh_views:
            steps.skip("Refresh materialized views", "REFRESH_VIEWS_ENABLED=false")
        else:
            with steps.step("Refresh materialized views") as step:
                if function_installed(conn, "refresh_monthly_financial_summary"):
                    _call(conn, "SELECT refresh_monthly_financial_summary()")
                    step.detail = "mvw_monthly_financial_summary"
                    # PAR's running totals (0026): the day's changes folded in, so PAR reads a few rows again.
                    if function_installed(conn, "loan_arrears_fold"):
                        folded = int(_call(conn, "SELECT loan_arrears_fold()"))
                        step.detail += f"; PAR totals ({folded} changes folded)"
                else:
                    step.skip(f"{NOT_INSTALLED} (refresh_monthly_financial_summary)")

    with connect(target) as conn, steps.step("perform_database_maintenance()") as step:
        if function_installed(conn, "perform_database_maintenance"):
            report.function_report = _call(conn, "SELECT perform_database_maintenance()")
        else:
            step.skip(NOT_INSTALLED)

    if not options.penalties:
        steps.skip("Late penalties", "PENALTIES_ENABLED=false")
    else:
        with connect(target) as conn, steps.step("Late penalties") as step:
            if function_installed(conn, "apply_overdue_penalties"):
                report.penalties_written = int(_call(conn, "SELECT apply_overdue_penalties()"))
                step.detail = f"{report.penalties_written} charges written"
            else:
                step.skip(f"{NOT_INSTALLED} (apply_overdue_penalties)")

    with connect(target) as conn, steps.step("Database statistics") as step:
        report.stats = collect_stats(conn)
        step.detail = human_size(report.stats.size_bytes)

    report.steps = steps.outcomes
    report.seconds = time.perf_counter() - started
    return report


def _sql_step(steps: Steps, title: str, enabled: bool, reason: str, action: Any) -> None:
    if not enabled:
        steps.skip(title, reason)
        return
    with steps.step(title) as step:
        try:
            detail = action()
        except DBAPIError as exc:
            raise AstrofinError(f"{title} failed: {first_line(exc)}") from None
        if isinstance(detail, str):
            step.detail = detail


def _call(conn: Connection, statement: str) -> Any:
    try:
        return conn.execute(text(statement)).scalar()
    except DBAPIError as exc:
        name = statement.removeprefix("SELECT ").rstrip()
        raise AstrofinError(f"{name} failed: {first_line(exc)}") from None


def run_penalties(target: Target, as_of: date | None = None) -> int:
    """apply_overdue_penalties as the owner (every branch): the charges due on or before `as_of` (today)."""
    with connect(target) as conn:
        if not function_installed(conn, "apply_overdue_penalties"):
            raise AstrofinError("apply_overdue_penalties is not installed: run `astrofin db migrate` first")
        try:
            written = conn.execute(text("SELECT apply_overdue_penalties(CAST(:d AS date))"), {"d": as_of})
            return int(written.scalar_one())
        except DBAPIError as exc:
            raise AstrofinError(f"late penalties not charged: {first_line(exc)}") from None
