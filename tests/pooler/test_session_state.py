"""Nothing one staff member's work sets outlives its transaction on a server connection PgBouncer hands to the next.

In transaction pooling PgBouncer gives a client a server connection for one transaction and resets nothing after
it: a `SET` without LOCAL, set_config(…, false) or a prepared statement stays on that server connection for
whichever client gets it next. Each test here does one kind of work through the pooler, then holds a transaction
open on every server connection of the pool at once and reads what each carries.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from bench.pgbouncer import Bouncer
from db import embedded
from db.backup import backup_database
from db.engine import make_engine, with_database
from db.imports.book import import_book
from db.repositories.customers import CustomerRepository
from db.repositories.payments import PaymentRepository
from db.target import Target
from db.validation import CustomerInput
from tests.imports.conftest import ImportBook
from tests.imports.conftest import app_engine as app_engine  # noqa: F401 - the import book's fixtures
from tests.imports.conftest import book as book  # noqa: F401
from tests.imports.files import write_csv
from tests.imports.test_customers import HEADER, good
from tests.pooler.conftest import POOL_SIZE, every_server_connection
from tests.reliability.faultlib import TODAY, make_active_loans, staff_actors


@pytest.fixture
def pooled_engine(pooled_url: URL) -> Iterator[Engine]:
    engine = make_engine(pooled_url, pool_size=1)
    yield engine
    engine.dispose()


def test_the_counter_s_work_leaves_nothing_on_the_server_connections(pooled_engine: Engine, engine: Engine) -> None:
    """A unit of work, a one-message lookup and a one-message payment, through the pooler, as three people."""
    actors = staff_actors(engine)
    loan = make_active_loans(engine, actors, 1)[0]
    officer, cashier = actors["officer"], actors["cashier"]
    customer = CustomerRepository(pooled_engine, officer).create(
        CustomerInput(first_name="Pooled", last_name="Client", national_id="P-1"), today=TODAY)
    assert CustomerRepository(pooled_engine, officer).search(customer.customer_number).rows
    PaymentRepository(pooled_engine, cashier).record(loan, Decimal("10.00"), TODAY, "pooled-1")
    states = every_server_connection(pooled_engine.url)
    assert all(state.clean for state in states), states


def test_an_import_through_the_pooler_leaves_nothing_on_the_server_connections(
        tmp_path: Path, book: ImportBook, pooled_engine: Engine) -> None:  # noqa: F811
    """The import's writing pass runs each row as its own transaction: before, it set the importer's role, name and
    synchronous_commit = off for its whole session and prepared its call, which through PgBouncer left them on a
    server connection for the next staff member (a payment acknowledged before its WAL reached the disk) and sent
    the next batch to a server connection without them."""
    path = write_csv(tmp_path / "customers.csv", HEADER, [good(n) for n in range(1, 251)])
    summary = import_book(pooled_engine, book.staff["admin"], "customers", path)
    assert summary.counts.get("imported") == 250, summary
    states = every_server_connection(pooled_engine.url)
    assert all(state.clean for state in states), states
    with book.owner.connect() as conn:
        authors = conn.execute(text(
            "SELECT DISTINCT changed_by FROM audit_logs WHERE table_name = 'customers' AND action = 'INSERT' "
            "AND new_values->>'national_id' LIKE 'ID%'")).scalars().all()
    assert authors == [book.staff["admin"].user_id]


def test_audit_verify_through_the_pooler_leaves_no_role_behind(bouncer: Bouncer, db_url: URL, engine: Engine,
                                                              pooled_url: URL, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """`astrofin audit verify` as the login role reads the log as astrofin_admin: before, by a session-wide
    SET ROLE, which through PgBouncer left the next staff member's server connection acting as the administrator."""
    from astrofin_tui.cli import main

    monkeypatch.setenv("DB_HOST", bouncer.host)
    monkeypatch.setenv("DB_PORT", str(bouncer.port))
    monkeypatch.setenv("DB_NAME", db_url.database or "")
    monkeypatch.setenv("DB_USER", "astrofin_app")
    code = main(["audit", "verify"])
    out = capsys.readouterr()
    # As the login role with nobody signed in, row-level security shows it no branch's rows: the check is refused
    # in one line (0027) where it once called the hidden rows deleted. It sealed and asked in transactions of
    # their own.
    assert code == 1 and "a head-office administrator verifies it" in out.err and "BROKEN" not in out.out, out
    states = every_server_connection(pooled_url)
    assert all(state.clean for state in states), states


def _session_settings(url: URL, count: int = POOL_SIZE) -> list[tuple[str, str]]:
    """search_path and row_security on each of `count` server connections of the user's pool, held at once."""
    conninfo = {"host": url.host, "port": url.port, "dbname": url.database, "user": url.username}
    clients = [psycopg.connect(**conninfo, prepare_threshold=None) for _ in range(count)]  # type: ignore[arg-type]
    try:
        rows = [client.execute("SELECT current_setting('search_path'), current_setting('row_security')").fetchone()
                for client in clients]
        return [(str(row[0]), str(row[1])) for row in rows if row is not None]
    finally:
        for client in clients:
            client.rollback()
            client.close()


def _as_pg_dump_begins(url: URL) -> None:
    """The first statements of pg_dump's session, sent outside any transaction, then the client leaves."""
    with psycopg.connect(host=url.host, port=url.port, dbname=url.database, user=url.username,
                         autocommit=True) as client:
        client.execute("SELECT pg_catalog.set_config('search_path', '', false)")
        client.execute("SET row_security = off")


def test_the_owner_s_tools_get_session_pooling(bouncer: Bouncer, db_url: URL, tmp_path: Path) -> None:
    """pg_dump (backups), pg_restore and migrations keep settings for their session. In transaction pooling a session
    SET stays on the server connection for the next client (the staff's login role below: an empty search_path and
    row_security off, which would break the next teller's work); the owner, who runs those tools, is given session
    pooling, where PgBouncer resets the server connection (DISCARD ALL) when the client leaves."""
    staff = bouncer.url(db_url.database or "", "astrofin_app")
    _as_pg_dump_begins(staff)
    assert ("", "off") in _session_settings(staff)

    owner = bouncer.url(db_url.database or "", "postgres")
    _as_pg_dump_begins(owner)
    assert set(_session_settings(owner)) == {('"$user", public', "on")}
    target = Target(owner, with_database(owner, "postgres"), None, embedded.bin_dir())
    result = backup_database(target, tmp_path)
    assert result.path.exists() and result.size > 0
    assert set(_session_settings(owner)) == {('"$user", public', "on")}
