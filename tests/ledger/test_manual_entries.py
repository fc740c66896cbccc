"""Manual journal entries: an accountant posts a balanced, dated, described entry and reverses it with a
mirrored one; every other role is refused; each malformed entry is refused with a message naming its field and
changes nothing; the trial balance stays zero (the ledger fixture checks it after every test) and the audit log
has the rows."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from db.engine import Actor
from db.errors import NotFound, Refused, ValidationError
from db.repositories.accounting import AccountingRepository, ManualLine
from tests.ledger.helpers import TODAY, Staff, account_balance, active_loan, fingerprint, refused, scalar
from tests.repositories.conftest import actor_for

POST = "SELECT post_manual_journal_entry(:d, :description, CAST(:lines AS jsonb), :by)"
CAPITAL = [ManualLine("1000", Decimal("50000.00"), Decimal("0"), "opening cash"),
           ManualLine("3000", Decimal("0"), Decimal("50000.00"), "owners' capital")]


@pytest.fixture
def accountant(engine: Engine) -> Actor:
    return actor_for(engine, "accountant")


def _lines(entry_id: int, engine: Engine) -> list[tuple[str, Decimal, Decimal, str | None]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT a.account_code, d.debit, d.credit, d.description FROM journal_entry_details d "
            "JOIN chart_of_accounts a ON a.id = d.account_id WHERE d.journal_entry_id = :e ORDER BY d.id"),
            {"e": entry_id})]


def test_an_accountant_posts_and_reverses_a_manual_entry(engine: Engine, accountant: Actor) -> None:
    repo = AccountingRepository(engine, accountant)
    posted = repo.post_manual_entry(TODAY - timedelta(days=3), "  Opening capital  ", CAPITAL)
    assert _lines(posted, engine) == [("1000", Decimal("50000.00"), Decimal("0.00"), "opening cash"),
                                      ("3000", Decimal("0.00"), Decimal("50000.00"), "owners' capital")]
    with engine.connect() as conn:
        entry = conn.execute(text("SELECT * FROM journal_entries WHERE id = :e"), {"e": posted}).mappings().one()
        assert (entry["entry_date"], entry["description"], entry["created_by"], entry["transaction_id"],
                entry["reverses_entry_id"]) == (TODAY - timedelta(days=3), "Opening capital", accountant.user_id,
                                                None, None)
        assert account_balance(conn, "1000") == Decimal("50000.00")
        assert account_balance(conn, "3000") == Decimal("-50000.00")
    trial = repo.trial_balance(TODAY)
    assert trial.balances and trial.total_debit == Decimal("50000.00")

    reversal = repo.reverse_manual_entry(posted, "posted to the wrong period")
    assert _lines(reversal, engine) == [("1000", Decimal("0.00"), Decimal("50000.00"), "opening cash"),
                                        ("3000", Decimal("50000.00"), Decimal("0.00"), "owners' capital")]
    with engine.connect() as conn:
        mirror = conn.execute(text("SELECT * FROM journal_entries WHERE id = :e"), {"e": reversal}).mappings().one()
        number = scalar(conn, "SELECT entry_number FROM journal_entries WHERE id = :e", e=posted)
        assert (mirror["entry_date"], mirror["reverses_entry_id"], mirror["created_by"]) == (
            TODAY, posted, accountant.user_id)
        assert mirror["description"] == f"Reversal of {number}: posted to the wrong period"
        assert account_balance(conn, "1000") == 0 and account_balance(conn, "3000") == 0
        # Audited: both entries and their four lines, in the accountant's name.
        audited = conn.execute(text(
            "SELECT table_name, count(*) FROM audit_logs WHERE changed_by = :u AND action = 'INSERT' "
            "AND table_name IN ('journal_entries', 'journal_entry_details') GROUP BY 1 ORDER BY 1"),
            {"u": accountant.user_id}).all()
        assert [tuple(r) for r in audited] == [("journal_entries", 2), ("journal_entry_details", 4)]
    assert repo.trial_balance(TODAY).balances
    # Shown in the journal like every other entry.
    shown = {e.id: e for e in repo.journal(TODAY - timedelta(days=30), TODAY)}
    assert shown[reversal].reverses_entry_id == posted and len(shown[posted].lines) == 2


def test_posted_entries_are_never_edited(engine: Engine, accountant: Actor) -> None:
    posted = AccountingRepository(engine, accountant).post_manual_entry(TODAY, "Opening capital", CAPITAL)
    with engine.begin() as conn, refused("P0108", "cannot be changed"):
        conn.execute(text("UPDATE journal_entries SET description = 'edited' WHERE id = :e"), {"e": posted})
    with engine.begin() as conn, refused("P0108", "cannot be changed"):
        conn.execute(text("UPDATE journal_entry_details SET debit = 1 WHERE journal_entry_id = :e"), {"e": posted})


def _line(code: str, debit: str = "0", credit: str = "0", memo: str = "") -> ManualLine:
    return ManualLine(code, Decimal(debit), Decimal(credit), memo)


BAD_ENTRIES: list[tuple[str, Any, str, list[ManualLine], str, str]] = [
    ("one line", 0, "Capital", [_line("1000", debit="10.00")], "lines", "at least two lines (got 1)"),
    ("no lines", 0, "Capital", [], "lines", "at least two lines (got 0)"),
    ("both", 0, "Capital", [_line("1000", "10.00", "10.00"), _line("3000", credit="0.00")], "lines",
     "Line 1 (account 1000) has both a debit and a credit"),
    ("neither", 0, "Capital", [_line("1000", debit="10.00"), _line("3000")], "lines",
     "Line 2 (account 3000) has neither a debit nor a credit"),
    ("negative", 0, "Capital", [_line("1000", debit="-10.00"), _line("3000", credit="-10.00")], "lines",
     "Line 1: the debit amount -10.00 must be more than zero with at most two decimals"),
    ("three decimals", 0, "Capital", [_line("1000", debit="10.005"), _line("3000", credit="10.005")], "lines",
     "Line 1: the debit amount 10.005 must be more than zero with at most two decimals"),
    ("too large", 0, "Capital", [_line("1000", debit="1000000000000.00"), _line("3000", credit="1000000000000.00")],
     "lines", "at most 999,999,999,999.99"),
    ("unknown account", 0, "Capital", [_line("1000", debit="10.00"), _line("9999", credit="10.00")], "lines",
     "Line 2: there is no account 9999 in the chart of accounts"),
    ("inactive account", 0, "Capital", [_line("1000", debit="10.00"), _line("9100", credit="10.00")], "lines",
     "Line 2: account 9100 (Old Suspense) is inactive"),
    ("unbalanced", 0, "Capital", [_line("1000", debit="100.00"), _line("3000", credit="90.00")], "lines",
     "does not balance: debits 100.00, credits 90.00 (a difference of 10.00)"),
    ("future", 1, "Capital", CAPITAL, "entry_date", "is in the future"),
    ("empty description", 0, "   ", CAPITAL, "description", "the description is empty"),
    ("description with a line break", 0, "Capital\nsecond line", CAPITAL, "description", "without tabs"),
]


@pytest.mark.parametrize(("case", "days_ahead", "description", "lines", "field", "message"), BAD_ENTRIES,
                         ids=[case[0] for case in BAD_ENTRIES])
def test_a_malformed_entry_is_refused_beside_its_field_and_changes_nothing(
        engine: Engine, accountant: Actor, case: str, days_ahead: int, description: str,
        lines: list[ManualLine], field: str, message: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO chart_of_accounts (account_code, account_name, account_type, is_active) "
                          "VALUES ('9100', 'Old Suspense', 'asset', false)"))
    before = fingerprint(engine)
    with pytest.raises(ValidationError) as info:
        AccountingRepository(engine, accountant).post_manual_entry(TODAY + timedelta(days=days_ahead), description,
                                                                   lines)
    assert list(info.value.fields) == [field], case
    assert message in info.value.fields[field], (case, info.value.fields[field])
    assert fingerprint(engine) == before


@pytest.mark.parametrize("lines", [
    '{"account_code": "1000", "debit": "10.00"}',
    '[{"account_code": "1000", "debit": "ten"}, {"account_code": "3000", "credit": "10.00"}]',
    '[{"debit": "10.00"}, {"account_code": "3000", "credit": "10.00"}]',
    '["1000", "3000"]',
])
def test_lines_that_are_not_accounts_with_amounts_are_refused(engine: Engine, staff: Staff, lines: str) -> None:
    with engine.begin() as conn, refused("P0107" if "ten" not in lines else "P0103") as info:
        conn.execute(text(POST), {"d": TODAY, "description": "Capital", "lines": lines, "by": staff.accountant})
    assert info.value.orig.diag.column_name == "lines"  # type: ignore[union-attr]


@pytest.mark.parametrize("role", ["cashier", "officer", "supervisor", "admin"])
def test_only_an_accountant_posts_or_reverses(engine: Engine, staff: Staff, accountant: Actor, role: str) -> None:
    posted = AccountingRepository(engine, accountant).post_manual_entry(TODAY, "Opening capital", CAPITAL)
    other = actor_for(engine, role)
    before = fingerprint(engine)
    with pytest.raises(Refused):
        AccountingRepository(engine, other).post_manual_entry(TODAY, "Opening capital", CAPITAL)
    with pytest.raises(Refused):
        AccountingRepository(engine, other).reverse_manual_entry(posted, "wrong period")
    # And in SQL, without the interface: a staff role in the name of the accountant is refused too.
    with engine.begin() as conn, refused("42501"):
        conn.execute(text("SELECT set_config('astrofin.user_id', :u, true), set_config('role', :r, true)"),
                     {"u": str(other.user_id), "r": other.db_role})
        conn.execute(text(POST), {"d": TODAY, "description": "x", "lines": json.dumps([]), "by": staff.accountant})
    assert fingerprint(engine) == before


def test_reversal_refusals(engine: Engine, staff: Staff, accountant: Actor) -> None:
    repo = AccountingRepository(engine, accountant)
    posted = repo.post_manual_entry(TODAY - timedelta(days=2), "Opening capital", CAPITAL)
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
        loan_entry = scalar(conn, "SELECT e.id FROM journal_entries e JOIN transactions t ON t.id = e.transaction_id "
                                  "WHERE t.loan_id = :l", l=loan)
    before = fingerprint(engine)
    with pytest.raises(Refused, match="posted by a loan transaction; reverse the transaction instead"):
        repo.reverse_manual_entry(loan_entry, "wrong")
    with pytest.raises(ValidationError) as empty:
        repo.reverse_manual_entry(posted, "  ")
    assert empty.value.fields == {"reason": "say why the entry is reversed"}
    with pytest.raises(ValidationError) as early:
        repo.reverse_manual_entry(posted, "wrong period", TODAY - timedelta(days=3))
    assert "before the entry" in early.value.fields["entry_date"]
    with pytest.raises(ValidationError) as future:
        repo.reverse_manual_entry(posted, "wrong period", TODAY + timedelta(days=1))
    assert "in the future" in future.value.fields["entry_date"]
    with pytest.raises(NotFound):
        repo.reverse_manual_entry(10**9, "wrong period")
    assert fingerprint(engine) == before
    reversal = repo.reverse_manual_entry(posted, "wrong period", TODAY - timedelta(days=1))
    with pytest.raises(Refused, match="was already reversed by JE-"):
        repo.reverse_manual_entry(posted, "again")
    with pytest.raises(Refused, match="is itself a reversal; post a new entry"):
        repo.reverse_manual_entry(reversal, "undo the undo")
