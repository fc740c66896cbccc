"""Waivers, payments of penalties and who may do what: refusals change nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.penalties.book import charges, loan, one, penalty_due, product, run, scalar, staff

D = Decimal


def _charged(engine: Engine) -> tuple[int, int]:
    lid = loan(engine, product(engine))
    run(engine, date(2026, 2, 4))
    return lid, scalar(engine, "SELECT id FROM loan_charges WHERE loan_id = :l", l=lid)


def _state(engine: Engine, lid: int) -> Any:
    with engine.connect() as conn:
        return (conn.execute(text("SELECT array_agg(c::text ORDER BY id) FROM loan_charges c WHERE loan_id = :l"),
                             {"l": lid}).scalar(),
                conn.execute(text("SELECT array_agg(s::text ORDER BY id) FROM payment_schedules s WHERE loan_id = :l"),
                             {"l": lid}).scalar(),
                conn.execute(text("SELECT count(*) FROM audit_logs")).scalar())


def _refused(engine: Engine, sql: str, **params: Any) -> Any:
    with pytest.raises(DBAPIError) as info, engine.begin() as conn:
        conn.execute(text(sql), params)
    return info.value.orig


def test_a_supervisor_waives_part_then_the_rest(engine: Engine, app_engine: Engine) -> None:
    lid, cid = _charged(engine)
    sup = staff(engine)["supervisor"]
    left = one(app_engine, sup, "SELECT waive_charge(:c, 20, '  First visit after a flood  ', :me)", c=cid,
               me=sup.user_id)
    assert left == D("27.28")
    assert charges(engine, lid) == [(1, 1, date(2026, 2, 4), D("47.28"), D("20.00"))]
    assert penalty_due(engine, lid) == {1: D("27.28")}
    with engine.connect() as conn:
        row = conn.execute(text("SELECT waived_by, waive_reason, waived_at IS NOT NULL FROM loan_charges "
                                "WHERE id = :c"), {"c": cid}).one()
        assert tuple(row) == (sup.user_id, "First visit after a flood", True)
        assert conn.execute(text("SELECT count(*) FROM audit_logs WHERE table_name = 'loan_charges' "
                                 "AND action = 'UPDATE' AND changed_by = :s"), {"s": sup.user_id}).scalar() == 1
        # Cash basis: nothing posted by the charge or the waiver.
        assert conn.execute(text("SELECT count(*) FROM journal_entries")).scalar() == 1  # the disbursement
    one(app_engine, sup, "SELECT waive_charge(:c, 27.28, 'Rest of it', :me)", c=cid, me=sup.user_id)
    assert penalty_due(engine, lid) == {}
    assert scalar(engine, "SELECT total_due FROM payment_schedules WHERE loan_id = :l AND installment_number = 1",
                  l=lid) == D("945.60")


@pytest.mark.parametrize(("amount", "reason", "state", "column", "words"), [
    ("-1", "ok", "P0103", "amount", "more than zero"),
    ("0", "ok", "P0103", "amount", "more than zero"),
    ("1.005", "ok", "P0103", "amount", "more than two decimals"),
    ("47.29", "ok", "P0111", "amount", "Only 47.28 of this penalty is unpaid"),
    ("10", "   ", "P0107", "reason", "Say why"),
    ("10", None, "P0107", "reason", "Say why"),
    ("10", "x" * 5000, "P0107", "reason", "at most 500 characters"),
    ("10", "line\nbreak", "P0107", "reason", "control characters"),
])
def test_bad_waivers_are_refused_and_write_nothing(engine: Engine, amount: str, reason: str | None, state: str,
                                                   column: str, words: str) -> None:
    lid, cid = _charged(engine)
    before = _state(engine, lid)
    err = _refused(engine, "SELECT waive_charge(:c, CAST(:a AS numeric), :r, :me)", c=cid, a=amount, r=reason,
                   me=staff(engine)["supervisor"].user_id)
    assert (err.sqlstate, err.diag.column_name) == (state, column)
    assert words in err.diag.message_primary
    assert _state(engine, lid) == before


def test_a_cashier_may_not_waive(engine: Engine, app_engine: Engine) -> None:
    lid, cid = _charged(engine)
    before = _state(engine, lid)
    cashier = staff(engine)["cashier"]
    err = _refused(engine, "SELECT waive_charge(:c, 10, 'kind', :me)", c=cid, me=cashier.user_id)
    assert err.sqlstate == "P0106" and "Only a supervisor may waive a penalty" in err.diag.message_primary
    with pytest.raises(DBAPIError) as info:
        one(app_engine, cashier, "SELECT waive_charge(:c, 10, 'kind', :me)", c=cid, me=cashier.user_id)
    assert info.value.orig.sqlstate == "42501"
    officer = staff(engine)["officer"]
    with pytest.raises(DBAPIError) as info:
        one(app_engine, officer, "SELECT apply_overdue_penalties(NULL, :me)", me=officer.user_id)
    assert info.value.orig.sqlstate == "42501"
    assert _state(engine, lid) == before


def test_what_a_payment_paid_of_the_penalty_cannot_be_waived(engine: Engine) -> None:
    """The installment's penalty_paid pays its oldest charge first."""
    lid = loan(engine, product(engine, interval=7))
    run(engine, date(2026, 2, 11))
    first, second = (scalar(engine, "SELECT id FROM loan_charges WHERE loan_id = :l AND occurrence = :k", l=lid, k=k)
                     for k in (1, 2))
    people = staff(engine)
    with engine.begin() as conn:
        tid = conn.execute(text("SELECT record_loan_payment(:l, 60, :d, :me)"),
                           {"l": lid, "d": date(2026, 2, 12), "me": people["cashier"].user_id}).scalar_one()
    assert scalar(engine, "SELECT penalty_amount FROM transactions WHERE id = :t", t=tid) == D("60.00")
    assert scalar(engine, "SELECT loan_charge_unpaid(:c)", c=first) == D("0.00")
    assert scalar(engine, "SELECT loan_charge_unpaid(:c)", c=second) == D("34.56")
    err = _refused(engine, "SELECT waive_charge(:c, 1, 'x', :me)", c=first, me=people["supervisor"].user_id)
    assert err.sqlstate == "P0111" and "already paid or waived" in err.diag.message_primary
    err = _refused(engine, "SELECT waive_charge(:c, 34.57, 'x', :me)", c=second, me=people["supervisor"].user_id)
    assert err.sqlstate == "P0111"
    with engine.begin() as conn:
        assert conn.execute(text("SELECT waive_charge(:c, 34.56, 'x', :me)"),
                            {"c": second, "me": people["supervisor"].user_id}).scalar() == D("0.00")
    assert penalty_due(engine, lid) == {1: D("60.00")}


