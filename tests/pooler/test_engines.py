"""Every engine the application and its commands make prepares nothing: behind PgBouncer in transaction pooling
(before 1.21's max_prepared_statements) a statement psycopg prepared on one server connection is missing on the next
one the client gets, or already there under the same name from another client."""

from __future__ import annotations

import ast
from pathlib import Path

import psycopg
from sqlalchemy import Engine, pool
from sqlalchemy.engine import URL

from db.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
DIRECT = {
    # Tools that connect to the server itself, never through the pooler (docs/scaling.md, section 2): the embedded
    # server's first start, migrations, the seed, the schema dump, and the operator's scripts (backup, restore,
    # maintenance: pg_dump, pg_restore and VACUUM want a session of their own).
    "db/bootstrap.py", "db/migrate.py", "db/seed.py", "db/schema_dump.py", "db/scripts_common.py",
}


def test_only_make_engine_makes_engines() -> None:
    """Before, `astrofin sms`, `users`, `import mpesa` and `audit` made their own engines, which prepared a statement
    after its fifth run on a connection (psycopg's default)."""
    makers = []
    for folder in ("astrofin_tui", "db", "screens", "widgets"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None))
                        == "create_engine" and relative not in DIRECT | {"db/engine.py"}):
                    makers.append(f"{relative}:{node.lineno}")
    assert makers == [], "engines made without make_engine (which prepares nothing): " + ", ".join(makers)


def test_make_engine_prepares_nothing_pooled_or_not(pooled_url: URL) -> None:
    for engine in (make_engine(pooled_url, pool_size=1), make_engine(pooled_url, poolclass=pool.NullPool)):
        _check(engine)


def _check(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            driver: psycopg.Connection[object] = conn.connection.driver_connection  # type: ignore[assignment]
            assert driver.prepare_threshold is None
            for _ in range(8):  # past psycopg's default threshold of 5: nothing is prepared on the server
                conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar_one()
            assert conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar_one() == 0
            conn.rollback()
    finally:
        engine.dispose()
