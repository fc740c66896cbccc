"""Payments: allocation order, partial and closing payments, refusals, idempotency, receipts, postings."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine, text

from tests.ledger.helpers import (
    TODAY,
    Staff,
    account_balance,
    active_loan,
    fingerprint,
    owed,
    pay,
    postings,
    refused,
    scalar,
    schedule,
)

D = Decimal


def test_disbursement_posts_portfolio_against_cash(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
        txn = scalar(conn, "SELECT id FROM transactions WHERE loan_id = :l AND transaction_type = 'disbursement'",
                     l=loan)
        assert postings(conn, txn) == [("1200", D("10000.00"), 0), ("1000", 0, D("10000.00"))]
        assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan) == "active"
        assert scalar(conn, "SELECT disbursed_by FROM loans WHERE id = :l", l=loan) == staff.cashier


def test_payment_spread_over_installments_penalty_interest_principal_oldest_first(
        engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
        # A penalty on installments 1 and 2, set directly (penalties are charged elsewhere).
        conn.execute(text("UPDATE payment_schedules SET penalty_due = 50, total_due = total_due + 50 "
                          "WHERE loan_id = :l AND installment_number IN (1, 2)"), {"l": loan})
        # 995.60 clears installment 1 (50 + 200.00 + 745.60); 1,000.00 more: 50 penalty, 185.09 interest,
        # 760.51 principal of installment 2 (995.60), and the last 4.40 goes to installment 3's interest.
        amount = D("995.60") + D("1000.00")
        preview = list(conn.execute(text("SELECT * FROM preview_loan_payment(:l, :a, :d)"),
                                    {"l": loan, "a": amount, "d": TODAY}))
        txn = pay(conn, staff, loan, amount)
        rows = schedule(conn, loan)
        assert [(r.installment_number, r.penalty, r.interest, r.principal, r.status_after) for r in preview] == [
            (1, D("50.00"), D("200.00"), D("745.60"), "paid"),
            (2, D("50.00"), D("185.09"), D("760.51"), "paid"),
            (3, D("0.00"), D("4.40"), D("0.00"), "partial"),
        ]
        assert [(r.penalty_paid, r.interest_paid, r.principal_paid, r.status) for r in rows[:4]] == [
            (D("50.00"), D("200.00"), D("745.60"), "paid"),
            (D("50.00"), D("185.09"), D("760.51"), "paid"),
            (0, D("4.40"), 0, "partial"),
            (0, 0, 0, "pending"),
        ]
        assert rows[0].paid_date == TODAY and rows[2].paid_date is None
        split = conn.execute(text("SELECT amount, penalty_amount, interest_amount, principal_amount, receipt_number "
                                  "FROM transactions WHERE id = :t"), {"t": txn}).one()
        assert split[:4] == (amount, D("100.00"), D("389.49"), D("1506.11"))
        assert re.fullmatch(r"HQ-R-\d{6}", split.receipt_number)
        assert postings(conn, txn) == [("1000", amount, 0), ("1200", 0, D("1506.11")), ("4000", 0, D("389.49")),
                                       ("4100", 0, D("100.00"))]


def test_partial_payments_then_the_payment_that_closes_the_loan(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff, principal=D("1000.00"), rate=D("12"), term=2,
                           disbursed=TODAY - timedelta(days=70))
        total = owed(conn, loan)
        pay(conn, staff, loan, "5.00")                     # interest only, partly
        rows = schedule(conn, loan)
        assert (rows[0].interest_paid, rows[0].principal_paid, rows[0].status) == (D("5.00"), 0, "partial")
        pay(conn, staff, loan, "300.00")
        rows = schedule(conn, loan)
        assert rows[0].status == "partial" and rows[0].total_paid == D("305.00")
        assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan) == "active"
        last = pay(conn, staff, loan, total - D("305.00"))
        assert all(r.status == "paid" and r.paid_date == TODAY for r in schedule(conn, loan))
        status, closed_at = conn.execute(text("SELECT status, closed_at FROM loans WHERE id = :l"), {"l": loan}).one()
        assert status == "closed" and closed_at is not None
        assert owed(conn, loan) == 0
        assert account_balance(conn, "1200") == 0
        assert scalar(conn, "SELECT sum(amount) FROM transactions WHERE loan_id = :l "
                            "AND transaction_type = 'repayment'", l=loan) == total
        assert last > 0
    with engine.begin() as conn, refused("P0102", "closed"):
        pay(conn, staff, loan, "1.00")


def test_overpayment_is_refused_with_the_outstanding_amount(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
        pay(conn, staff, loan, "945.60")
    before = fingerprint(engine)
    with engine.begin() as conn, refused("P0103", "the outstanding amount is 10,401.55"):
        pay(conn, staff, loan, "10401.56")
    assert fingerprint(engine) == before
    with engine.begin() as conn:
        pay(conn, staff, loan, "10401.55")
        assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan) == "closed"


def test_same_idempotency_key_twice_is_one_payment(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
        first = pay(conn, staff, loan, "100.00", key="counter-1:abc")
    before = fingerprint(engine)
    with engine.begin() as conn:
        again = pay(conn, staff, loan, "100.00", key="counter-1:abc")
    assert again == first
    assert fingerprint(engine) == before
    with engine.begin() as conn, refused("P0107", "already used for another payment"):
        pay(conn, staff, loan, "150.00", key="counter-1:abc")


def test_same_key_returns_the_first_payment_even_after_it_closed_the_loan(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff, principal=D("500.00"), rate=D("0"), term=1)
        first = pay(conn, staff, loan, "500.00", key="k-close")
        assert pay(conn, staff, loan, "500.00", key="k-close") == first


def test_receipts_are_sequential(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
        for _ in range(3):
            pay(conn, staff, loan, "10.00")
        receipts = list(conn.execute(text("SELECT receipt_number FROM transactions WHERE loan_id = :l "
                                          "AND transaction_type = 'repayment' ORDER BY id"), {"l": loan}).scalars())
    assert all(r.startswith("HQ-R-") for r in receipts)
    numbers = [int(r[5:]) for r in receipts]
    assert numbers == list(range(numbers[0], numbers[0] + 3))


def test_payment_date_rules(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff, disbursed=TODAY - timedelta(days=10))
    with engine.begin() as conn, refused("P0104", "in the future"):
        pay(conn, staff, loan, "10.00", when=TODAY + timedelta(days=1))
    with engine.begin() as conn, refused("P0104", "before loan"):
        pay(conn, staff, loan, "10.00", when=TODAY - timedelta(days=11))
    with engine.begin() as conn:
        pay(conn, staff, loan, "10.00", when=TODAY - timedelta(days=10))


def test_preview_writes_nothing(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
    before = fingerprint(engine)
    with engine.begin() as conn:
        rows = list(conn.execute(text("SELECT * FROM preview_loan_payment(:l, 2000, :d)"), {"l": loan, "d": TODAY}))
    assert [r.installment_number for r in rows] == [1, 2, 3]
    assert sum(r.penalty + r.interest + r.principal for r in rows) == D("2000.00")
    assert fingerprint(engine) == before


def test_reversal_recomputes_the_schedule_and_mirrors_the_journal(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
        first = pay(conn, staff, loan, "945.60", when=TODAY - timedelta(days=2))
        second = pay(conn, staff, loan, "500.00", when=TODAY - timedelta(days=1))
        rows = schedule(conn, loan)
        assert rows[1].status == "partial"
        before_second = [tuple(r) for r in rows]
    with engine.begin() as conn, refused("P0105", "another supervisor"):
        pay_by_supervisor = pay(conn, staff, loan, "1.00", by=staff.supervisor)
        conn.execute(text("SELECT reverse_transaction(:t, :s, 'test')"),
                     {"t": pay_by_supervisor, "s": staff.supervisor})
    with engine.begin() as conn:
        reversal = scalar(conn, "SELECT reverse_transaction(:t, :s, 'Cheque bounced')", t=first, s=staff.supervisor)
        rev = conn.execute(text("SELECT transaction_type, amount, reverses_transaction_id, notes FROM transactions "
                                "WHERE id = :t"), {"t": reversal}).one()
        assert tuple(rev) == ("reversal", D("945.60"), first, "Cheque bounced")
        original = postings(conn, first)
        mirrored = postings(conn, reversal)
        assert mirrored == [(code, credit, debit) for code, debit, credit in original]
        assert scalar(conn, "SELECT reverses_entry_id FROM journal_entries WHERE transaction_id = :t", t=reversal) == \
            scalar(conn, "SELECT id FROM journal_entries WHERE transaction_id = :t", t=first)
        # Only the 500.00 payment remains. It was recorded (and posted) as 185.09 interest and 314.91
        # principal; the recomputed schedule lays that split on the oldest installment, so the schedule
        # keeps agreeing with the books: installment 1 is partly paid, the rest pending.
        rows = schedule(conn, loan)
        assert (rows[0].interest_paid, rows[0].principal_paid, rows[0].status) == (D("185.09"), D("314.91"),
                                                                                  "partial")
        assert rows[0].paid_date is None
        assert all(r.total_paid == 0 and r.status == "pending" for r in rows[1:])
        assert [tuple(r) for r in rows] != before_second
        assert account_balance(conn, "1200") == D("10000.00") - D("314.91")
        assert account_balance(conn, "4000") == D("-185.09")
    with engine.begin() as conn, refused("P0102", "already reversed"):
        conn.execute(text("SELECT reverse_transaction(:t, :s, 'again')"), {"t": first, "s": staff.supervisor2})
    with engine.begin() as conn, refused("P0102", "Only repayments"):
        conn.execute(text("SELECT reverse_transaction(:t, :s, 'x')"), {"t": reversal, "s": staff.supervisor2})
    assert second


def test_reversal_reopens_a_closed_loan(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff, principal=D("300.00"), rate=D("0"), term=3)
        pay(conn, staff, loan, "100.00", when=TODAY - timedelta(days=1))
        last = pay(conn, staff, loan, "200.00")
        assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan) == "closed"
        conn.execute(text("SELECT reverse_transaction(:t, :s, 'Wrong loan')"), {"t": last, "s": staff.supervisor})
        status, closed_at = conn.execute(text("SELECT status, closed_at FROM loans WHERE id = :l"), {"l": loan}).one()
        assert (status, closed_at) == ("active", None)
        assert owed(conn, loan) == D("200.00")
        assert [r.status for r in schedule(conn, loan)] == ["paid", "pending", "pending"]


def test_write_off_posts_loss_against_portfolio(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
        pay(conn, staff, loan, "945.60", when=TODAY - timedelta(days=5))
        txn = scalar(conn, "SELECT write_off_loan(:l, :s, 'Customer unreachable', :d)", l=loan, s=staff.supervisor,
                     d=TODAY - timedelta(days=1))
        assert postings(conn, txn) == [("5000", D("9254.40"), 0), ("1200", 0, D("9254.40"))]
        row = conn.execute(text("SELECT status, written_off_at, written_off_by, write_off_reason FROM loans "
                                "WHERE id = :l"), {"l": loan}).one()
        assert (row.status, row.written_off_by, row.write_off_reason) == ("written_off", staff.supervisor,
                                                                          "Customer unreachable")
        assert row.written_off_at is not None
        assert account_balance(conn, "1200") == 0
        assert account_balance(conn, "5000") == D("9254.40")
        wo = conn.execute(text("SELECT transaction_type, amount, transaction_date FROM transactions WHERE id = :t"),
                          {"t": txn}).one()
        assert tuple(wo) == ("write_off", D("9254.40"), TODAY - timedelta(days=1))
    # A payment on a written-off loan is a recovery (0021), never more than was written off.
    with engine.begin() as conn:
        assert postings(conn, pay(conn, staff, loan, "1.00")) == [("1000", D("1.00"), 0), ("4300", 0, D("1.00"))]
    with engine.begin() as conn, refused("P0103", "write-off"):
        pay(conn, staff, loan, "9254.40")


def test_defaulted_loan_takes_payments_and_closes(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff, principal=D("100.00"), rate=D("0"), term=1,
                           disbursed=date(2024, 1, 1))
        conn.execute(text("UPDATE loans SET status = 'defaulted' WHERE id = :l"), {"l": loan})
        pay(conn, staff, loan, "100.00")
        assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan) == "closed"
