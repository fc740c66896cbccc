"""The trial balance shows each account's net balance on one side."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Engine, text

from db.repositories.accounting import AccountingRepository
from tests.repositories.conftest import actor_for

ZERO = Decimal("0.00")


def _post(conn: Connection, day: date, *lines: tuple[str, str, str]) -> None:
    """One balanced journal entry: (account code, debit, credit) per line."""
    entry = conn.execute(text("INSERT INTO journal_entries (entry_date, description) VALUES (:d, 'test') "
                              "RETURNING id"), {"d": day}).scalar_one()
    for code, debit, credit in lines:
        conn.execute(text("INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit) "
                          "SELECT :e, id, :dr, :cr FROM chart_of_accounts WHERE account_code = :c"),
                     {"e": entry, "c": code, "dr": Decimal(debit), "cr": Decimal(credit)})


def test_trial_balance_shows_each_account_net_on_one_side(engine: Engine) -> None:
    day = date.today() - timedelta(days=10)
    with engine.begin() as conn:
        _post(conn, day, ("1000", "500.00", "0"), ("3000", "0", "500.00"))
        _post(conn, day + timedelta(days=1), ("1200", "800.00", "0"), ("1000", "0", "800.00"))
        _post(conn, day + timedelta(days=2), ("1000", "120.00", "0"), ("1200", "0", "100.00"),
              ("4000", "0", "20.00"))
    books = AccountingRepository(engine, actor_for(engine, "accountant"))

    def sides(as_of: date) -> dict[str, tuple[Decimal, Decimal]]:
        trial = books.trial_balance(as_of)
        assert trial.balances
        return {a.account_code: (a.debit, a.credit) for a in trial.accounts if a.debit or a.credit}

    # Cash took in 500 and 120 and paid out 800: a net credit of 180, shown only as a credit.
    assert sides(day + timedelta(days=2)) == {
        "1000": (ZERO, Decimal("180.00")), "1200": (Decimal("700.00"), ZERO), "3000": (ZERO, Decimal("500.00")),
        "4000": (ZERO, Decimal("20.00")),
    }
    assert books.trial_balance(day + timedelta(days=2)).total_debit == Decimal("700.00")
    # Up to the second day only: entries dated later are left out.
    assert sides(day + timedelta(days=1)) == {
        "1000": (ZERO, Decimal("300.00")), "1200": (Decimal("800.00"), ZERO), "3000": (ZERO, Decimal("500.00")),
    }
    assert sides(day - timedelta(days=1)) == {}
