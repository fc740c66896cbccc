"""TUI test fixtures: demo staff as Actors, an app on the test's database with a pinned clock and theme."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import URL
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from astrofin_tui.app import AstrofinApp
from db.engine import Actor, make_engine, unit_of_work
from db.models import User
from screens.sign_in import DemoAccount

T = TypeVar("T")

TODAY = date(2025, 3, 10)
DEMO = ("admin", "supervisor", "officer", "cashier", "accountant")
ROLE_OF = {"admin": "admin", "supervisor": "supervisor", "officer": "loan_officer", "cashier": "cashier",
           "accountant": "accountant"}


@pytest.fixture
def app_engine(db_url: URL) -> Iterator[Engine]:
    """What the app runs on: a pooled engine as `make_engine` builds it."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def actors(engine: Engine) -> dict[str, Actor]:
    with unit_of_work(engine, None) as session:
        users = session.scalars(select(User)).all()
        return {u.username: Actor(u.id, u.username, u.role, u.full_name) for u in users}


@pytest.fixture
def access_log(tmp_path: Path) -> Path:
    return tmp_path / "access.log"


DEMO_ACCOUNTS = tuple(DemoAccount(username, ROLE_OF[username]) for username in DEMO)


def build_app(engine: Engine, access_log: Path, *, demo: bool = True) -> AstrofinApp:
    """The app as tests run it: fixed day, fixed theme, no blinking cursor, its own access log."""
    return AstrofinApp(engine, today=lambda: TODAY, theme="textual-dark", quiet_cursor=True, access_log=access_log,
                       demo_accounts=DEMO_ACCOUNTS if demo else ())


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Drive a Pilot scenario from a plain test (the suite has no asyncio plugin)."""
    return asyncio.run(coro)


async def settle(pilot: Pilot[Any]) -> None:
    """Let workers finish and the messages they posted be handled."""
    await _workers_done(pilot)
    await pilot.pause()
    await _workers_done(pilot)
    await pilot.pause()


async def _workers_done(pilot: Pilot[Any]) -> None:
    """Wait for the app's workers. An exclusive worker replaced by its successor while we wait (the connection
    banner's probe, started again by its timer) ends cancelled: that is the app working, so wait for the rest."""
    for _ in range(50):
        try:
            await pilot.app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            await pilot.pause()
    raise AssertionError("the app's workers kept being cancelled")


def notices(app: AstrofinApp) -> list[str]:
    return [notification.message for notification in app._notifications]
