"""Branches on screen: the administrator's tree (create, rename, deactivate and its refusals), staff given a branch,
a supervisor's customer transfer and the period close. Bad input (letters, markup, SQL fragments, huge strings)
is refused beside its field with the cursor on it and nothing written; what is stored shows as typed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static, TabbedContent, Tabs

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from db.repositories.branches import BranchRepository
from screens.accounting import AccountingScreen
from screens.admin import AdminScreen
from screens.admin_branches import BranchesPane, BranchForm
from screens.admin_users import UserForm, UsersPane
from screens.branch_dialogs import ClosePeriodDialog, TransferDialog
from screens.confirm import ConfirmScreen
from screens.customer_detail import CustomerDetailScreen
from tests.repositories.conftest import make_active_loan
from tests.tui.back_office_data import settings_for, target_for
from tests.tui.conftest import TODAY, build_app, run, settle
from widgets.status import StatusLine


def _text(widget: Static) -> str:
    return str(widget.render())


def _error(pilot: Pilot[Any], field: str) -> str:
    return _text(pilot.app.screen.query_one(f"#error-{field}", Static))


def _branches(engine: Engine) -> list[tuple[str, str, bool]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text("SELECT code, name, is_active FROM branches ORDER BY id"))]


def _tills_required(engine: Engine, code: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT tills_required FROM branches WHERE code = :c"), {"c": code}).scalar())


def _hq(engine: Engine, actors: dict[str, Actor]) -> int:
    return next(b.id for b in BranchRepository(engine, actors["admin"]).tree(counts=False) if b.parent_id is None)


async def _save(pilot: Pilot[Any]) -> None:
    await pilot.press("ctrl+s")
    await settle(pilot)


async def _yes(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    assert isinstance(pilot.app.screen, ConfirmScreen)
    await pilot.press("y")
    await settle(pilot)


def _row(pane: BranchesPane, code: str) -> int:
    return next(i for i, b in enumerate(pane.branches) if b.code == code)


def test_the_admin_keeps_the_branch_tree_and_gives_staff_a_branch(
    app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL, tmp_path: Path
) -> None:
    hq = _hq(engine, actors)
    kisumu = BranchRepository(engine, actors["admin"]).create("KSM01", "Kisumu", hq)
    loan = make_active_loan(engine, actors, "Achieng", "Otieno", days_ago=10)
    BranchRepository(engine, actors["supervisor"]).transfer_customer(loan.customer_id, kisumu.id, "moved")

    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        app.target = target_for(db_url)
        app.settings = settings_for(tmp_path / "backups")
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await app.sign_in_as(actors["admin"])
            await settle(pilot)
            await pilot.press("f12")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, AdminScreen)
            tabs = screen.query_one("#admin", TabbedContent)
            tabs.query_one(Tabs).focus()
            tabs.active = "tab-branches"
            await settle(pilot)
            screen.query_one("#branches").focus()
            await pilot.pause()
            pane = screen.query_one(BranchesPane)
            table = screen.query_one("#branches", DataTable)
            assert [b.code for b in pane.branches] == ["HQ", "KSM01"]
            assert str(table.get_row_at(1)[0]) == "  Kisumu"  # indented under the head office
            assert pane.branches[1].open_loans == 1

            # New branch: bad codes and names are refused beside their field, the cursor on the first.
            await pilot.press("n")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, BranchForm)
            for code, name, field in (("'; DROP TABLE branches;--", "Nairobi", "code"), ("1AB", "Nairobi", "code"),
                                      ("[b]X[/b]", "N" * 5000, "code"), ("NRB01", "N" * 5000, "name"),
                                      ("KSM01", "Kisumu again", "code")):
                form.query_one("#branch-code", Input).value = code
                form.query_one("#branch-name", Input).value = name
                await _save(pilot)
                assert app.screen is form, (code, name)
                assert _error(pilot, field), (code, name, field)
                assert app.focused is form.query_one(f"#branch-{field}")
                assert form.query_one("#branch-code", Input).value == code  # what was typed stays
            assert "already" in _error(pilot, "code")
            assert len(_branches(engine)) == 2
            form.query_one("#branch-code", Input).value = "nrb01"
            form.query_one("#branch-name", Input).value = "[b]Nairobi[/b]"
            assert form.query_one("#branch-parent", Select).value == hq
            await _save(pilot)
            assert isinstance(app.screen, AdminScreen)
            assert ("NRB01", "[b]Nairobi[/b]", True) in _branches(engine)
            row = _row(pane, "NRB01")
            assert table.cursor_row == row and str(table.get_row_at(row)[0]) == "  [b]Nairobi[/b]"  # as typed

            # Rename.
            await pilot.press("r")
            await settle(pilot)
            assert isinstance(app.screen, BranchForm)
            name_input = app.screen.query_one("#branch-name", Input)
            assert name_input.value == "[b]Nairobi[/b]"
            name_input.value = "Nairobi CBD"
            await _save(pilot)
            assert ("NRB01", "Nairobi CBD", True) in _branches(engine)
            status = screen.query_one("#branches-status", StatusLine)
            assert "NRB01 Nairobi CBD: renamed." in status.text

            # Deactivate: the head office and a branch with open loans are refused, with the reason.
            for code, word in (("HQ", "head office"), ("KSM01", "loan")):
                table.move_cursor(row=_row(pane, code))
                await pilot.press("d")
                await _yes(pilot)
                assert word in status.text.lower() and status.has_class("-error"), status.text
            assert all(active for _, _, active in _branches(engine))
            table.move_cursor(row=_row(pane, "NRB01"))
            await pilot.press("d")
            await _yes(pilot)
            assert ("NRB01", "Nairobi CBD", False) in _branches(engine)
            assert str(table.get_row_at(_row(pane, "NRB01"))[2]) == "Inactive"
            await pilot.press("a")
            await _yes(pilot)
            assert ("NRB01", "Nairobi CBD", True) in _branches(engine)

            # Tills required: t switches it for the chosen branch, shown in its column.
            tills_column = len(table.columns) - 1
            assert str(table.get_row_at(_row(pane, "NRB01"))[tills_column]) == "—"
            await pilot.press("t")
            await _yes(pilot)
            assert _tills_required(engine, "NRB01") is True
            assert str(table.get_row_at(_row(pane, "NRB01"))[tills_column]) == "Required"
            assert "tills required" in status.text
            await pilot.press("t")
            await _yes(pilot)
            assert _tills_required(engine, "NRB01") is False

            # Staff: a new account is given a branch; another account moves to one.
            tabs.query_one(Tabs).focus()
            tabs.active = "tab-users"
            await settle(pilot)
            users_table = screen.query_one("#users", DataTable)
            users_table.focus()
            await pilot.press("n")
            await settle(pilot)
            user_form = app.screen
            assert isinstance(user_form, UserForm)
            picker = user_form.query_one("#user-branch", Select)
            assert picker.value == hq
            picker.value = _row_id(engine, "NRB01")
            for selector, value in (("#user-username", "mary.teller"), ("#user-full-name", "Mary Achieng"),
                                    ("#user-password", "counter-pass-1"), ("#user-confirm", "counter-pass-1")):
                user_form.query_one(selector, Input).value = value
            await _save(pilot)
            assert isinstance(app.screen, AdminScreen)
            users = screen.query_one(UsersPane)
            chosen = users.chosen()
            assert chosen is not None and (chosen.username, chosen.branch_code) == ("mary.teller", "NRB01")
            assert str(users_table.get_row_at(users_table.cursor_row)[3]) == "NRB01"
            users_table.move_cursor(row=next(i for i, m in enumerate(users.members) if m.username == "cashier"))
            await pilot.press("b")
            await settle(pilot)
            assert isinstance(app.screen, UserForm)
            app.screen.query_one("#user-branch", Select).value = kisumu.id
            await _save(pilot)
            assert isinstance(app.screen, AdminScreen)
            with engine.connect() as conn:
                assert conn.execute(text("SELECT b.code FROM users u JOIN branches b ON b.id = u.branch_id "
                                         "WHERE u.username = 'cashier'")).scalar_one() == "KSM01"
            assert "cashier: now works for KSM01." in screen.query_one("#users-status", StatusLine).text

    run(scenario())


def _row_id(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT id FROM branches WHERE code = :c"), {"c": code}).scalar_one())


def test_a_supervisor_transfers_a_customer_and_closes_a_period(
    app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor]
) -> None:
    hq = _hq(engine, actors)
    admin = BranchRepository(engine, actors["admin"])
    nairobi = admin.create("NRB01", "Nairobi", hq)
    closed = admin.create("OLD01", "Closed branch", hq)
    admin.set_active(closed.id, False)
    loan = make_active_loan(engine, actors, "Achieng", "Otieno", days_ago=10)

    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await app.sign_in_as(actors["supervisor"])
            await settle(pilot)
            await app.push_screen(CustomerDetailScreen(app.screen_context(), loan.customer_id))
            await settle(pilot)
            detail = app.screen
            assert isinstance(detail, CustomerDetailScreen)
            assert "Branch HQ · Head Office" in _text(detail.query_one("#customer", Static))
            assert "t" in _footer_keys(app)
            await pilot.press("t")
            await settle(pilot)
            dialog = app.screen
            assert isinstance(dialog, TransferDialog)
            picker = dialog.query_one("#transfer-branch", Select)
            assert [value for _, value in picker._options if value != Select.NULL] == [nairobi.id]  # noqa: SLF001
            reason = dialog.query_one("#transfer-reason", Input)
            # Nothing chosen, no reason: both refused, the cursor on the first.
            await _save(pilot)
            assert _error(pilot, "branch") and _error(pilot, "reason")
            assert app.focused is picker
            picker.value = nairobi.id
            for bad in ("   ", "moved\x1b[31m"):
                reason.value = bad
                await _save(pilot)
                assert app.screen is dialog and _error(pilot, "reason") and app.focused is reason
            reason.value = "[b]moved[/b] '; DROP TABLE customers;--"
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")  # asked first: nothing moves on a no
            await settle(pilot)
            assert app.screen is dialog
            await _save(pilot)
            await _yes(pilot)
            assert app.screen is detail
            await settle(pilot)
            assert "Branch NRB01 · Nairobi" in _text(detail.query_one("#customer", Static))
            assert "Transferred, with 1 loan." in detail.status.text
            with engine.connect() as conn:
                assert conn.execute(text("SELECT branch_id FROM customers WHERE id = :c"),
                                    {"c": loan.customer_id}).scalar_one() == nairobi.id

            # Period close, from accounting.
            await pilot.press("escape")
            await settle(pilot)
            await pilot.press("f8")
            await settle(pilot)
            assert isinstance(app.screen, AccountingScreen)
            assert "ctrl+y" in _footer_keys(app)
            await pilot.press("ctrl+y")
            await settle(pilot)
            close = app.screen
            assert isinstance(close, ClosePeriodDialog)
            branch = close.query_one("#close-branch", Select)
            current = close.query_one("#close-current", Static)
            assert branch.value == hq and "never closed" in _text(current)
            branch.value = nairobi.id
            await pilot.pause()
            through = close.query_one("#close-through", Input)
            for bad, word in (("yesterday", "06/12/2026"), ("31/02/2025", "no such day"),
                              ("10/03/2025", "cannot be after"), ("[b]1[/b]", "06/12/2026"),
                              ("'; DROP TABLE branches;--", "06/12/2026")):
                through.value = bad
                await _save(pilot)
                assert app.screen is close and word in _error(pilot, "through"), (bad, _error(pilot, "through"))
                assert app.focused is through
            day = TODAY - timedelta(days=9)
            through.value = day.strftime("%d/%m/%Y")
            await _save(pilot)
            await _yes(pilot)
            assert app.screen is close
            assert "Closed through 01 Mar 2025" in _text(current)
            assert "NRB01 closed through 01 Mar 2025." in close.status.text
            # Not after the current close: the database's refusal beside the date.
            through.value = "28/02/2025"
            await _save(pilot)
            await _yes(pilot)
            assert _error(pilot, "through") or close.status.has_class("-error")
            with engine.connect() as conn:
                assert str(conn.execute(text("SELECT closed_through FROM branches WHERE id = :b"),
                                        {"b": nairobi.id}).scalar_one()) == "2025-03-01"
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, AccountingScreen)

    run(scenario())


def _footer_keys(app: AstrofinApp) -> list[str]:
    return [binding.key for (_, binding, enabled, _) in app.screen.active_bindings.values()
            if enabled and binding.show]
