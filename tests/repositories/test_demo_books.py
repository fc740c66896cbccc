"""The demo books open with capital, so no account ever shows an impossible balance; the trial balance shows each
account's net balance on one side."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from db.demo_loans import (
    CAPITAL_ACCOUNT,
    CASH_ACCOUNT,
    DEMO_VAULT,
    PLANS,
    TILL_BRANCHES,
    loan_dates,
    opening_capital,
    opening_date,
)
from db.repositories.accounting import AccountingRepository
from db.seed import CHART_OF_ACCOUNTS, seed_database
from tests.repositories.conftest import actor_for

ZERO = Decimal("0.00")

# Every asset account's balance after each of its journal lines, in posting order (date, then entry, then line).
RUNNING = """
SELECT a.account_code, e.entry_number, e.entry_date,
       sum(d.debit - d.credit) OVER (PARTITION BY a.id ORDER BY e.entry_date, e.id, d.id) AS balance
  FROM journal_entry_details d
  JOIN journal_entries e ON e.id = d.journal_entry_id
  JOIN chart_of_accounts a ON a.id = d.account_id
 WHERE a.account_type = 'asset'
"""


def test_demo_capital_is_an_equity_account_and_covers_every_disbursement() -> None:
    kinds = {code: kind for code, _name, kind in CHART_OF_ACCOUNTS}
    assert kinds[CASH_ACCOUNT] == "asset" and kinds[CAPITAL_ACCOUNT] == "equity"
    lent = sum((Decimal(p.principal) for p in PLANS if loan_dates(p, date.today())[1] is not None), ZERO)
    assert lent > 0 and opening_capital() >= lent
    assert opening_date(date.today()) < min(loan_dates(p, date.today())[0] for p in PLANS)


def test_demo_books_never_show_an_impossible_balance(db_url: URL, engine: Engine) -> None:
    seed_database(db_url, demo=True)
    with engine.connect() as conn:
        rows = conn.execute(text(RUNNING)).all()
        below_zero = [f"{r.account_code} {r.balance} after {r.entry_number} of {r.entry_date}" for r in rows
                      if r.balance < 0]
        assert rows and below_zero == []
        # The capital is the first entry of the books, before the first application.
        first = conn.execute(text("SELECT e.entry_date, e.description, min(l.application_date) OVER () AS applied "
                                  "FROM journal_entries e, loans l ORDER BY e.entry_date, e.id LIMIT 1")).one()
        assert first.description.startswith("Opening capital") and first.entry_date < first.applied
        # The three demo products each carry loans whose terms fit them; their fees went to 4100.
        used = dict(conn.execute(text("SELECT p.code, count(l.id) FROM loan_products p "
                                      "LEFT JOIN loans l ON l.product_id = p.id GROUP BY p.code")).tuples().all())
        assert set(used) == {"BIZ-WEEKLY", "MONTHLY-DB", "GROUP-BIWEEKLY"} and min(used.values()) > 0, used
        fees = conn.execute(text("SELECT sum(fee_amount) FROM transactions WHERE transaction_type = 'disbursement'"))
        assert fees.scalar_one() > 0
    trial = AccountingRepository(engine, actor_for(engine, "accountant")).trial_balance(date.today())
    assert trial.balances and trial.total_debit > 0
    by_code = {a.account_code: a for a in trial.accounts}
    # The capital: the opening, and each tills branch's vault (paid in after the demo history).
    assert by_code[CAPITAL_ACCOUNT].credit == opening_capital() + len(TILL_BRANCHES) * DEMO_VAULT
    assert by_code[CAPITAL_ACCOUNT].debit == ZERO
    # Every account on its normal side: assets and expenses in debit, the rest in credit (or nothing).
    wrong_side = [a.account_code for a in trial.accounts
                  if (a.credit if a.account_type in ("asset", "expense") else a.debit) != ZERO]
    assert wrong_side == []
    # Seeding again adds no second capital.
    seed_database(db_url, demo=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM journal_entries WHERE description LIKE 'Opening capital%'")
                            ).scalar_one() == 1


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
