"""What the database scripts share: connections with plain-language failures, the bundled client tools,
step-by-step progress, backup file names and database names.

Nothing here prints: results come back as values and progress goes to an optional callback, so the
command line and an admin screen can both drive the same functions.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from db.errors import AstrofinError, DatabaseUnavailable
from db.target import Target

TABLES = (
    "users", "customers", "loans", "transactions", "payment_schedules", "sms_templates", "sms_histories",
    "journal_entries", "journal_entry_details", "chart_of_accounts", "audit_logs",
)
"""The eleven tables of the design: every backup must carry their data."""

Progress = Callable[[str, float], None]
"""progress(message, fraction): `fraction` of the whole job done, 0.0 to 1.0.

A message ending in "…" announces a step; every other message says how a step ended
("[2/5] VACUUM ANALYZE … done in 0.4 s", "[3/5] Refresh views … skipped: not installed").
"""

BACKUP_NAME = re.compile(r"^astrofin_(\d{8})_(\d{6})(?:_(\d+))?\.dump$")
"""astrofin_YYYYMMDD_HHMMSS.dump (a `_N` suffix when two backups fall in the same second)."""

_MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1, in bytes


# --- steps and progress -------------------------------------------------------------------------------

@dataclass
class StepOutcome:
    number: int
    title: str
    status: str  # "done", "skipped" or "failed"
    detail: str = ""
    seconds: float = 0.0

    def line(self, total: int) -> str:
        head = f"[{self.number}/{total}] {self.title} …"
        if self.status == "done":
            tail = f"done in {self.seconds:.1f} s"
            return f"{head} {tail}" + (f" ({self.detail})" if self.detail else "")
        return f"{head} {self.status}: {self.detail}" if self.detail else f"{head} {self.status}"


class StepHandle:
    """What a running step may say about itself: a detail for its end line, or that it was skipped."""

    def __init__(self) -> None:
        self.detail = ""
        self.skipped: str | None = None

    def skip(self, reason: str) -> None:
        self.skipped = reason


class Steps:
    """Numbered steps reported to a progress callback: "[i/n] title …" then how the step ended."""

    def __init__(self, total: int, progress: Progress | None = None) -> None:
        self.total = total
        self.progress = progress
        self.outcomes: list[StepOutcome] = []

    def _say(self, message: str, fraction: float) -> None:
        if self.progress is not None:
            self.progress(message, max(0.0, min(1.0, fraction)))

    def skip(self, title: str, reason: str) -> StepOutcome:
        number = len(self.outcomes) + 1
        outcome = StepOutcome(number, title, "skipped", reason)
        self.outcomes.append(outcome)
        self._say(outcome.line(self.total), number / self.total)
        return outcome

    @contextmanager
    def step(self, title: str) -> Iterator[StepHandle]:
        number = len(self.outcomes) + 1
        self._say(f"[{number}/{self.total}] {title} …", (number - 1) / self.total)
        handle = StepHandle()
        started = time.perf_counter()
        try:
            yield handle
        except BaseException:
            # The reason travels with the exception; the report only says which step it was.
            outcome = StepOutcome(number, title, "failed", "", time.perf_counter() - started)
            self.outcomes.append(outcome)
            self._say(outcome.line(self.total), number / self.total)
            raise
        seconds = time.perf_counter() - started
        if handle.skipped is not None:
            outcome = StepOutcome(number, title, "skipped", handle.skipped, seconds)
        else:
            outcome = StepOutcome(number, title, "done", handle.detail, seconds)
        self.outcomes.append(outcome)
        self._say(outcome.line(self.total), number / self.total)


# --- connections --------------------------------------------------------------------------------------

def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    message = str(orig).strip()
    return message.splitlines()[0].strip() if message else type(exc).__name__


def where(target: Target) -> str:
    """The server, as a person would name it: host:port or the socket folder."""
    url = target.url
    if url.host:
        return f"{url.host}:{url.port or 5432}"
    host = str(url.query.get("host") or "")
    port = str(url.query.get("port") or "5432")
    return f"{host} (port {port})" if host else "the local server"


def _unavailable(target: Target, exc: BaseException, database: str) -> AstrofinError:
    message = first_line(exc)
    if f'database "{database}" does not exist' in message:
        return AstrofinError(f"database {database!r} does not exist on {where(target)}")
    if "password authentication failed" in message or ("role" in message and "does not exist" in message):
        return DatabaseUnavailable(f"the server at {where(target)} refused the login: {message}")
    return DatabaseUnavailable(f"cannot reach the database server at {where(target)}: {message}")


@contextmanager
def connect(target: Target, database: str | None = None, *, autocommit: bool = False) -> Iterator[Connection]:
    """A connection to `database` (the target's by default), committed at the end unless autocommit.

    A server that cannot be reached, a database that does not exist or a refused login become one
    plain AstrofinError; errors raised later by statements are left to the caller.
    """
    name = database or target.database
    url = target.url.set(database=name)
    kwargs = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = create_engine(url, poolclass=pool.NullPool, **kwargs)  # type: ignore[arg-type]
    try:
        try:
            conn = engine.connect()
        except OperationalError as exc:
            raise _unavailable(target, exc, name) from None
        with conn:
            if autocommit:
                yield conn
            else:
                with conn.begin():
                    yield conn
    finally:
        engine.dispose()


def admin_connection(target: Target) -> AbstractContextManager[Connection]:
    """An autocommit connection to the server's `postgres` database, for CREATE/DROP/ALTER DATABASE."""
    return connect(target, make_url(target.maintenance_url).database or "postgres", autocommit=True)


def check_database_name(name: str) -> str:
    if not name or not name.strip():
        raise AstrofinError("the database name is empty")
    if "\x00" in name:
        raise AstrofinError("a database name cannot contain a NUL character")
    if len(name.encode("utf-8")) > _MAX_IDENTIFIER:
        raise AstrofinError(f"the database name {name!r} is longer than {_MAX_IDENTIFIER} bytes")
    return name


def quote_ident(conn: Connection, name: str) -> str:
    """A database name made safe as an SQL identifier (double quotes doubled); CREATE DATABASE takes no parameters."""
    return conn.dialect.identifier_preparer.quote_identifier(check_database_name(name))


def database_exists(target: Target, name: str | None = None) -> bool:
    with admin_connection(target) as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": name or target.database}).first()
    return found is not None


def create_database(target: Target, name: str | None = None) -> None:
    name = name or target.database
    with admin_connection(target) as conn:
        _run_ddl(conn, f"CREATE DATABASE {quote_ident(conn, name)} ENCODING 'UTF8' TEMPLATE template0",
                 f"cannot create database {name!r}")


def drop_database(target: Target, name: str | None = None) -> None:
    """Drop the database, disconnecting anyone still on it (what --reset means)."""
    name = name or target.database
    with admin_connection(target) as conn:
        _run_ddl(conn, f"DROP DATABASE IF EXISTS {quote_ident(conn, name)} WITH (FORCE)",
                 f"cannot drop database {name!r}")


def rename_database(target: Target, old: str, new: str) -> None:
    with admin_connection(target) as conn:
        _run_ddl(conn, f"ALTER DATABASE {quote_ident(conn, old)} RENAME TO {quote_ident(conn, new)}",
                 f"cannot rename database {old!r} to {new!r}")


def _run_ddl(conn: Connection, statement: str, failure: str) -> None:
    try:
        conn.execute(text(statement))
    except DBAPIError as exc:
        raise AstrofinError(f"{failure}: {first_line(exc)}") from None


def user_relation_count(conn: Connection) -> int:
    """Tables, views and sequences outside the system schemas: zero for a database nobody has used."""
    return int(conn.execute(text(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
        "AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
    )).scalar_one())


def function_installed(conn: Connection, name: str) -> bool:
    return bool(conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proname = :name)"
    ), {"name": name}).scalar_one())


