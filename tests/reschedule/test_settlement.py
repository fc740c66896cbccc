"""Early settlement after a reschedule (a new rate, grace periods, arrears and penalties moved onto the first new
installment): the quote of the day closes the loan, nothing of it is owed any more, and the books balance (the
autouse check in conftest)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from tests.ledger.helpers import TODAY, Staff, account_balance, pay, scalar
from tests.penalties import book
from tests.reschedule.helpers import approve, request


@pytest.mark.parametrize("rule", ["current_period", "all_remaining", "none"])
def test_the_quote_after_a_reschedule_closes_the_loan(engine: Engine, staff: Staff, rule: str) -> None:
    product = book.product(engine, interval=30)
    with engine.begin() as conn:
        conn.execute(text("UPDATE loan_products SET early_settlement_interest = :r WHERE id = :p"),
                     {"r": rule, "p": product})
    loan = book.loan(engine, product)
    book.run(engine, date(2026, 5, 10))
    with engine.begin() as conn:
        pay(conn, staff, loan, Decimal("1500.00"))
        rid = request(conn, staff, loan, from_installment=2, new_next_due_date=TODAY + timedelta(days=20),
                      extra_installments=3, new_rate="18", grace_periods=2, arrears_handling="keep")
        approve(conn, staff, rid)
        arrears = conn.execute(text("SELECT arrears_interest, arrears_penalty FROM loan_reschedules WHERE id = :r"),
                               {"r": rid}).one()
        assert arrears.arrears_interest > 0 and arrears.arrears_penalty > 0
        principal, interest, penalty, total = conn.execute(text(
            "SELECT principal, interest, penalty, total FROM payoff_quote(:l, :d)"), {"l": loan, "d": TODAY}).one()
        owed_principal = scalar(conn, "SELECT sum(principal_due - principal_paid) FROM payment_schedules "
                                      "WHERE loan_id = :l", l=loan)
        assert principal == owed_principal and penalty == arrears.arrears_penalty
        # The arrears interest moved onto the first new installment was due before the reschedule: every rule
        # keeps it (the new tail's own interest follows the rule).
        assert interest >= arrears.arrears_interest
        assert total == principal + interest + penalty
        income_4100 = account_balance(conn, "4100")
        conn.execute(text("SELECT settle_loan(:l, :a, :d, :s)"),
                     {"l": loan, "a": total, "d": TODAY, "s": staff.cashier})
        assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan) == "closed"
        assert scalar(conn, "SELECT count(*) FROM payment_schedules WHERE loan_id = :l "
                            "AND (total_paid <> total_due OR paid_date IS NULL)", l=loan) == 0
        assert scalar(conn, "SELECT coalesce(sum(loan_charge_unpaid(id)), 0) FROM loan_charges WHERE loan_id = :l",
                      l=loan) == 0
        assert scalar(conn, "SELECT sum(principal_due) FROM payment_schedules WHERE loan_id = :l",
                      l=loan) == Decimal("10000.00")
        # The penalty part of the settlement is income (4100 is credited: its debit-minus-credit falls).
        assert income_4100 - account_balance(conn, "4100") == penalty
