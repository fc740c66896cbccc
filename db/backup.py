"""Backups: `pg_dump -Fc` to astrofin_YYYYMMDD_HHMMSS.dump, verified, then the retention policy.

The dump is written under a hidden temporary name in the backup folder and renamed only once it has
been read back in full, so a file with a backup's name is always a complete, readable backup. Backup
files are created readable by their owner only (they hold password hashes).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection, text

from db.config import ConfigError, Settings
from db.errors import AstrofinError
from db.scripts_common import (
    BACKUP_NAME,
    TABLES,
    Progress,
    Steps,
    backup_name,
    connect,
    create_database,
    drop_database,
    human_size,
    name_timestamp,
    run_tool,
    tool_error,
)
from db.target import Target

DEFAULT_RETENTION_DAYS = 30
DEFAULT_RETENTION_COUNT = 10
_TOC_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ")


@dataclass(frozen=True)
class RestoreCheck:
    """What --verify-restore found: the dump restored into a scratch database equals its source."""

    tables: int
    rows: int
    seconds: float

    def summary(self) -> str:
        return (f"restore verified: {self.tables} tables, {self.rows} rows restored into a scratch database, "
                f"counts and checksums equal to the source ({self.seconds:.1f} s)")


@dataclass
class BackupResult:
    path: Path
    size: int
    taken_at: datetime
    seconds: float
    deleted: list[Path] = field(default_factory=list)
    restore_check: RestoreCheck | None = None

    def summary(self) -> str:
        return f"{self.path} ({human_size(self.size)})"


def backup_settings(settings: Settings) -> tuple[Path, int, int]:
    """BACKUP_PATH, BACKUP_RETENTION_DAYS and BACKUP_RETENTION_COUNT from the configuration."""

    def whole(key: str, variable: str, default: int) -> int:
        raw = str(settings.backup.get(key) or default).strip()
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{variable} must be a whole number, not {raw!r}") from None

    return (Path(str(settings.backup.get("path") or "./backups")),
            whole("retention_days", "BACKUP_RETENTION_DAYS", DEFAULT_RETENTION_DAYS),
            whole("retention_count", "BACKUP_RETENTION_COUNT", DEFAULT_RETENTION_COUNT))


def tables_in_dump(toc: str) -> set[str]:
    """Names of the public tables whose data a `pg_restore --list` table of contents holds."""
    found = set()
    for line in toc.splitlines():
        match = _TOC_DATA.match(line)
        if match and match.group(1) == "public":
            found.add(match.group(2))
    return found


def verify_backup(target: Target, path: Path) -> None:
    """Check that `path` is a complete AstroFinance backup; raise AstrofinError saying what is wrong.

    `pg_restore --list` reads the table of contents, which must list the eleven tables' data; then the
    whole archive is read through (restored to nowhere), which is what finds a file cut short near its end.
    """
    if not path.exists():
        raise AstrofinError(f"backup file not found: {path}")
    if not path.is_file():
        raise AstrofinError(f"{path} is not a file")
    label = f"{path} is not a readable backup"
    toc = run_tool(target, "pg_restore", ["--list", str(path)], what=label)
    missing = [table for table in TABLES if table not in tables_in_dump(toc.stdout)]
    if missing:
        raise AstrofinError(f"{path} is not an AstroFinance backup: it holds no data for {', '.join(missing)}")
    result = subprocess.run([target.tool("pg_restore"), "-f", os.devnull, str(path)], env=target.tool_env(),
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AstrofinError(f"{label} (damaged or cut short?): {tool_error(result.stderr, 'pg_restore')}")


def table_checksums(conn: Connection, kinds: tuple[str, ...] = ("r", "p")) -> dict[str, tuple[int, str]]:
    """Row count and an md5 of the rows (as text, in a fixed order) of every relation of the given pg_class
    kinds in the public schema: by default tables and partitioned tables.

    Materialized views ('m') are left out by default: a restore refreshes them, so they may differ from a
    stale source.
    """
    names = conn.execute(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = ANY(:kinds) ORDER BY 1"), {"kinds": list(kinds)}).scalars().all()
    sums = {}
    for name in names:
        quoted = conn.dialect.identifier_preparer.quote_identifier(name)
        # The names come from the catalog and are quoted as identifiers; no input reaches this statement.
        row = conn.execute(text(
            f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "  # noqa: S608
            f"FROM public.{quoted} t")).one()
        sums[name] = (int(row[0]), str(row[1]))
    return sums


def checksum_differences(source: dict[str, tuple[int, str]], restored: dict[str, tuple[int, str]]) -> list[str]:
    """Each table where the restored copy differs from the source, as a short sentence."""
    problems = []
    for name in sorted(set(source) | set(restored)):
        if name not in restored:
            problems.append(f"table {name} is missing from the restored copy")
        elif name not in source:
            problems.append(f"table {name} is in the restored copy but not in the source")
        elif source[name][0] != restored[name][0]:
            problems.append(f"table {name} has {restored[name][0]} rows restored, {source[name][0]} in the source")
        elif source[name][1] != restored[name][1]:
            problems.append(f"table {name} restored with different contents (checksum differs)")
    return problems


@contextmanager
def _snapshot(target: Target) -> Iterator[tuple[str, dict[str, tuple[int, str]]]]:
    """A repeatable-read transaction on the source, held open: its exported snapshot id (for pg_dump
    --snapshot) and the checksums of its tables as that snapshot sees them, so a busy database compares
    like with like."""
    with connect(target) as conn:
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
        yield snapshot, table_checksums(conn)


def verify_restore(target: Target, path: Path, source: dict[str, tuple[int, str]]) -> RestoreCheck:
    """Restore `path` into a scratch database, compare its tables with `source`, and drop the scratch
    database whatever happens; raise AstrofinError naming what differs."""
    started = time.perf_counter()
    scratch = f"astrofin_verify_{uuid.uuid4().hex[:12]}"
    create_database(target, scratch)
    try:
        run_tool(target, "pg_restore", ["--single-transaction", "--no-owner", "--no-password",
                                        "--dbname", make_conninfo(dbname=scratch), str(path)],
                 database=scratch, what=f"the trial restore of {path.name} into {scratch!r} failed")
        with connect(target, scratch) as conn:
            restored = table_checksums(conn)
    finally:
        drop_database(target, scratch)
    problems = checksum_differences(source, restored)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise AstrofinError(f"the backup does not restore to what was dumped: {'; '.join(problems[:3])}{more}")
    return RestoreCheck(len(restored), sum(count for count, _ in restored.values()), time.perf_counter() - started)


def check_schema(target: Target) -> None:
    """Refuse early, with a reason, to back up a database that is not (yet) an AstroFinance one."""
    with connect(target) as conn:
        present = set(conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
    missing = [table for table in TABLES if table not in present]
    if missing:
        raise AstrofinError(f"database {target.database!r} has no AstroFinance tables "
                            f"({', '.join(missing[:3])}{' …' if len(missing) > 3 else ''} missing): "
                            "migrate it first (astrofin db migrate)")


def apply_retention(folder: Path, *, retention_days: int, retention_count: int, now: datetime | None = None,
                    keep: Path | None = None) -> list[Path]:
    """Delete backups older than `retention_days`, then all but the newest `retention_count`.

    A backup's age is the timestamp in its name (local time), not the file's modification time, which a
    copy or a restore from tape changes. Only files named astrofin_YYYYMMDD_HHMMSS.dump are ever deleted,
    and never `keep` (the backup just taken).
    """
    now = now or datetime.now()
    dated: list[tuple[datetime, Path]] = []
    for path in folder.iterdir() if folder.is_dir() else []:
        taken = name_timestamp(path.name) if BACKUP_NAME.match(path.name) else None
        if taken is not None and path.is_file():
            dated.append((taken, path))
    dated.sort(key=lambda item: (item[0], item[1].name), reverse=True)
    cutoff = now - timedelta(days=retention_days)
    doomed = [path for taken, path in dated if taken < cutoff]
    survivors = [path for taken, path in dated if taken >= cutoff]
    if keep is not None and keep in survivors:
        survivors.remove(keep)
        survivors.insert(0, keep)
    doomed += survivors[retention_count:]
    deleted = []
    for path in doomed:
        if keep is not None and path == keep:
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise AstrofinError(f"cannot delete old backup {path}: {exc.strerror}") from None
        deleted.append(path)
    return deleted


def _final_path(folder: Path, moment: datetime) -> Path:
    serial = 0
    while (folder / backup_name(moment, serial)).exists():
        serial += 1
    return folder / backup_name(moment, serial)


def backup_database(target: Target, output_dir: Path | str, *, retention_days: int = DEFAULT_RETENTION_DAYS,
                    retention_count: int = DEFAULT_RETENTION_COUNT, progress: Progress | None = None,
                    now: datetime | None = None, restore_check: bool = False) -> BackupResult:
    """Dump the target database into `output_dir`, verify the dump, then apply the retention policy.

    With `restore_check` (--verify-restore) the dump is taken from an exported snapshot whose tables are
    checksummed, then restored into a scratch database and compared table by table before it is kept.
    """
    if retention_days < 1:
        raise AstrofinError("retention days must be at least 1")
    if retention_count < 1:
        raise AstrofinError("retention count must be at least 1 (the backup just taken is always kept)")
    folder = Path(output_dir)
    check_schema(target)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AstrofinError(f"cannot create the backup folder {folder}: {exc.strerror}") from None
    steps = Steps(4 if restore_check else 3, progress)
    started = time.perf_counter()
    moment = now or datetime.now()
    checked: RestoreCheck | None = None
    try:
        fd, temp_name = tempfile.mkstemp(prefix=".astrofin_", suffix=".dump.partial", dir=folder)
    except OSError as exc:
        raise AstrofinError(f"cannot write in the backup folder {folder}: {exc.strerror}") from None
    os.close(fd)
    temp = Path(temp_name)
    try:
        with _snapshot(target) if restore_check else _no_snapshot() as (snapshot, source):
            with steps.step(f"pg_dump {target.database}") as step:
                options = ["--format=custom", "--no-password", "--file", str(temp)]
                if snapshot:
                    options.append(f"--snapshot={snapshot}")
                run_tool(target, "pg_dump", options, what=f"pg_dump of {target.database!r} failed")
                step.detail = human_size(temp.stat().st_size)
        with steps.step("Verify the backup"):
            verify_backup(target, temp)
            with temp.open("rb") as handle:
                os.fsync(handle.fileno())
        if restore_check:
            with steps.step("Restore into a scratch database and compare") as step:
                checked = verify_restore(target, temp, source)
                step.detail = f"{checked.tables} tables, {checked.rows} rows equal"
        final = _final_path(folder, moment)
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    with steps.step("Retention") as step:
        deleted = apply_retention(folder, retention_days=retention_days, retention_count=retention_count,
                                  now=moment, keep=final)
        step.detail = f"{len(deleted)} old backup{'s' if len(deleted) != 1 else ''} deleted"
    return BackupResult(final, final.stat().st_size, moment, time.perf_counter() - started, deleted, checked)


@contextmanager
def _no_snapshot() -> Iterator[tuple[str, dict[str, tuple[int, str]]]]:
    yield "", {}
