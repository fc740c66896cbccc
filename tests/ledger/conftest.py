"""Ledger fixtures: the demo staff, and the trial balance and PAR's running totals checked after every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from tests.ledger.helpers import Staff, load_staff


@pytest.fixture
def staff(engine: Engine) -> Staff:
    with engine.begin() as conn:
        return load_staff(conn)


@pytest.fixture(autouse=True)
def trial_balance_is_zero(engine: Engine) -> Iterator[None]:
    """Sum of debits minus credits over every journal line is zero, every entry balances, and PAR's running totals
    (0026) add up to the loans, after each test."""
    yield
    with engine.connect() as conn:
        total = conn.execute(text("SELECT coalesce(sum(debit - credit), 0) FROM journal_entry_details")).scalar_one()
        unbalanced = conn.execute(text(
            "SELECT count(*) FROM journal_entries e WHERE "
            "(SELECT coalesce(sum(debit), 0) FROM journal_entry_details d WHERE d.journal_entry_id = e.id) <> "
            "(SELECT coalesce(sum(credit), 0) FROM journal_entry_details d WHERE d.journal_entry_id = e.id) "
            "OR (SELECT count(*) FROM journal_entry_details d WHERE d.journal_entry_id = e.id) < 2")).scalar_one()
        drift = conn.execute(text("SELECT * FROM loan_arrears_drift()")).all()
    assert total == 0, f"trial balance is off by {total}"
    assert unbalanced == 0, f"{unbalanced} journal entries do not balance"
    assert not drift, f"PAR's running totals disagree with the loans: {drift}"