def test_a_penalty_paid_credits_4100_and_the_books_balance(engine: Engine) -> None:
    lid = loan(engine, product(engine))
    run(engine, date(2026, 2, 4))
    with engine.begin() as conn:
        tid = conn.execute(text("SELECT record_loan_payment(:l, 992.88, :d, :me)"),
                           {"l": lid, "d": date(2026, 2, 5), "me": staff(engine)["cashier"].user_id}).scalar_one()
        split = conn.execute(text("SELECT penalty_amount, interest_amount, principal_amount FROM transactions "
                                  "WHERE id = :t"), {"t": tid}).one()
        assert tuple(split) == (D("47.28"), D("200.00"), D("745.60"))
        lines = dict(conn.execute(text(
            "SELECT a.account_code, sum(d.credit - d.debit) FROM journal_entry_details d "
            "JOIN journal_entries e ON e.id = d.journal_entry_id JOIN chart_of_accounts a ON a.id = d.account_id "
            "WHERE e.transaction_id = :t GROUP BY 1"), {"t": tid}).all())
        assert lines == {"1000": D("-992.88"), "1200": D("745.60"), "4000": D("200.00"), "4100": D("47.28")}
        assert conn.execute(text("SELECT sum(debit) - sum(credit) FROM journal_entry_details")).scalar() == 0
        status = conn.execute(text("SELECT status FROM payment_schedules WHERE loan_id = :l AND "
                                   "installment_number = 1"), {"l": lid}).scalar()
        assert status == "paid"
    # Paid: nothing more is charged on installment 1.
    assert run(engine, date(2026, 3, 3)) == 0
