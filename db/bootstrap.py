"""Getting a database ready: create it, migrate it, seed it — what the embedded first start does by itself."""

from __future__ import annotations

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError, ProgrammingError

from db import migrate
from db.config import Settings
from db.errors import DatabaseUnavailable, unreachable_message
from db.target import Target, resolve

_BOOTSTRAP_LOCK = 0x61737472  # one advisory lock number for "astr", held while a first start prepares


def database_exists(target: Target, name: str | None = None) -> bool:
    engine = create_engine(target.maintenance_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name or target.database}
            ).first()
    except OperationalError as exc:
        raise DatabaseUnavailable(unreachable_message(exc)) from exc
    finally:
        engine.dispose()
    return found is not None


def create_database(target: Target, name: str | None = None) -> bool:
    """Create the database when missing; True when this call created it."""
    name = name or target.database
    engine = create_engine(target.maintenance_url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                return False
            quoted = conn.dialect.identifier_preparer.quote(name)
            try:
                conn.execute(text(f"CREATE DATABASE {quoted} ENCODING 'UTF8' TEMPLATE template0"))
            except ProgrammingError as exc:  # created meanwhile by another process
                if "already exists" in str(exc):
                    return False
                raise
    except OperationalError as exc:
        raise DatabaseUnavailable(unreachable_message(exc)) from exc
    finally:
        engine.dispose()
    return True


def prepare_embedded(target: Target) -> None:
    """Create, migrate to head and, on first start, seed the demo data; safe when two apps start at once."""
    from db.seed import seed_database

    engine = create_engine(target.maintenance_url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _BOOTSTRAP_LOCK})
            try:
                create_database(target)
                fresh = migrate.current_revision(target.url) is None
                migrate.upgrade(target.url)
                if fresh:
                    seed_database(target.url, demo=True)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _BOOTSTRAP_LOCK})
    finally:
        engine.dispose()


def check_migrated(url: URL) -> None:
    """A configured server is migrated by its operator; say so plainly when it is behind."""
    current = migrate.current_revision(url)
    head = migrate.head_revision()
    if current != head:
        raise DatabaseUnavailable(
            f"the database is at schema revision {current or 'none'}, this version needs {head}: "
            "run db/migrate.sh (astrofin db migrate) first"
        )


def open_app_database(settings: Settings) -> Target:
    """What `astrofin` runs on: the embedded server prepared on demand, or a configured, migrated one."""
    target = resolve(settings)
    if target.server is not None:
        prepare_embedded(target)
    else:
        try:
            check_migrated(target.url)
        except OperationalError as exc:
            raise DatabaseUnavailable(unreachable_message(exc)) from exc
    return target

