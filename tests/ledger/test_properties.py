"""Property-based tests: random loans and payment sequences keep the schedule and the books in step."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text

from tests.ledger.helpers import TODAY, Staff, account_balance, active_loan, owed, pay, scalar

CENT = Decimal("0.01")
# One database per test (the function-scoped `engine`); examples make fresh loans in it and commit, so
# the books accumulate across examples and every invariant is checked over all of them.
SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

terms = st.fixed_dictionaries({
    "principal": st.integers(10_000, 50_000_000).map(lambda cents: Decimal(cents) / 100),
    "rate": st.integers(0, 6_000).map(lambda bp: Decimal(bp) / 100),
    "method": st.sampled_from(["declining_balance", "flat"]),
    "term": st.integers(1, 36),
    "frequency": st.sampled_from(["weekly", "biweekly", "monthly"]),
})


@settings(max_examples=100, deadline=None, suppress_health_check=SUPPRESS)
@given(loan=terms)
def test_schedule_principal_sums_to_the_principal(engine: Engine, loan: dict[str, Any]) -> None:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM preview_payment_schedule(:principal, :rate, :method, :term, "
                                 ":frequency, current_date)"), loan).all()
    assert len(rows) == loan["term"]
    assert sum(r.principal_due for r in rows) == loan["principal"]
    assert all(r.principal_due >= 0 and r.interest_due >= 0 for r in rows)
    assert all(r.total_due == r.principal_due + r.interest_due for r in rows)
    balances = [r.balance_after for r in rows]
    assert balances == sorted(balances, reverse=True) and balances[-1] == 0
    assert [r.due_date for r in rows] == sorted({r.due_date for r in rows})
    if loan["method"] == "flat":
        periods = {"weekly": 52, "biweekly": 26, "monthly": 12}[loan["frequency"]]
        interest = (loan["principal"] * loan["rate"] * loan["term"] / (100 * periods)).quantize(CENT, ROUND_HALF_UP)
        assert sum(r.interest_due for r in rows) == interest


def _check_books(conn: Connection, loan: int, principal: Decimal) -> None:
    # Principal installments sum to the principal.
    assert scalar(conn, "SELECT sum(principal_due) FROM payment_schedules WHERE loan_id = :l", l=loan) == principal
    # Nothing owed goes negative, and paid parts add up per installment.
    bad = scalar(conn, "SELECT count(*) FROM payment_schedules WHERE principal_due < principal_paid "
                       "OR interest_due < interest_paid OR penalty_due < penalty_paid "
                       "OR total_paid <> principal_paid + interest_paid + penalty_paid", )
    assert bad == 0
    # Allocations sum to the payments: each split adds up, and the schedule holds exactly the unreversed ones.
    split_off = scalar(conn, "SELECT count(*) FROM transactions WHERE transaction_type = 'repayment' "
                             "AND amount <> principal_amount + interest_amount + penalty_amount")
    assert split_off == 0
    paid = scalar(conn, "SELECT coalesce(sum(total_paid), 0) FROM payment_schedules WHERE loan_id = :l", l=loan)
    received = scalar(conn, "SELECT coalesce(sum(t.amount), 0) FROM transactions t WHERE t.loan_id = :l "
                            "AND t.transaction_type = 'repayment' AND NOT EXISTS "
                            "(SELECT 1 FROM transactions r WHERE r.reverses_transaction_id = t.id)", l=loan)
    assert paid == received
    for kind in ("principal", "interest", "penalty"):
        on_schedule = scalar(conn, f"SELECT coalesce(sum({kind}_paid), 0) FROM payment_schedules "  # noqa: S608
                                   "WHERE loan_id = :l", l=loan)
        in_splits = scalar(conn, f"SELECT coalesce(sum(t.{kind}_amount), 0) FROM transactions t "  # noqa: S608
                                 "WHERE t.loan_id = :l AND t.transaction_type = 'repayment' AND NOT EXISTS "
                                 "(SELECT 1 FROM transactions r WHERE r.reverses_transaction_id = t.id)", l=loan)
        assert on_schedule == in_splits, kind
    # Every journal entry balances and has two lines or more.
    unbalanced = scalar(conn, "SELECT count(*) FROM (SELECT journal_entry_id FROM journal_entry_details "
                              "GROUP BY 1 HAVING sum(debit) <> sum(credit) OR count(*) < 2) x")
    assert unbalanced == 0
    # The Loan Portfolio equals the principal still owed across all loans not written off.
    still_owed = scalar(conn, "SELECT coalesce(sum(s.principal_due - s.principal_paid), 0) FROM payment_schedules s "
                              "JOIN loans l ON l.id = s.loan_id WHERE l.status <> 'written_off'")
    assert account_balance(conn, "1200") == still_owed
    # Status follows what is owed.
    status = scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan)
    if status != "written_off":
        assert (status == "closed") == (owed(conn, loan) == 0)


@settings(max_examples=30, deadline=None, suppress_health_check=SUPPRESS)
@given(loan=terms, data=st.data())
def test_random_payment_sequences_keep_schedule_and_books_in_step(engine: Engine, staff: Staff,
                                                                  loan: dict[str, Any], data: st.DataObject) -> None:
    disbursed = TODAY - timedelta(days=400)
    with engine.begin() as conn:
        loan_id = active_loan(conn, staff, disbursed=disbursed, **loan)
    payments: list[int] = []
    steps = data.draw(st.lists(st.sampled_from(["pay", "pay", "pay", "penalty", "reverse"]), max_size=8))
    for step in [*steps, data.draw(st.sampled_from(["none", "write_off"]))]:
        with engine.begin() as conn:
            status = scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan_id)
            due = owed(conn, loan_id)
            if step == "pay" and status == "active" and due > 0:
                share = data.draw(st.integers(1, 100), label="percent of what is owed")
                amount = max(CENT, (due * share / 100).quantize(CENT, ROUND_HALF_UP))
                when = disbursed + timedelta(days=data.draw(st.integers(0, 400), label="day"))
                payments.append(pay(conn, staff, loan_id, amount, when=when))
            elif step == "penalty" and status == "active":
                fee = Decimal(data.draw(st.integers(1, 5_000), label="penalty cents")) / 100
                conn.execute(text(
                    "UPDATE payment_schedules SET penalty_due = penalty_due + :fee, total_due = total_due + :fee "
                    "WHERE id = (SELECT id FROM payment_schedules WHERE loan_id = :l AND status <> 'paid' "
                    "ORDER BY installment_number LIMIT 1)"), {"fee": fee, "l": loan_id})
            elif step == "reverse" and payments and status in ("active", "closed"):
                victim = payments.pop(data.draw(st.integers(0, len(payments) - 1), label="which payment"))
                conn.execute(text("SELECT reverse_transaction(:t, :s, 'property test')"),
                             {"t": victim, "s": staff.supervisor})
            elif step == "write_off" and status == "active" and scalar(
                    conn, "SELECT sum(principal_due - principal_paid) FROM payment_schedules WHERE loan_id = :l",
                    l=loan_id) > 0:
                conn.execute(text("SELECT write_off_loan(:l, :s, 'property test')"),
                             {"l": loan_id, "s": staff.supervisor})
        with engine.connect() as conn:
            _check_books(conn, loan_id, loan["principal"])
