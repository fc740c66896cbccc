"""Administration for the admin: a user created here signs in, and once locked cannot; templates are
checked and previewed; the audit log filters and checks its chain; a backup here is one `restore --list`
reads, and it restores after the database name is typed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input, Select, Static, TabbedContent, Tabs, TextArea

from astrofin_tui.app import AstrofinApp
from astrofin_tui.cli import main as cli_main
from db.config import load_settings
from db.engine import Actor
from db.repositories.auth import SignInRefused, authenticate
from db.repositories.users import UserRepository
from db.scripts_common import list_backups
from screens.admin import AdminScreen
from screens.admin_audit import AuditPane
from screens.admin_backup import BackupPane, RestoreConfirm, backup_folder, with_backup_folder
from screens.admin_sms import OutboxPane
from screens.admin_templates import TemplatesPane
from screens.admin_users import UserForm, UsersPane
from screens.confirm import ConfirmScreen
from screens.sign_in import SignInScreen
from tests.tui.back_office_data import settings_for, target_for
from tests.tui.conftest import build_app, notices, run, settle
from widgets.status import StatusLine


def _app(app_engine: Engine, access_log: Path, db_url: URL, backups: Path) -> AstrofinApp:
    app = build_app(app_engine, access_log)
    app.target = target_for(db_url)
    app.settings = settings_for(backups)
    return app


async def _open(pilot: Pilot[Any], actor: Actor) -> AdminScreen:
    app = pilot.app
    assert isinstance(app, AstrofinApp)
    await app.sign_in_as(actor)
    await settle(pilot)
    await pilot.press("f12")
    await settle(pilot)
    assert isinstance(app.screen, AdminScreen)
    return app.screen


async def _tab(pilot: Pilot[Any], screen: AdminScreen, pane: str, focus: str) -> None:
    tabs = screen.query_one("#admin", TabbedContent)
    tabs.query_one(Tabs).focus()
    tabs.active = pane
    await settle(pilot)
    screen.query_one(focus).focus()  # tab, from the tab bar into the pane
    await pilot.pause()


async def _type(pilot: Pilot[Any], selector: str, value: str) -> None:
    pilot.app.screen.query_one(selector, Input).value = value


def test_the_admin_creates_a_user_who_signs_in_then_locks_them_out(
    app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL, tmp_path: Path
) -> None:
    async def scenario() -> None:
        app = _app(app_engine, access_log, db_url, tmp_path / "backups")
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            screen = await _open(pilot, actors["admin"])
            assert app.focused is screen.query_one("#users")
            await pilot.press("n")
            await pilot.pause()
            assert isinstance(app.screen, UserForm)
            await _type(pilot, "#user-username", "mary.teller")
            await _type(pilot, "#user-full-name", "Mary [red]Achieng")
            app.screen.query_one("#user-role", Select).value = "cashier"
            await _type(pilot, "#user-password", "counter-pass-1")
            await _type(pilot, "#user-confirm", "counter-pass-2")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, UserForm)  # refused beside the field; nothing typed is lost
            assert "differ" in str(app.screen.query_one("#error-password", Static).render())
            assert app.screen.query_one("#user-username", Input).value == "mary.teller"
            await _type(pilot, "#user-confirm", "counter-pass-1")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, AdminScreen)
            pane = screen.query_one(UsersPane)
            chosen = pane.chosen()
            assert chosen is not None and chosen.username == "mary.teller"
            table = screen.query_one("#users", DataTable)
            assert str(table.get_row_at(table.cursor_row)[1]) == "Mary [red]Achieng"  # shown as typed

            assert authenticate(app_engine, "mary.teller", "counter-pass-1").role == "cashier"

            await pilot.press("l")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await settle(pilot)
            assert pane.chosen() is not None and pane.chosen().locked_until is not None  # type: ignore[union-attr]
            assert "mary.teller: locked." in notices(app)
            with pytest.raises(SignInRefused):
                authenticate(app_engine, "mary.teller", "counter-pass-1")

            # The admin cannot lock themselves out; the reason is shown.
            table.move_cursor(row=next(i for i, m in enumerate(pane.members) if m.username == "admin"))
            await pilot.press("d")
            await pilot.pause()
            await pilot.press("y")
            await settle(pilot)
            assert "cannot lock, deactivate or demote your own" in str(
                screen.query_one("#users-status", Static).render())

    run(scenario())


def test_templates_are_refused_with_the_reason_and_previewed_as_sent(
    app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL, tmp_path: Path
) -> None:
    async def scenario() -> None:
        app = _app(app_engine, access_log, db_url, tmp_path / "backups")
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            screen = await _open(pilot, actors["admin"])
            await _tab(pilot, screen, "tab-templates", "#template-list")
            pane = screen.query_one(TemplatesPane)
            pane._edit(next(t for t in pane.templates if t.name == "overdue_reminder"))
            editor = screen.query_one("#template-text", TextArea)
            error = screen.query_one("#template-error", Static)

            editor.load_text("Dear {first_name}, pay {amount} today.")
            await pilot.pause()
            editor.focus()
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert "{amount} cannot be filled for loan_overdue messages" in str(error.render())
            assert "Not saved" in str(screen.query_one("#template-status", Static).render())

            editor.load_text("   ")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert "the message is empty" in str(error.render())

            editor.load_text("Dear {first_name}, loan {loan_number} is {days_past_due} days late: "
                             "{amount_overdue}. AstroFinance")
            await pilot.pause()
            shown = str(screen.query_one("#template-preview", Static).render())
            assert "Dear Wanjiku, loan L-000107 is 12 days late: KES 2,361.50. AstroFinance" in shown
            assert "GSM-7, 1 SMS" in shown
            screen.query_one("#template-active", Checkbox).value = True
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert "Template overdue_reminder saved." in notices(app)
        with engine.connect() as conn:
            saved = conn.execute(text("SELECT template_text FROM sms_templates WHERE name = 'overdue_reminder'"))
            assert saved.scalar_one().startswith("Dear {first_name}, loan {loan_number}")

    run(scenario())


def test_outbox_retries_a_failed_message_and_the_audit_log_filters_and_checks(
    app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sms_histories (phone_number, message, status, error_message, attempts) "
                          "VALUES ('+254700000001', 'Hello', 'failed', 'gateway said no', 3), "
                          "('+254700000002', 'Hi', 'sent', NULL, 1)"))

    async def scenario() -> None:
        app = _app(app_engine, access_log, db_url, tmp_path / "backups")
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            screen = await _open(pilot, actors["admin"])
            await _tab(pilot, screen, "tab-sms", "#sms")
            pane = screen.query_one(OutboxPane)
            assert [m.status for m in pane.messages] == ["sent", "failed"]
            assert "Failed 1" in str(screen.query_one("#sms-counts", Static).render())
            await pilot.press("down")
            await pilot.pause()
            assert "gateway said no" in str(screen.query_one("#sms-detail", Static).render())
            await pilot.press("f")
            await pilot.pause()
            await pilot.press("y")
            await settle(pilot)
            assert "1 message queued again." in notices(app)
            assert [m.status for m in pane.messages] == ["sent", "queued"]
            sms = screen.query_one("#sms", DataTable)
            assert [str(sms.get_row_at(i)[3]) for i in range(sms.row_count)] == ["Sent", "Queued"]  # in words

            await _tab(pilot, screen, "tab-audit", "#audit")
            audit = screen.query_one(AuditPane)
            assert audit.entries and audit.entries[0].table_name == "sms_histories"
            screen.query_one("#audit-table", Select).value = "users"
            await settle(pilot)
            assert audit.entries and {e.table_name for e in audit.entries} == {"users"}
            values = screen.query_one("#audit-values", DataTable)
            assert values.row_count > 0 and str(values.get_row_at(0)[0]) == "id"
            screen.query_one("#audit-from", Input).value = "2025-02-30"
            screen.query_one("#audit-from", Input).focus()
            await pilot.press("enter")
            await settle(pilot)
            assert "there is no such day as 2025-02-30" in str(screen.query_one("#audit-error", Static).render())
            screen.query_one("#audit-from", Input).value = ""
            await pilot.press("ctrl+b")
            await settle(pilot)
            assert audit.verified is not None and audit.verified.ok
            assert "Chain OK" in str(screen.query_one("#audit-status", Static).render())

    run(scenario())


def test_the_admins_backup_is_listed_by_restore_and_restores_after_the_name_is_typed(
    app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    backups = tmp_path / "backups"

    async def scenario() -> None:
        app = _app(app_engine, access_log, db_url, backups)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            screen = await _open(pilot, actors["admin"])
            await _tab(pilot, screen, "tab-backup", "#backups")
            pane = screen.query_one(BackupPane)
            seen: list[float] = []
            original = pane._show_progress

            def spy(message: str, fraction: float) -> None:
                seen.append(fraction)
                original(message, fraction)

            pane._show_progress = spy  # type: ignore[method-assign]
            await pilot.press("b")
            await settle(pilot)
            assert pane.last_backup is not None, str(screen.query_one("#backup-step", Static).render())
            assert seen[-1] == 1.0 and len(seen) >= 4
            assert [b.path for b in pane.backups] == [pane.last_backup.path]

            # Made after the backup: a restore takes it away again.
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO chart_of_accounts (account_code, account_name, account_type) "
                                  "VALUES ('1999', 'After the backup', 'asset')"))
            await pilot.press("r")
            await pilot.pause()
            assert isinstance(app.screen, RestoreConfirm)
            app.screen.query_one("#restore-name", Input).value = "not-the-name"
            await pilot.press("enter")
            await pilot.pause()
            assert "type the name exactly" in str(app.screen.query_one("#error-restore", Static).render())
            app.screen.query_one("#restore-name", Input).value = str(db_url.database)
            await pilot.press("enter")
            await settle(pilot)
            await settle(pilot)
            assert pane.last_restore is not None, str(screen.query_one("#backup-step", Static).render())
            assert isinstance(app.screen, SignInScreen)  # everyone signs in again on the restored data

        assert list_backups(backups)[0].path.name.startswith("astrofin_")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM chart_of_accounts WHERE account_code = '1999'")
                                ).scalar_one() == 0

    run(scenario())
    monkeypatch.setenv("BACKUP_PATH", str(backups))
    monkeypatch.delenv("ASTROFIN_ENV", raising=False)
    assert cli_main(["db", "restore", "--list"]) == 0
    listed = capsys.readouterr().out
    assert f"Backups in {backups}" in listed and list_backups(backups)[0].path.name in listed


def test_maintenance_runs_with_progress_and_shows_its_report(
    app_engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL, tmp_path: Path
) -> None:
    async def scenario() -> None:
        app = _app(app_engine, access_log, db_url, tmp_path / "backups")
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            screen = await _open(pilot, actors["admin"])
            await _tab(pilot, screen, "tab-backup", "#backups")
            pane = screen.query_one(BackupPane)
            await pilot.press("m")
            await settle(pilot)
            report = pane.last_report
            assert report is not None, str(screen.query_one("#backup-step", Static).render())
            assert [s.status for s in report.steps][0] == "skipped"  # BACKUP_BEFORE_MAINTENANCE=false here
            assert all(s.status in ("done", "skipped") for s in report.steps)
            shown = str(screen.query_one("#backup-report", Static).render())
            assert f"Maintenance of {db_url.database} finished" in shown and "VACUUM ANALYZE" in shown
            assert "[7/7] Database statistics" in str(screen.query_one("#backup-step", Static).render())

    run(scenario())


def test_without_the_servers_details_backup_says_so(
    app_engine: Engine, access_log: Path, actors: dict[str, Actor]
) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            screen = await _open(pilot, actors["admin"])
            await _tab(pilot, screen, "tab-backup", "#backups")
            assert "need the database server's details" in str(screen.query_one("#backup-folder", Static).render())
            await pilot.press("b")
            await pilot.pause()
            assert screen.query_one(BackupPane).last_backup is None

    run(scenario())


def test_a_backup_goes_to_the_configured_folder_wherever_the_app_was_started(
    app_engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """BACKUP_PATH=backups (relative, as the shipped ./backups) is read inside the data folder, not the folder
    the app was started from; maintenance's own backup goes there too."""
    data, started_in = tmp_path / "data", tmp_path / "started-here"
    started_in.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.chdir(started_in)
    configured = load_settings({"BACKUP_PATH": "backups", "BACKUP_BEFORE_MAINTENANCE": "true"},
                               user_file=tmp_path / "no-such-user-config.json")
    expected = data / "astrofin" / "backups"

    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        app.target = target_for(db_url)
        app.settings = configured
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            screen = await _open(pilot, actors["admin"])
            await _tab(pilot, screen, "tab-backup", "#backups")
            pane = screen.query_one(BackupPane)
            assert f"in {expected} " in str(screen.query_one("#backup-folder", Static).render())
            await pilot.press("b")
            await settle(pilot)
            assert pane.last_backup is not None, str(screen.query_one("#backup-step", Static).render())
            assert pane.last_backup.path.parent == expected
            await pilot.press("m")
            await settle(pilot)
            assert pane.last_report is not None, str(screen.query_one("#backup-step", Static).render())

    run(scenario())
    assert len(list_backups(expected)) == 2  # the one asked for and maintenance's own
    assert list(started_in.iterdir()) == []  # nothing where the app was started


