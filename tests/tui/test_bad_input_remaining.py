"""Hypothesis input to the last three text fields, through Pilot: the idle lock's password, the reason a
supervisor gives for rejecting a loan application, and the database name typed to confirm a restore.

The same rule as the rest of the campaign: a refusal shows a message beside the field (or on the status
line), writes nothing, shows what was typed literally (never as markup), and the screen never crashes.
A wrong password keeps the app locked; a blank reason rejects nothing; a name other than the database's
runs no restore. One app per test, many examples in it (tests/reliability/pilotlib.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from db.errors import ValidationError
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.validation import CustomerInput
from screens.admin import AdminScreen
from screens.admin_backup import BackupPane, RestoreConfirm
from screens.confirm import ReasonScreen
from screens.loan_detail import LoanDetailScreen
from screens.lock import LockScreen
from tests.reliability.pilotlib import HOSTILE, LiveApp, campaign_settings, counts, has_control, put, shown, tally
from tests.tui.back_office_data import settings_for, target_for
from tests.tui.conftest import TODAY, settle
from tests.tui.front import front_app, press, sign_in
from widgets.fields import FieldRow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _field_message(screen: Any, name: str) -> str:
    row = screen.query_one(f"#field-{name}", FieldRow)
    return shown(row.query_one(".row-error", Static))


def _audit_tables_since(engine: Engine, last_id: int) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT DISTINCT table_name FROM audit_logs WHERE id > :id"),
                                {"id": last_id}).scalars())


def _last_audit_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_logs")).scalar_one())


def test_lock_screen_password(app_engine: Engine, engine: Engine, access_log: Path,
                              actors: dict[str, Actor]) -> None:
    clock = Clock()
    app = front_app(app_engine, access_log, clock=clock, idle_lock_seconds=300.0)
    before = counts(engine)
    first_audit = _last_audit_id(engine)
    with LiveApp(app) as live, tally("idle lock: password (a wrong one keeps the app locked)") as seen:
        async def lock(pilot: Pilot[Any]) -> None:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f5")
            clock.now += 301
            app.check_idle_lock()
            await settle(pilot)
            assert isinstance(pilot.app.screen, LockScreen)

        live.run(lock)

        @campaign_settings(12)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            async def step(pilot: Pilot[Any]) -> str:
                screen = pilot.app.screen
                assert isinstance(screen, LockScreen)
                held = await put(pilot, "#unlock-password", value)
                await pilot.press("enter")
                for _ in range(100):  # the check runs in a worker
                    await settle(pilot)
                    if not screen._checking:
                        break
                assert pilot.app.screen is screen, f"{held!r} unlocked the session"
                assert isinstance(pilot.app, AstrofinApp) and pilot.app.locked
                assert pilot.app.actor is not None and pilot.app.actor.username == "officer"
                message = _field_message(screen, "password")
                assert message.strip(), f"{held!r}: no message beside the field"
                assert message.startswith(("enter your password", "Wrong username or password",
                                           "This account is locked")), message
                if held:
                    assert screen.query_one("#unlock-password", Input).value == ""  # the wrong one is gone
                if not held:
                    return "refused, empty"
                return "refused, account locked" if "locked" in message else "refused"

            outcome = live.run(step)
            live.alive()
            seen[outcome] = seen.get(outcome, 0) + 1

        one()
        # A wrong password writes nothing but the failure count on the user's own row (and its audit line).
        after = counts(engine)
        assert {k: v for k, v in after.items() if k != "audit_logs"} == \
            {k: v for k, v in before.items() if k != "audit_logs"}
        assert _audit_tables_since(engine, first_audit) <= {"users"}

        # The right password still unlocks once the lockout the guesses caused is lifted.
        with engine.begin() as conn:
            conn.execute(text("UPDATE users SET failed_login_count = 0, locked_until = NULL "
                              "WHERE username = 'officer'"))

        async def unlock(pilot: Pilot[Any]) -> None:
            await put(pilot, "#unlock-password", "officer-demo")
            await pilot.press("enter")
            for _ in range(100):
                await settle(pilot)
                if not isinstance(pilot.app.screen, LockScreen):
                    break
            assert not isinstance(pilot.app.screen, LockScreen)
            assert isinstance(pilot.app, AstrofinApp) and not pilot.app.locked

        live.run(unlock)


def _pending_loan(engine: Engine, actors: dict[str, Actor], serial: int) -> tuple[int, str]:
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Wanjiru", last_name=f"Kamau{'x' * (serial % 3)}", phone="+254700000001"),
        today=TODAY)
    terms = LoanTerms(Decimal("5000.00"), Decimal("24.00"), "declining_balance", 6, "monthly")
    loan = LoanRepository(engine, actors["officer"]).apply(LoanApplication(customer.id, terms), today=TODAY)
    return loan.id, loan.loan_number


def _loan(engine: Engine, loan_id: int) -> tuple[str, str | None]:
    with engine.connect() as conn:
        status, reason = conn.execute(text("SELECT status, rejection_reason FROM loans WHERE id = :id"),
                                      {"id": loan_id}).one()
    return str(status), reason


def test_loan_reject_reason(app_engine: Engine, engine: Engine, access_log: Path,
                            actors: dict[str, Actor]) -> None:
    app = front_app(app_engine, access_log)
    serial = iter(range(10_000))
    with LiveApp(app) as live, tally("loan detail: the reason for rejecting an application") as seen:
        live.run(lambda pilot: sign_in(pilot, actors["supervisor"]))
        live.run(lambda pilot: press(pilot, "f7"))

        @campaign_settings(8)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            loan_id, loan_number = _pending_loan(engine, actors, next(serial))
            before = counts(engine)

            async def step(pilot: Pilot[Any]) -> str:
                if isinstance(pilot.app.screen, ReasonScreen):  # after a failed example
                    await press(pilot, "escape")
                detail = pilot.app.screen
                assert isinstance(detail, LoanDetailScreen)
                await put(pilot, "#find", loan_number)
                await press(pilot, "enter")
                assert detail.loan is not None and detail.loan.id == loan_id and detail.loan.status == "pending"
                detail.query_one("#schedule").focus()
                await press(pilot, "r")
                dialog = pilot.app.screen
                assert isinstance(dialog, ReasonScreen), type(dialog)
                held = await put(pilot, "#reason", value)
                await pilot.press("enter")
                await settle(pilot)
                if pilot.app.screen is dialog:
                    assert not held.strip() or has_control(held), held
                    assert _field_message(dialog, "reason").strip(), f"{held!r}: no message beside the field"
                    assert dialog.query_one("#reason", Input).value == held
                    await press(pilot, "escape")
                    assert pilot.app.screen is detail
                    return "refused"
                assert pilot.app.screen is detail
                for _ in range(100):  # the rejection runs in a worker
                    await settle(pilot)
                    if detail.loan is not None and detail.loan.status != "pending":
                        break
                assert detail.loan is not None and detail.loan.status == "rejected", (held, shown(detail.status))
                return "accepted"

            outcome = live.run(step)
            live.alive()
            after = counts(engine)
            status, stored = _loan(engine, loan_id)
            if outcome == "refused":
                assert after == before, value
                assert (status, stored) == ("pending", None)
            else:
                assert status == "rejected"
                assert stored and stored.strip() and not has_control(stored), (value, stored)
                assert stored == stored.strip()
                assert {k: v for k, v in after.items() if k != "audit_logs"} == \
                    {k: v for k, v in before.items() if k != "audit_logs"}
            seen[outcome] = seen.get(outcome, 0) + 1

        one()


@pytest.fixture
def no_restore(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every restore the pane starts, recorded instead of run (the test asserts none starts)."""
    started: list[Any] = []

    def record(*args: Any, **kwargs: Any) -> Any:
        started.append((args, kwargs))
        raise AssertionError("a restore was started")

    monkeypatch.setattr("screens.admin_backup.restore_database", record)
    yield started