# --- the bundled client tools ---------------------------------------------------------------------------

def run_tool(target: Target, name: str, args: Sequence[str], *, database: str | None = None,
             what: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run pg_dump/pg_restore/psql against the target; a failure becomes one AstrofinError line,
    `what` followed by the tool's own error message."""
    command = [target.tool(name), *args]
    try:
        result = subprocess.run(command, env=target.tool_env(database), capture_output=True, text=True,
                                check=False)
    except FileNotFoundError:
        raise AstrofinError(f"{name} was not found ({command[0]}); install the PostgreSQL client tools") from None
    if result.returncode != 0:
        raise AstrofinError(f"{what or name + ' failed'}: {tool_error(result.stderr, name)}")
    return result


def tool_error(stderr: str, name: str) -> str:
    """The most telling line of a client tool's error output, without its 'pg_dump: error:' prefix."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line] or lines
    if not errors:
        return "no error message"
    line = errors[0]
    for prefix in (f"{name}: error: ", f"{name}: "):
        if line.startswith(prefix):
            line = line[len(prefix):]
    return line


# --- backup files ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BackupFile:
    path: Path
    size: int
    taken_at: datetime
    """The time in the file name (local time); the modification time for a name without one."""


def backup_name(moment: datetime, serial: int = 0) -> str:
    stamp = moment.strftime("%Y%m%d_%H%M%S")
    return f"astrofin_{stamp}.dump" if serial == 0 else f"astrofin_{stamp}_{serial}.dump"


def name_timestamp(name: str) -> datetime | None:
    match = BACKUP_NAME.match(name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
    except ValueError:
        return None


def list_backups(folder: Path) -> list[BackupFile]:
    """The astrofin_*.dump files in `folder`, newest first (an absent folder has none)."""
    if not folder.is_dir():
        return []
    found: list[BackupFile] = []
    for path in folder.glob("astrofin_*.dump"):
        if not path.is_file():
            continue
        stat = path.stat()
        taken = name_timestamp(path.name) or datetime.fromtimestamp(stat.st_mtime)
        found.append(BackupFile(path, stat.st_size, taken))
    found.sort(key=lambda item: (item.taken_at, item.path.name), reverse=True)
    return found


def human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover
