"""Accounting for the accountant and, read-only, the supervisor: the journal of the cashier's payment,
a trial balance that balances, CSV exports; cashiers and loan officers are refused."""

from __future__ import annotations

import stat
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, TabbedContent, Tabs, Tree

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from db.repositories.accounting import AccountBalance, TrialBalance
from screens.accounting import AccountForm, AccountingScreen, net_sides, net_totals
from screens.home import HomeScreen
from tests.tui.back_office_data import make_book
from tests.tui.conftest import build_app, notices, run, settle


def _cells(table: DataTable[Any]) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def _switch(pilot: Pilot[Any], tabs: TabbedContent, pane: str) -> None:
    """As a person does it: to the tab bar (shift+tab), then along it."""
    tabs.query_one(Tabs).focus()
    tabs.active = pane
    await settle(pilot)


async def _open(pilot: Pilot[Any], actor: Actor) -> AccountingScreen:
    app = pilot.app
    assert isinstance(app, AstrofinApp)
    await app.sign_in_as(actor)
    await settle(pilot)
    await pilot.press("f8")
    await settle(pilot)
    assert isinstance(app.screen, AccountingScreen)
    return app.screen


@pytest.mark.parametrize("username", ["accountant", "supervisor"])
def test_the_books_show_the_cashiers_payment_and_balance(
    app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], username: str,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    book = make_book(engine, actors)

    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            screen = await _open(pilot, actors[username])
            tabs = screen.query_one("#books", TabbedContent)

            # Journal: the payment's entry (cash debited, portfolio and interest credited) is there.
            await _switch(pilot, tabs, "tab-journal")
            await settle(pilot)
            entry = next(e for e in screen.entries if e.transaction_id == book.receipt.transaction_id)
            codes = {line.account_code: (line.debit, line.credit) for line in entry.lines}
            assert codes["1000"][0] == book.receipt.amount
            assert sum(c for _d, c in codes.values()) == book.receipt.amount
            assert any(row[0] == entry.entry_number for row in _cells(screen.query_one("#journal", DataTable)))

            # Filter by the transaction: only its entry.
            screen.query_one("#journal-txn", Input).value = str(book.receipt.transaction_id)
            screen.query_one("#journal-txn", Input).focus()
            await pilot.press("enter")
            await settle(pilot)
            assert [e.id for e in screen.entries] == [entry.id]
            journal = _cells(screen.query_one("#journal", DataTable))
            assert journal[0][1] == "10 Mar 2025"  # every day shown one way
            # A bad day is refused beside the filter and nothing is loaded.
            screen.query_one("#journal-from", Input).value = "2025-13-01"
            screen.query_one("#journal-from", Input).focus()
            await pilot.press("enter")
            await settle(pilot)
            shown = str(screen.query_one("#journal-error", Static).render())
            assert "From: there is no such day as 2025-13-01" in shown

            # Trial balance: it balances, and the screen says so.
            await _switch(pilot, tabs, "tab-trial")
            await settle(pilot)
            assert screen.trial is not None and screen.trial.balances and screen.trial.total_debit > 0
            assert "Balances on 10 Mar 2025" in str(screen.query_one("#trial-status", Static).render())
            # A day typed in ISO is read as one written day first.
            screen.query_one("#trial-day", Input).value = "2025-03-09"
            screen.query_one("#trial-day", Input).focus()
            await pilot.press("enter")
            await settle(pilot)
            assert "Balances on 09 Mar 2025" in str(screen.query_one("#trial-status", Static).render())
            screen.query_one("#trial-day", Input).value = "10/03/2025"
            await pilot.press("enter")
            await settle(pilot)
            assert "Balances on 10 Mar 2025" in str(screen.query_one("#trial-status", Static).render())

            # Net balances: each account on one side only, and the columns' totals agree.
            rows = _cells(screen.query_one("#trial", DataTable))
            assert all("–" in (row[2].strip(), row[3].strip()) for row in rows[:-1]), rows
            cash = next(row for row in rows if row[0] == "1000")
            # 50,000 of capital less 35,000 lent plus what came back: cash is a debit, as cash on hand can only be.
            assert cash[2].strip() == "17,445.60" and cash[3].strip() == "–"
            equity = next(row for row in rows if row[0] == "3000")
            assert equity[2].strip() == "–" and equity[3].strip() == "50,000.00"
            assert rows[-1][1] == "Total" and rows[-1][2].strip() == rows[-1][3].strip()

            # The chart shows the cash account with its balance.
            await _switch(pilot, tabs, "tab-chart")
            await settle(pilot)
            labels = [str(node.label) for node in screen.query_one("#chart", Tree).root.children]
            assert labels[0].startswith("Assets")

            # Write actions: the accountant's only.
            shown = {b.binding.action for b in app.screen.active_bindings.values() if b.binding.show}
            assert ("add_account" in shown) is (username == "accountant")
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert isinstance(app.screen, AccountForm) is (username == "accountant")

            if username == "accountant":
                form = app.screen
                form.query_one("#account-code", Input).value = "1010"
                form.query_one("#account-name", Input).value = "Petty Cash"
                form.query_one("#account-parent", Input).value = "9999"
                await pilot.press("ctrl+s")
                await settle(pilot)
                assert "there is no account 9999" in str(form.query_one("#error-parent", Static).render())
                form.query_one("#account-parent", Input).value = "1000"
                await pilot.press("ctrl+s")
                await settle(pilot)
                assert isinstance(app.screen, AccountingScreen)
                assert any(a.account_code == "1010" for a in screen.accounts)

            # CSV export of the daily transactions, private.
            await _switch(pilot, tabs, "tab-daily")
            await settle(pilot)
            assert any(row.transaction_type == "repayment" for row in screen.daily)
            await pilot.press("ctrl+e")
            await pilot.pause()
            written = notices(app)[-1].removeprefix("Exported to ")
            path = Path(written)
            assert path.parent == tmp_path / "data" / "astrofin" / "exports"
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert "2025-03-10,Repayment,1,1500.00" in path.read_text(encoding="utf-8").splitlines()  # type in words

    run(scenario())


