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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from db.config import ConfigError, Settings
from db.errors import AstrofinError
from db.scripts_common import (
    BACKUP_NAME,
    TABLES,
    Progress,
    Steps,
    backup_name,
    connect,
    human_size,
    name_timestamp,
    run_tool,
    tool_error,
)
from db.target import Target

DEFAULT_RETENTION_DAYS = 30
DEFAULT_RETENTION_COUNT = 10
_TOC_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ")


@dataclass
class BackupResult:
    path: Path
    size: int
    taken_at: datetime
    seconds: float
    deleted: list[Path] = field(default_factory=list)

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
                    now: datetime | None = None) -> BackupResult:
    """Dump the target database into `output_dir`, verify the dump, then apply the retention policy."""
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
    steps = Steps(3, progress)
    started = time.perf_counter()
    moment = now or datetime.now()
    try:
        fd, temp_name = tempfile.mkstemp(prefix=".astrofin_", suffix=".dump.partial", dir=folder)
    except OSError as exc:
        raise AstrofinError(f"cannot write in the backup folder {folder}: {exc.strerror}") from None
    os.close(fd)
    temp = Path(temp_name)
    try:
        with steps.step(f"pg_dump {target.database}") as step:
            run_tool(target, "pg_dump", ["--format=custom", "--no-password", "--file", str(temp)],
                     what=f"pg_dump of {target.database!r} failed")
            step.detail = human_size(temp.stat().st_size)
        with steps.step("Verify the backup"):
            verify_backup(target, temp)
            with temp.open("rb") as handle:
                os.fsync(handle.fileno())
        final = _final_path(folder, moment)
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    with steps.step("Retention") as step:
        deleted = apply_retention(folder, retention_days=retention_days, retention_count=retention_count,
                                  now=moment, keep=final)
        step.detail = f"{len(deleted)} old backup{'s' if len(deleted) != 1 else ''} deleted"
    return BackupResult(final, final.stat().st_size, moment, time.perf_counter() - started, deleted)
