"""PostgreSQL stops while a form is open and starts again: the banner shows, the input survives, the save
succeeds once. A server of its own (not the session's), stopped and started for real."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from textual.widgets import Input

from db import embedded, migrate
from db.engine import Actor, make_engine
from db.seed import seed_database
from screens.customer_detail import CustomerDetailScreen
from screens.customer_form import CustomerFormScreen
from tests.tui.conftest import run, settle
from tests.tui.front import front_app, press, sign_in, type_into
from widgets.status import ConnectionBanner


class Where:
    """Where the server listens now: a restarted embedded server may get another socket or port."""

    def __init__(self, server: embedded.EmbeddedServer) -> None:
        self.follow(server)

    def follow(self, server: embedded.EmbeddedServer) -> None:
        self.host, self.port = server.socket_dir, server.port

    def attach(self, engine: Engine) -> None:
        @event.listens_for(engine, "do_connect")
        def _connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
            cparams["host"], cparams["port"] = self.host, self.port


def _actors(engine: Engine) -> dict[str, Actor]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, username, role, full_name FROM users")).all()
    return {r.username: Actor(r.id, r.username, r.role, r.full_name) for r in rows}


@pytest.fixture
def server_home() -> Iterator[Path]:
    """A folder the server's own system user can enter (pytest's tmp folders are private to root)."""
    home = Path(tempfile.mkdtemp(prefix="astrofin-restart-"))
    os.chmod(home, 0o755)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def test_stopping_and_starting_postgres_while_a_form_is_open(server_home: Path, access_log: Path) -> None:
    pgdata = server_home / "pgdata"
    server = embedded.start(pgdata, cleanup_mode="stop")
    url = make_url(server.url("front_restart"))
    try:
        admin = make_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE front_restart"))
        admin.dispose()
        migrate.upgrade(url)
        seed_database(url, demo=True, staff_only=True)
        where = Where(server)
        engine = make_engine(url)
        where.attach(engine)
        actors = _actors(engine)

        async def scenario() -> None:
            nonlocal server
            app = front_app(engine, access_log, retry_seconds=0.2)
            async with app.run_test(size=(80, 24)) as pilot:
                await sign_in(pilot, actors["officer"])
                await press(pilot, "f5")
                form = app.screen
                assert isinstance(form, CustomerFormScreen)
                await type_into(pilot, "#first_name", "Kiprono")
                await type_into(pilot, "#last_name", "Langat")
                await type_into(pilot, "#phone", "+254733000444")

                server.stop()  # PostgreSQL goes away with the form open
                await press(pilot, "enter")
                banner = form.query_one(ConnectionBanner)
                assert banner.shown, form.status.text
                assert [form.query_one(f"#{n}", Input).value for n in ("first_name", "last_name", "phone")] == [
                    "Kiprono", "Langat", "+254733000444"]
                await press(pilot, "enter")  # trying again while it is down changes nothing
                assert banner.shown and app.screen is form

                server = embedded.start(pgdata, cleanup_mode="stop")
                where.follow(server)
                for _ in range(100):  # the banner's probe finds it back
                    await pilot.pause(0.05)
                    await settle(pilot)
                    if not banner.shown:
                        break
                assert not banner.shown
                assert "Submit again" in form.status.text
                await press(pilot, "enter")
                assert isinstance(app.screen, CustomerDetailScreen), form.status.text

        run(scenario())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM customers WHERE phone = '+254733000444'")).scalar() == 1
        engine.dispose()
    finally:
        server.stop()