@pytest.mark.parametrize("username", ["cashier", "officer"])
def test_cashier_and_officer_are_refused_the_books_and_administration(
    app_engine: Engine, access_log: Path, actors: dict[str, Actor], username: str
) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await app.sign_in_as(actors[username])
            await settle(pilot)
            for key, name in (("f8", "accounting"), ("f12", "administration")):
                await pilot.press(key)
                await pilot.pause()
                assert isinstance(app.screen, HomeScreen)
                assert app.open_screen(name) is False
                assert "is not open to" in notices(app)[-1]
        lines = access_log.read_text(encoding="utf-8").splitlines()
        assert sum("screen=accounting" in line for line in lines) == 2
        assert sum("screen=administration" in line for line in lines) == 2

    run(scenario())


def test_the_trial_balance_nets_each_account_to_one_side() -> None:
    def account(code: str, debit: str, credit: str) -> AccountBalance:
        return AccountBalance(int(code), code, f"Account {code}", "asset", None, True, Decimal(debit),
                              Decimal(credit))

    gross = TrialBalance(date(2025, 3, 10), (account("1000", "2445.60", "35000.00"),
                                             account("1200", "35000.00", "1845.60"), account("4000", "0", "600.00")))
    assert [net_sides(a) for a in gross.accounts] == [(Decimal("0"), Decimal("32554.40")),
                                                      (Decimal("33154.40"), Decimal("0")),
                                                      (Decimal("0"), Decimal("600.00"))]
    assert net_totals(gross) == (Decimal("33154.40"), Decimal("33154.40"))
    # Already net (one side zero), it stays as it is.
    net = TrialBalance(gross.as_of, (account("1000", "0", "32554.40"), account("1200", "33154.40", "0")))
    assert [net_sides(a) for a in net.accounts] == [(Decimal("0"), Decimal("32554.40")),
                                                    (Decimal("33154.40"), Decimal("0"))]
