"""Issue 20's property: for any loan with a penalty rule, any sequence of penalty runs (as_of moving forward),
payments, reversals, waivers, reschedules and a settlement, the schedule's principal sums to the loan's principal,
nothing owed goes negative, every installment's penalty_due is its charges less their waivers and moves (plus what a
reschedule carried onto a first new installment), every penalty charged is waived, collected or still owed, a closed
loan owes nothing, every journal entry balances and the trial balance is zero.

One database per test (the function-scoped `engine`); every example makes its own product and loan there and commits,
so the books accumulate over the examples and are checked over all of them.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from tests.ledger.helpers import TODAY, Staff, owed, pay, scalar
from tests.reschedule.helpers import approve, request

CENT = Decimal("0.01")
START = TODAY - timedelta(days=400)
PROPERTY = settings(max_examples=int(os.environ.get("INTEG_EXAMPLES", "30")), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

rules = st.one_of(
    st.fixed_dictionaries({"method": st.just("flat"),
                           "value": st.integers(100, 50_000).map(lambda c: Decimal(c) / 100)}),
    st.fixed_dictionaries({"method": st.sampled_from(["percent_of_overdue_principal",
                                                      "percent_of_overdue_installment"]),
                           "value": st.integers(50, 1_000).map(lambda bp: Decimal(bp) / 100)}),
).flatmap(lambda rule: st.fixed_dictionaries({
    **{k: st.just(v) for k, v in rule.items()},
    "grace": st.integers(0, 10),
    "interval": st.none() | st.integers(7, 30),
    "cap": st.none() | st.integers(1_000, 100_000).map(lambda c: Decimal(c) / 100),
    "settlement": st.sampled_from(["current_period", "all_remaining", "none"]),
}))
terms = st.fixed_dictionaries({
    "principal": st.integers(100_000, 5_000_000).map(lambda cents: Decimal(cents) / 100),
    "rate": st.integers(0, 6_000).map(lambda bp: Decimal(bp) / 100),
    "method": st.sampled_from(["declining_balance", "flat"]),
    "term": st.integers(2, 12),
    "frequency": st.sampled_from(["weekly", "biweekly", "monthly"]),
})
run_op = st.tuples(st.just("run"), st.integers(1, 90))
pay_op = st.tuples(st.just("pay"), st.integers(1, 70))
reverse_op = st.tuples(st.just("reverse"))
waive_op = st.tuples(st.just("waive"), st.integers(0, 50), st.integers(1, 100))
reschedule_op = st.tuples(st.just("reschedule"), st.fixed_dictionaries({
    "later": st.integers(0, 2), "days": st.integers(0, 90), "extra_installments": st.integers(0, 4),
    "new_rate": st.none() | st.integers(0, 6_000).map(lambda bp: str(Decimal(bp) / 100)),
    "grace_periods": st.integers(0, 2), "arrears_handling": st.sampled_from(["keep", "waive"]),
}))
# A run first, so that most sequences have charges for the payments, waivers and reschedules to meet.
operations = st.tuples(run_op, st.lists(st.one_of(run_op, run_op, pay_op, reverse_op, waive_op, reschedule_op),
                                        max_size=7)).map(lambda ops: [ops[0], *ops[1]])


def _refusal(exc: DBAPIError) -> bool:
    return (getattr(exc.orig, "sqlstate", None) or "").startswith("P01")


def _loan(conn: Connection, staff: Staff, loan_terms: dict[str, Any], rule: dict[str, Any]) -> int:
    product = scalar(conn, (
        "INSERT INTO loan_products (code, name, interest_method, repayment_frequency, penalty_method, penalty_value, "
        "penalty_grace_days, penalty_interval_days, penalty_cap, early_settlement_interest) "
        "VALUES ('P' || nextval('loan_products_id_seq'), 'Property', :m, :f, :pm, :pv, :g, :i, :cap, :es) "
        "RETURNING id"), m=loan_terms["method"], f=loan_terms["frequency"], pm=rule["method"], pv=rule["value"],
        g=rule["grace"], i=rule["interval"], cap=rule["cap"], es=rule["settlement"])
    customer = scalar(conn, "INSERT INTO customers (first_name, last_name, phone, created_by) "
                            "VALUES ('Prop', 'Erty', '+254700000009', :by) RETURNING id", by=staff.officer)
    loan = scalar(conn, (
        "INSERT INTO loans (customer_id, product_id, principal_amount, interest_rate, interest_method, term, "
        "repayment_frequency, application_date, loan_officer_id, created_by) "
        "VALUES (:c, :p, :a, :r, :m, :t, :f, :d, :o, :o) RETURNING id"), c=customer, p=product,
        a=loan_terms["principal"], r=loan_terms["rate"], m=loan_terms["method"], t=loan_terms["term"],
        f=loan_terms["frequency"], d=START, o=staff.officer)
    conn.execute(text("SELECT approve_loan(:l, :s)"), {"l": loan, "s": staff.supervisor})
    conn.execute(text("SELECT disburse_loan(:l, :c, :d, :f)"),
                 {"l": loan, "c": staff.cashier, "d": START, "f": START + timedelta(days=30)})
    return int(loan)


class Clock:
    """The day the penalty runs and payments have reached: it only moves forward, up to today."""

    def __init__(self) -> None:
        self.day = START + timedelta(days=30)

    def forward(self, days: int) -> date:
        self.day = min(self.day + timedelta(days=days), TODAY)
        return self.day


def _apply(engine: Engine, staff: Staff, loan: int, clock: Clock, op: tuple[Any, ...]) -> str:
    try:
        with engine.begin() as conn:
            status = scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan)
            if op[0] == "run":
                written = scalar(conn, "SELECT apply_overdue_penalties(:d)", d=clock.forward(op[1]))
                # Run again at the same moment: nothing new.
                assert scalar(conn, "SELECT apply_overdue_penalties(:d)", d=clock.day) == 0
                return "run" if written else "run-nothing"
            if status not in ("active", "defaulted"):
                return "skipped"
            if op[0] == "pay":
                amount = max((owed(conn, loan) * op[1] / 100).quantize(CENT, ROUND_HALF_UP), CENT)
                pay(conn, staff, loan, amount, when=clock.day)
            elif op[0] == "reverse":
                last = scalar(conn, "SELECT max(t.id) FROM transactions t WHERE t.loan_id = :l "
                                    "AND t.transaction_type = 'repayment' AND NOT EXISTS "
                                    "(SELECT 1 FROM transactions r WHERE r.reverses_transaction_id = t.id)", l=loan)
                if last is None:
                    return "skipped"
                conn.execute(text("SELECT reverse_transaction(:t, :s, 'Cheque bounced')"),
                             {"t": last, "s": staff.supervisor})
            elif op[0] == "waive":
                ids = list(conn.execute(text("SELECT id, loan_charge_unpaid(id) AS unpaid, schedule_id FROM "
                                             "loan_charges WHERE loan_id = :l ORDER BY id"), {"l": loan}))
                if not ids:
                    return "skipped"
                charge = ids[op[1] % len(ids)]
                if charge.unpaid == 0:
                    # Paid, waived or gone with a rescheduled installment: refused, nothing written.
                    try:
                        with conn.begin_nested():
                            conn.execute(text("SELECT waive_charge(:c, 0.01, 'goodwill', :s)"),
                                         {"c": charge.id, "s": staff.supervisor})
                    except DBAPIError as exc:
                        assert getattr(exc.orig, "sqlstate", None) == "P0111", str(exc.orig)
                    else:
                        raise AssertionError(f"a waiver of charge {charge.id}, which owes nothing, was taken")
                    return "waive-refused"
                amount = max((charge.unpaid * op[2] / 100).quantize(CENT, ROUND_HALF_UP), CENT)
                conn.execute(text("SELECT waive_charge(:c, :a, 'goodwill', :s)"),
                             {"c": charge.id, "a": amount, "s": staff.supervisor})
            else:
                change = dict(op[1])
                first = scalar(conn, "SELECT min(installment_number) FROM payment_schedules "
                                     "WHERE loan_id = :l AND paid_date IS NULL", l=loan)
                if first is None:
                    return "skipped"
                later, days = change.pop("later"), change.pop("days")
                charged = scalar(conn, "SELECT count(*) FROM loan_charges c JOIN payment_schedules s "
                                       "ON s.id = c.schedule_id WHERE s.loan_id = :l AND s.paid_date IS NULL "
                                       "AND s.installment_number >= :f", l=loan, f=first + later)
                rid = request(conn, staff, loan, from_installment=first + later,
                              new_next_due_date=TODAY + timedelta(days=days), **change)
                approve(conn, staff, rid)
                return "reschedule-with-charges" if charged else "reschedule"
        return op[0]
    except DBAPIError as exc:
        assert _refusal(exc), str(exc.orig)
        return "refused"


def _settle(engine: Engine, staff: Staff, loan: int) -> str:
    with engine.begin() as conn:
        if scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan) not in ("active", "defaulted"):
            return "settle-skipped"
        total = scalar(conn, "SELECT total FROM payoff_quote(:l, :d)", l=loan, d=TODAY)
        conn.execute(text("SELECT settle_loan(:l, :a, :d, :s)"),
                     {"l": loan, "a": total, "d": TODAY, "s": staff.cashier})
        assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan) == "closed"
    return "settled"


def _check(conn: Connection, loan: int, principal: Decimal) -> None:
    assert scalar(conn, "SELECT sum(principal_due) FROM payment_schedules WHERE loan_id = :l", l=loan) == principal
    assert scalar(conn, (
        "SELECT count(*) FROM payment_schedules WHERE loan_id = :l AND (principal_due < principal_paid "
        "OR interest_due < interest_paid OR penalty_due < penalty_paid OR principal_paid < 0 OR interest_paid < 0 "
        "OR penalty_paid < 0 OR total_due <> principal_due + interest_due + penalty_due "
        "OR total_paid <> principal_paid + interest_paid + penalty_paid "
        "OR interest_carried > interest_due)"), l=loan) == 0
    # penalty_due = the attached charges less their waivers and moves, + what a 'keep' reschedule carried onto the
    # first installment it wrote (never negative, and nowhere else).
    carried = dict(conn.execute(text(
        "SELECT s.installment_number, s.penalty_due - coalesce((SELECT sum(c.amount - c.waived_amount - "
        "c.moved_amount) FROM loan_charges c WHERE c.schedule_id = s.id), 0) FROM payment_schedules s "
        "WHERE s.loan_id = :l"), {"l": loan}).tuples().all())
    assert all(v >= 0 for v in carried.values()), carried
    firsts = set(conn.execute(text(
        "SELECT r.from_installment + k FROM loan_reschedules r CROSS JOIN (VALUES (0), (1)) x(k) "
        "WHERE r.loan_id = :l AND r.status = 'approved' AND r.arrears_handling = 'keep' AND r.arrears_penalty > 0"),
        {"l": loan}).scalars())
    assert {n for n, v in carried.items() if v > 0} <= firsts, (carried, firsts)
    # Charges: what is unpaid is never negative, a charge without an installment owes nothing and names its
    # reschedule; the charges still on an installment owe what the installment owes of its penalties, at most.
    charges = list(conn.execute(text(
        "SELECT c.id, c.schedule_id, c.rescheduled_id, loan_charge_unpaid(c.id) AS unpaid FROM loan_charges c "
        "WHERE c.loan_id = :l"), {"l": loan}))
    assert all(c.unpaid is not None and c.unpaid >= 0 for c in charges)
    assert all(c.unpaid == 0 and c.rescheduled_id is not None for c in charges if c.schedule_id is None)
    on_rows = scalar(conn, "SELECT coalesce(sum(loan_charge_unpaid(c.id)), 0) FROM loan_charges c "
                           "WHERE c.loan_id = :l AND c.schedule_id IS NOT NULL", l=loan)
    assert on_rows <= scalar(conn, "SELECT coalesce(sum(penalty_due - penalty_paid), 0) FROM payment_schedules "
                                   "WHERE loan_id = :l", l=loan)
    # Every penalty charged is waived (a charge's waiver, or a reschedule's waiver of what an earlier one carried),
    # collected (repayments less their reversals) or still owed; what a reschedule moved is still owed.
    charged, waived = conn.execute(text(
        "SELECT coalesce(sum(amount), 0), coalesce(sum(waived_amount), 0) FROM loan_charges WHERE loan_id = :l"),
        {"l": loan}).one()
    waived += scalar(conn, "SELECT coalesce(sum(arrears_penalty_carried), 0) FROM loan_reschedules WHERE loan_id = :l "
                           "AND status = 'approved' AND arrears_handling = 'waive'", l=loan)
    collected = scalar(conn, "SELECT coalesce(sum(CASE WHEN transaction_type = 'reversal' THEN -penalty_amount "
                             "ELSE penalty_amount END), 0) FROM transactions WHERE loan_id = :l "
                             "AND transaction_type IN ('repayment', 'reversal')", l=loan)
    still_owed = scalar(conn, "SELECT sum(penalty_due - penalty_paid) FROM payment_schedules WHERE loan_id = :l",
                        l=loan)
    assert charged == waived + collected + still_owed, (charged, waived, collected, still_owed)
    summary = conn.execute(text(
        "SELECT l.status, l.principal_outstanding, coalesce(sum(s.principal_due - s.principal_paid) "
        "FILTER (WHERE s.paid_date IS NULL), 0) AS unpaid_principal, sum(s.total_due - s.total_paid) AS owed, "
        "l.term = count(s.id) AS term_ok FROM loans l JOIN payment_schedules s ON s.loan_id = l.id "
        "WHERE l.id = :l GROUP BY l.id"), {"l": loan}).one()
    assert summary.term_ok and summary.principal_outstanding == summary.unpaid_principal, summary
    if summary.status == "closed":
        assert summary.owed == 0 and sum(c.unpaid for c in charges) == 0, summary
    # The money the payments brought is in the schedule, no more and no less.
    paid = scalar(conn, "SELECT coalesce(sum(total_paid), 0) FROM payment_schedules WHERE loan_id = :l", l=loan)
    received = scalar(conn, "SELECT coalesce(sum(t.amount), 0) FROM transactions t WHERE t.loan_id = :l "
                            "AND t.transaction_type = 'repayment' AND NOT EXISTS "
                            "(SELECT 1 FROM transactions r WHERE r.reverses_transaction_id = t.id)", l=loan)
    assert paid == received
    assert scalar(conn, "SELECT coalesce(sum(debit - credit), 0) FROM journal_entry_details") == 0
    assert scalar(conn, "SELECT count(*) FROM loan_arrears_drift()") == 0
    assert scalar(conn, "SELECT count(*) FROM journal_entries e WHERE (SELECT sum(d.debit - d.credit) "
                        "FROM journal_entry_details d WHERE d.journal_entry_id = e.id) <> 0") == 0


@PROPERTY
@given(loan_terms=terms, rule=rules, ops=operations, settle=st.booleans())
def test_penalties_payments_waivers_reschedules_and_a_settlement_keep_the_books(
        engine: Engine, staff: Staff, loan_terms: dict[str, Any], rule: dict[str, Any], ops: list[tuple[Any, ...]],
        settle: bool) -> None:
    with engine.begin() as conn:
        try:
            loan = _loan(conn, staff, loan_terms, rule)
        except DBAPIError as exc:  # terms whose schedule would hold 0.00 installments
            assert _refusal(exc)
            return
    clock = Clock()
    for op in ops:
        event(_apply(engine, staff, loan, clock, op))
        with engine.connect() as conn:
            _check(conn, loan, loan_terms["principal"])
    if settle:
        event(_settle(engine, staff, loan))
        with engine.connect() as conn:
            _check(conn, loan, loan_terms["principal"])