def test_an_absolute_backup_path_is_kept_as_configured(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "elsewhere")
    assert backup_folder(settings) == tmp_path / "elsewhere"
    assert with_backup_folder(settings).backup["path"] == str(tmp_path / "elsewhere")


def test_a_password_reset_says_whether_it_unlocked_the_account(
    app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL, tmp_path: Path
) -> None:
    admin = UserRepository(engine, actors["admin"])
    locked = admin.create("locked.teller", "Locked Teller", "cashier", "counter-pass-1", "counter-pass-1")
    admin.lock(locked.id)

    async def reset(pilot: Pilot[Any], screen: AdminScreen, username: str) -> str:
        pane = screen.query_one(UsersPane)
        table = screen.query_one("#users", DataTable)
        table.focus()
        table.move_cursor(row=next(i for i, m in enumerate(pane.members) if m.username == username))
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(pilot.app.screen, UserForm)
        await _type(pilot, "#user-password", "fresh-pass-22")
        await _type(pilot, "#user-confirm", "fresh-pass-22")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is screen
        return screen.query_one("#users-status", StatusLine).text

    async def scenario() -> None:
        app = _app(app_engine, access_log, db_url, tmp_path / "backups")
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            screen = await _open(pilot, actors["admin"])
            said = await reset(pilot, screen, "locked.teller")
            # Someone else's reset: the next sign-in asks for a new password.
            asks = "; they choose a new one at their next sign-in."
            assert said == f"locked.teller: password reset{asks} The account was locked and is now unlocked."
            assert said in notices(app)
            said = await reset(pilot, screen, "locked.teller")
            assert said == f"locked.teller: password reset{asks} The account was not locked."

    run(scenario())
    assert authenticate(app_engine, "locked.teller", "fresh-pass-22").role == "cashier"