def test_restore_database_name(app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor],
                               db_url: URL, tmp_path: Path, no_restore: list[Any]) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "astrofin_20250101T000000.dump").write_bytes(b"not really a dump")
    app = front_app(app_engine, access_log)
    app.target = target_for(db_url)
    app.settings = settings_for(backups)
    database = str(db_url.database)
    before = counts(engine)

    async def open_confirm(pilot: Pilot[Any]) -> RestoreConfirm:
        if isinstance(pilot.app.screen, RestoreConfirm):
            return pilot.app.screen
        screen = pilot.app.screen
        assert isinstance(screen, AdminScreen)
        pane = screen.query_one(BackupPane)
        table = pane.query_one("#backups", DataTable)
        for _ in range(100):
            await settle(pilot)
            if pane.backups:
                break
        assert pane.backups, "the fake backup is not listed"
        table.focus()
        await press(pilot, "r")
        dialog = pilot.app.screen
        assert isinstance(dialog, RestoreConfirm), type(dialog)
        return dialog

    with LiveApp(app) as live, tally("admin backup: the database name typed to confirm a restore") as seen:
        async def enter(pilot: Pilot[Any]) -> None:
            await sign_in(pilot, actors["admin"])
            await press(pilot, "f12")
            screen = pilot.app.screen
            assert isinstance(screen, AdminScreen)
            screen.query_one("#admin").active = "tab-backup"
            await settle(pilot)

        live.run(enter)

        @campaign_settings(12)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            async def step(pilot: Pilot[Any]) -> str:
                dialog = await open_confirm(pilot)
                held = await put(pilot, "#restore-name", value)
                await pilot.press("enter")
                await settle(pilot)
                assert held.strip() != database  # the strategy never types the test database's name
                assert pilot.app.screen is dialog, f"{held!r} was taken for {database}"
                error = shown(dialog.query_one("#error-restore", Static))
                assert database in error and "type the name exactly" in error, error
                assert dialog.query_one("#restore-name", Input).value == held
                pane = pilot.app.screen_stack[-2].query_one(BackupPane)
                assert not pane.busy and pane.last_restore is None
                return "refused"

            outcome = live.run(step)
            live.alive()
            assert no_restore == []
            seen[outcome] = seen.get(outcome, 0) + 1

        one()

        async def cancel(pilot: Pilot[Any]) -> None:
            await press(pilot, "escape")
            assert isinstance(pilot.app.screen, AdminScreen)

        live.run(cancel)
    assert no_restore == []
    assert counts(engine) == before


@pytest.mark.parametrize("reason", ["\x1b[31mred", "late\x00", "two\nlines", "\t", "  "])
def test_a_reason_with_control_characters_or_nothing_is_refused_by_the_repository(
        engine: Engine, actors: dict[str, Actor], reason: str) -> None:
    loan_id, _ = _pending_loan(engine, actors, 0)
    before = counts(engine)
    with pytest.raises(ValidationError) as refused:
        LoanRepository(engine, actors["supervisor"]).reject(loan_id, reason)
    assert "reason" in refused.value.fields
    assert counts(engine) == before
    assert _loan(engine, loan_id) == ("pending", None)
