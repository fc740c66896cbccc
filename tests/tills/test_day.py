"""A cashier's whole day in a branch that requires tills, and what the books say of it.

Open with a float of 5,000 (Dr 1000 / Cr 1050); three cash repayments and a cash disbursement through the till; an
M-Pesa repayment beside it (Dr 1150); a count 50 short: pending, nothing posted; another supervisor approves:
Dr 1050 counted, Dr 5100 50.00, Cr 1000 expected. The trial balance is zero and the sheet agrees with the books.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import text

from db.repositories.loans import LoanRepository
from db.repositories.payments import PaymentRepository, new_idempotency_key
from db.repositories.tills import TillRepository
from tests.tills.book import TODAY, VAULT, TillBook, make_loan
from tests.tills.books import account_balance, entry_lines, transaction_lines, trial_balance_difference

FLOAT = Decimal("5000.00")


def test_a_day_of_one_till_from_float_to_approved_count(till_book: TillBook) -> None:
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    cashier, supervisor = nrb.staff["cashier"], nrb.staff["supervisor"]
    tills = TillRepository(app, cashier)
    new_loan = make_loan(app, nrb, "Newcomer", principal=2000, disburse=False)
    cash_1000_before = account_balance(owner, "1000", nrb.id)

    session = tills.open(nrb.tills["T1"], FLOAT)
    with owner.connect() as conn:
        open_entry = conn.execute(text("SELECT open_entry_id FROM till_sessions WHERE id = :s"),
                                  {"s": session.id}).scalar_one()
    assert entry_lines(owner, open_entry) == [("1000", FLOAT, 0), ("1050", 0, FLOAT)]

    payments = PaymentRepository(app, cashier)
    cash = [payments.record(loan, amount, TODAY, new_idempotency_key())
            for loan, amount in zip(nrb.loans[:3], (Decimal("1000.00"), Decimal("1500.00"), Decimal("500.00")),
                                    strict=True)]
    mpesa = payments.record(nrb.loans[3], Decimal("800.00"), TODAY, new_idempotency_key(), method="mobile_money",
                            reference="QK7HX2Y9ZA")
    LoanRepository(app, cashier).disburse(new_loan, TODAY, TODAY + timedelta(days=30))
    with owner.connect() as conn:
        payout = conn.execute(text("SELECT id, till_session_id, payment_method FROM transactions "
                                   "WHERE loan_id = :l AND transaction_type = 'disbursement'"), {"l": new_loan}).one()
    assert (payout.till_session_id, payout.payment_method) == (session.id, "cash")
    assert all(r.till_code == "T1" and r.payment_method == "cash" for r in cash)
    assert (mpesa.till_code, mpesa.payment_reference) == (None, "QK7HX2Y9ZA")
    assert transaction_lines(owner, cash[0].transaction_id)[0] == ("1000", Decimal("1000.00"), 0)
    assert transaction_lines(owner, mpesa.transaction_id)[0] == ("1150", Decimal("800.00"), 0)
    assert transaction_lines(owner, payout.id) == [("1200", Decimal("2000.00"), 0), ("1000", 0, Decimal("2000.00"))]

    mine = tills.my_open_session()
    assert mine is not None
    assert (mine.cash_in, mine.cash_out, mine.receipt_count) == (Decimal("3000.00"), Decimal("2000.00"), 3)
    assert mine.expected_cash == Decimal("6000.00")

    # Counted 50 short: waiting for a supervisor, nothing posted.
    with owner.connect() as conn:
        entries_before = conn.execute(text("SELECT count(*) FROM journal_entries")).scalar_one()
    counted = tills.close(session.id, Decimal("5950.00"), "A 50 note was given as change twice",
                         {"1000": "5", "500": "1", "200": "2", "50": "1", "other": "0"})
    assert (counted.status, counted.expected_cash, counted.difference) == (
        "pending_approval", Decimal("6000.00"), Decimal("-50.00"))
    assert counted.closed_at is None and counted.counted_by_name == cashier.full_name
    with owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM journal_entries")).scalar_one() == entries_before
    assert tills.my_open_session() is None

    approved = TillRepository(app, supervisor).approve(session.id)
    assert (approved.status, approved.approved_by_name) == ("closed", supervisor.full_name)
    with owner.connect() as conn:
        close_entry = conn.execute(text("SELECT close_entry_id FROM till_sessions WHERE id = :s"),
                                   {"s": session.id}).scalar_one()
    assert entry_lines(owner, close_entry) == [("1050", Decimal("5950.00"), 0), ("5100", Decimal("50.00"), 0),
                                               ("1000", 0, Decimal("6000.00"))]

    assert trial_balance_difference(owner) == 0
    assert tills.vault_balance() == VAULT - FLOAT + Decimal("5950.00") == account_balance(owner, "1050", nrb.id)
    assert account_balance(owner, "5100", nrb.id) == Decimal("50.00")
    assert account_balance(owner, "1150", nrb.id) == Decimal("800.00")
    # The till's cash, in the books, came back to where it was before the day.
    assert account_balance(owner, "1000", nrb.id) == cash_1000_before

    # The sheet: float in, each receipt in, the payout out, the counted cash back to the vault; its figures are
    # the books' (every 1000 line the session caused), and the difference is the 5100 line.
    sheet = tills.sheet(session.id)
    assert [line.kind for line in sheet.lines] == ["float", "receipt", "receipt", "receipt", "payout", "return"]
    assert [line.receipt_number for line in sheet.lines if line.kind == "receipt"] == [r.receipt_number for r in cash]
    assert sheet.denominations == {"1000": "5", "500": "1", "200": "2", "50": "1", "other": "0"}
    sheet_in = sum((line.cash_in for line in sheet.lines), Decimal(0))
    sheet_out = sum((line.cash_out for line in sheet.lines), Decimal(0))
    with owner.connect() as conn:
        books_dr, books_cr = conn.execute(text(
            "SELECT sum(d.debit), sum(d.credit) FROM journal_entry_details d "
            "JOIN chart_of_accounts a ON a.id = d.account_id AND a.account_code = '1000' "
            "WHERE d.journal_entry_id IN (SELECT open_entry_id FROM till_sessions WHERE id = :s "
            "  UNION ALL SELECT close_entry_id FROM till_sessions WHERE id = :s "
            "  UNION ALL SELECT e.id FROM journal_entries e JOIN transactions t ON t.id = e.transaction_id "
            "            WHERE t.till_session_id = :s)"), {"s": session.id}).one()
    assert sheet_in == books_dr == Decimal("8000.00")
    assert sheet_out - approved.difference == books_cr == Decimal("8000.00")  # type: ignore[operator]
    movements = [line for line in sheet.lines if line.kind != "return"]
    assert sheet.session.expected_cash == sum((line.cash_in - line.cash_out for line in movements), Decimal(0))
    assert sheet.session.counted_cash == sheet.lines[-1].cash_out == Decimal("5950.00")

    # The overview of the day: the session with its figures, and the vault.
    day = TillRepository(app, supervisor).sessions(TODAY)
    assert [(s.id, s.status, s.difference) for s in day] == [(session.id, "closed", Decimal("-50.00"))]
