"""Any sequence of payments, reversals and reschedules keeps the schedule and the books whole."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from tests.ledger.helpers import TODAY, Staff, active_loan, owed, pay, scalar
from tests.reschedule.helpers import approve, request

SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

terms = st.fixed_dictionaries({
    "principal": st.integers(100_000, 5_000_000).map(lambda cents: Decimal(cents) / 100),
    "rate": st.integers(0, 6_000).map(lambda bp: Decimal(bp) / 100),
    "method": st.sampled_from(["declining_balance", "flat"]),
    "term": st.integers(2, 24),
    "frequency": st.sampled_from(["weekly", "biweekly", "monthly"]),
})
pay_op = st.tuples(st.just("pay"), st.integers(1, 100))
reverse_op = st.tuples(st.just("reverse"))
reschedule_op = st.tuples(st.just("reschedule"), st.fixed_dictionaries({
    "later": st.integers(0, 2), "days": st.integers(0, 90), "extra_installments": st.integers(0, 6),
    "new_rate": st.none() | st.integers(0, 6_000).map(lambda bp: str(Decimal(bp) / 100)),
    "grace_periods": st.integers(0, 3), "arrears_handling": st.sampled_from(["keep", "waive"]),
}))
operations = st.lists(st.one_of(pay_op, reverse_op, reschedule_op), min_size=1, max_size=6)


def _refusal(exc: DBAPIError) -> bool:
    return (getattr(exc.orig, "sqlstate", None) or "").startswith("P01")


def _apply(engine: Engine, staff: Staff, loan: int, op: tuple[Any, ...]) -> str:
    try:
        with engine.begin() as conn:
            status = scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan)
            if op[0] == "pay":
                if status not in ("active", "defaulted"):
                    return "skipped"
                amount = max((owed(conn, loan) * op[1] / 100).quantize(Decimal("0.01"), ROUND_HALF_UP),
                             Decimal("0.01"))
                pay(conn, staff, loan, amount)
            elif op[0] == "reverse":
                last = scalar(conn, "SELECT max(t.id) FROM transactions t WHERE t.loan_id = :l "
                                    "AND t.transaction_type = 'repayment' AND NOT EXISTS "
                                    "(SELECT 1 FROM transactions r WHERE r.reverses_transaction_id = t.id)", l=loan)
                if last is None:
                    return "skipped"
                conn.execute(text("SELECT reverse_transaction(:t, :s, 'Cheque bounced')"),
                             {"t": last, "s": staff.supervisor})
            else:
                change = dict(op[1])
                first = scalar(conn, "SELECT min(installment_number) FROM payment_schedules "
                                     "WHERE loan_id = :l AND paid_date IS NULL", l=loan)
                if first is None:
                    return "skipped"
                later = change.pop("later")
                days = change.pop("days")
                rid = request(conn, staff, loan, from_installment=first + later,
                              new_next_due_date=TODAY + timedelta(days=days), **change)
                approve(conn, staff, rid)
        return op[0]
    except DBAPIError as exc:
        assert _refusal(exc), str(exc.orig)
        return "refused"


def _check(conn: Connection, loan: int, principal: Decimal) -> None:
    assert scalar(conn, "SELECT sum(principal_due) FROM payment_schedules WHERE loan_id = :l", l=loan) == principal
    assert scalar(conn, "SELECT count(*) FROM payment_schedules WHERE loan_id = :l AND (principal_due < principal_paid "
                        "OR interest_due < interest_paid OR penalty_due < penalty_paid OR principal_due < 0 "
                        "OR interest_due < 0 OR penalty_due < 0)", l=loan) == 0
    summary = conn.execute(text(
        "SELECT l.principal_outstanding = coalesce(sum(s.principal_due - s.principal_paid) "
        "FILTER (WHERE s.paid_date IS NULL), 0), l.oldest_unpaid_due_date IS NOT DISTINCT FROM "
        "min(s.due_date) FILTER (WHERE s.paid_date IS NULL), l.term = count(s.id) "
        "FROM loans l JOIN payment_schedules s ON s.loan_id = l.id WHERE l.id = :l "
        "GROUP BY l.id"), {"l": loan}).one()
    assert all(summary), summary
    installments = [r[0] for r in conn.execute(text(
        "SELECT due_date FROM payment_schedules WHERE loan_id = :l ORDER BY installment_number"), {"l": loan})]
    assert installments == sorted(installments)
    # The money the payments brought is in the schedule, no more and no less.
    paid = scalar(conn, "SELECT coalesce(sum(total_paid), 0) FROM payment_schedules WHERE loan_id = :l", l=loan)
    received = scalar(conn, "SELECT coalesce(sum(t.amount), 0) FROM transactions t WHERE t.loan_id = :l "
                            "AND t.transaction_type = 'repayment' AND NOT EXISTS "
                            "(SELECT 1 FROM transactions r WHERE r.reverses_transaction_id = t.id)", l=loan)
    assert paid == received
    assert scalar(conn, "SELECT coalesce(sum(debit - credit), 0) FROM journal_entry_details") == 0
    assert scalar(conn, "SELECT count(*) FROM journal_entries e WHERE (SELECT sum(d.debit - d.credit) "
                        "FROM journal_entry_details d WHERE d.journal_entry_id = e.id) <> 0") == 0


@settings(max_examples=25, deadline=None, suppress_health_check=SUPPRESS)
@given(loan_terms=terms, ops=operations)
def test_payments_reversals_and_reschedules_keep_the_books(engine: Engine, staff: Staff, loan_terms: dict[str, Any],
                                                          ops: list[tuple[Any, ...]]) -> None:
    with engine.begin() as conn:
        try:
            loan = active_loan(conn, staff, disbursed=TODAY - timedelta(days=150),
                               first=TODAY - timedelta(days=100), **loan_terms)
        except DBAPIError as exc:  # terms whose schedule would hold 0.00 installments
            assert _refusal(exc)
            return
    for op in ops:
        outcome = _apply(engine, staff, loan, op)
        event(outcome)
        with engine.connect() as conn:
            _check(conn, loan, loan_terms["principal"])
