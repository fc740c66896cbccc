"""Restore: a verified backup into a new, an empty or (with reset) a replaced database.

Nothing touches the target before the backup file has been read through. A replacement is restored
into a fresh temporary database first; only when that succeeded is the target dropped and the
temporary database renamed to its name, so a failed restore never leaves a half-written target.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.backup import verify_backup
from db.errors import AstrofinError
from db.scripts_common import (
    Progress,
    Steps,
    check_database_name,
    connect,
    create_database,
    database_exists,
    drop_database,
    rename_database,
    run_tool,
    user_relation_count,
)
from db.target import Target


@dataclass
class RestoreResult:
    database: str
    path: Path
    how: str
    """"created", "replaced" or "into the empty database"."""
    revision: str | None
    seconds: float

    def summary(self) -> str:
        at = f" at schema revision {self.revision}" if self.revision else ""
        return f"restored {self.path} into {self.database!r} ({self.how}){at} in {self.seconds:.1f} s"


def _pg_restore(target: Target, path: Path, database: str) -> None:
    try:
        # The name goes in as a conninfo value: a database name containing '=' stays a name.
        run_tool(target, "pg_restore", ["--single-transaction", "--no-owner", "--no-password",
                                        "--dbname", make_conninfo(dbname=database), str(path)],
                 database=database, what=f"restoring {path.name} failed")
    except AstrofinError as exc:
        message = str(exc)
        if "role" in message and "does not exist" in message:
            message += ("; the AstroFinance database roles are created by a migration: run "
                        "`astrofin db migrate -c -d <scratch database>` on this server once, then restore again")
        raise AstrofinError(message) from None


def _revision(target: Target) -> str | None:
    try:
        with connect(target) as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


def restore_database(target: Target, backup_file: Path | str, *, create: bool = False, reset: bool = False,
                     progress: Progress | None = None) -> RestoreResult:
    """Restore `backup_file` into the target database (see the module's notes for the safety rules)."""
    path = Path(backup_file)
    name = check_database_name(target.database)
    steps = Steps(3, progress)
    started = time.perf_counter()
    with steps.step(f"Check {path.name}"):
        verify_backup(target, path)

    exists = database_exists(target, name)
    if exists:
        with connect(target) as conn:
            empty = user_relation_count(conn) == 0
        if not empty and not reset:
            raise AstrofinError(
                f"database {name!r} already holds data; restoring over it is refused. Add --reset (-r) to "
                f"replace it with the backup (back it up first: astrofin db backup -d {name})")
    elif not (create or reset):
        raise AstrofinError(f"database {name!r} does not exist; add --create (-c) to create it from the backup")

    if exists and not reset:  # an existing, empty database: one transaction, all or nothing
        with steps.step(f"Restore into {name}"):
            _pg_restore(target, path, name)
        steps.skip("Swap databases", "restored in place")
        return RestoreResult(name, path, "into the empty database", _revision(target),
                             time.perf_counter() - started)

    scratch = f"astrofin_restore_{uuid.uuid4().hex[:12]}"
    with steps.step(f"Restore into a fresh database ({scratch})"):
        create_database(target, scratch)
        try:
            _pg_restore(target, path, scratch)
        except BaseException:
            drop_database(target, scratch)
            raise
    with steps.step(f"Put it in place as {name}"):
        if exists:
            drop_database(target, name)
        try:
            rename_database(target, scratch, name)
        except AstrofinError as exc:
            raise AstrofinError(f"{exc}; the restored data is in database {scratch!r}") from None
    return RestoreResult(name, path, "replaced" if exists else "created", _revision(target),
                         time.perf_counter() - started)
