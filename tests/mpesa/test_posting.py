"""Receiving and posting: matched by loan number, customer number or national ID; each suspense reason; the
overpayment split; apply and refund; the journal balances."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from db.engine import Actor
from db.errors import NotFound, Refused, ValidationError
from db.repositories.mobile_money import MobileMoneyRepository
from tests.groups.book import GroupBook, one
from tests.mpesa.helpers import balance, loan_number, owed, receipt, scalar
from tests.reliability.faultlib import ledger_problems


def test_a_loan_number_as_typed_posts_a_mobile_money_repayment(book: GroupBook, mpesa: Actor, engine: Engine) -> None:
    repo = MobileMoneyRepository(book.app, mpesa)
    loan = book.nrb.loans[0]
    number = loan_number(engine, loan)
    before = owed(engine, loan)
    got = repo.receive(receipt("rktqdm7w6s ", "1000.00", " " + number.lower().replace("-", "- ") + " "))
    assert got.is_new
    posting = repo.post(got.receipt_id)
    assert (posting.status, posting.loan_number, posting.posted, posting.suspense) == (
        "posted", number, Decimal("1000.00"), Decimal("0.00"))
    assert owed(engine, loan) == before - Decimal("1000.00")
    with engine.connect() as conn:
        txn = conn.execute(text("SELECT payment_method, payment_reference, idempotency_key, created_by, branch_id "
                                "FROM transactions WHERE id = :t"), {"t": posting.transaction_id}).one()
        row = conn.execute(text("SELECT receipt_number, status, branch_id, loan_id FROM mobile_money_receipts "
                                "WHERE id = :r"), {"r": got.receipt_id}).one()
    assert tuple(txn) == ("mobile_money", "RKTQDM7W6S", "mpesa:RKTQDM7W6S", mpesa.user_id, book.nrb.id)
    assert tuple(row) == ("RKTQDM7W6S", "posted", book.nrb.id, loan)
    assert balance(engine, "1150") == Decimal("1000.00") - Decimal("0")  # disbursed by bank: 1150 only from M-Pesa
    assert ledger_problems(engine) == []


def test_received_twice_is_one_row_and_posted_twice_is_one_repayment(book: GroupBook, mpesa: Actor,
                                                                      engine: Engine) -> None:
    repo = MobileMoneyRepository(book.app, mpesa)
    number = loan_number(engine, book.nrb.loans[0])
    first = repo.receive(receipt("QWE123", "500.00", number))
    again = repo.receive(receipt("QWE123", "500.00", number, source="callback"))
    assert (first.is_new, again.is_new, again.receipt_id) == (True, False, first.receipt_id)
    one = repo.post(first.receipt_id)
    two = repo.post(first.receipt_id)
    assert one == two and one.status == "posted"
    assert scalar(engine, "SELECT count(*) FROM transactions WHERE payment_reference = 'QWE123'") == 1
    assert scalar(engine, "SELECT count(*) FROM mobile_money_receipts") == 1
    with pytest.raises(ValidationError) as refused:
        repo.receive(receipt("QWE123", "501.00", number))
    assert "received before for 500.00" in refused.value.fields["amount"]


def _customer_number(engine: Engine, loan: int) -> str:
    return str(scalar(engine, "SELECT c.customer_number FROM customers c JOIN loans l ON l.customer_id = c.id "
                              "WHERE l.id = :l", l=loan))


def test_customer_number_and_national_id_match_the_one_active_loan(book: GroupBook, mpesa: Actor,
                                                                    engine: Engine) -> None:
    repo = MobileMoneyRepository(book.app, mpesa)
    loan = book.nrb.loans[1]
    with engine.begin() as conn:
        conn.execute(text("UPDATE customers SET national_id = '12345678' WHERE id = "
                          "(SELECT customer_id FROM loans WHERE id = :l)"), {"l": loan})
    by_customer = repo.post(repo.receive(receipt("CUST1", "100.00", _customer_number(engine, loan).lower())).receipt_id)
    by_id = repo.post(repo.receive(receipt("NATID1", "100.00", "1234 5678")).receipt_id)
    number = loan_number(engine, loan)
    assert (by_customer.status, by_customer.loan_number) == ("posted", number)
    assert (by_id.status, by_id.loan_number) == ("posted", number)


def test_each_suspense_reason(book: GroupBook, mpesa: Actor, engine: Engine) -> None:
    repo = MobileMoneyRepository(book.app, mpesa)
    owner = engine
    loan = book.nrb.loans[0]
    customer = _customer_number(owner, loan)
    # a second active loan for the same customer: the customer number is ambiguous
    with owner.begin() as conn:
        conn.execute(text("UPDATE loans SET customer_id = (SELECT customer_id FROM loans WHERE id = :a) "
                          "WHERE id = :b"), {"a": loan, "b": book.nrb.loans[1]})
    officer = book.nrb.staff["officer"]
    pending = one(book.app, officer,
                  "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
                  "repayment_frequency, application_date, loan_officer_id, created_by) "
                  "VALUES (:c, 1000, 0, 'flat', 4, 'weekly', current_date, :me, :me) RETURNING id",
                  c=book.nrb.customers[0], me=officer.user_id)
    pending_number = loan_number(owner, pending)
    cases = {
        "UNK1": ("50.00", "XYZ 9", 'no loan, customer or national ID "XYZ9"'),
        "AMB1": ("50.00", customer, f"customer {customer} has 2 active loans"),
        "PEND1": ("50.00", pending_number, f"loan {pending_number} is pending"),
        "EMPTY1": ("50.00", "", "no account number given"),
    }
    hq_before = balance(owner, "2100")
    for code, (amount, account, reason) in cases.items():
        posting = repo.post(repo.receive(receipt(code, amount, account)).receipt_id)
        assert (posting.status, posting.posted, posting.suspense, posting.reason) == (
            "suspense", Decimal("0.00"), Decimal(amount), reason), code
    assert balance(owner, "2100") == hq_before - Decimal("200.00")
    # the unmatched one waits at the head office; the ambiguous one in the customer's branch
    with owner.connect() as conn:
        branches = dict(conn.execute(text("SELECT receipt_number, branch_id FROM mobile_money_receipts")).all())
        hq = conn.execute(text("SELECT id FROM branches WHERE parent_id IS NULL")).scalar_one()
    assert branches["UNK1"] == hq and branches["AMB1"] == book.nrb.id
    assert ledger_problems(owner) == []


def test_an_overpayment_pays_the_loan_off_and_the_rest_waits_in_suspense(book: GroupBook, mpesa: Actor,
                                                                          engine: Engine) -> None:
    repo = MobileMoneyRepository(book.app, mpesa)
    loan = book.msa.loans[0]
    number = loan_number(engine, loan)
    left = owed(engine, loan)
    posting = repo.post(repo.receive(receipt("OVER1", str(left + Decimal("1500.00")), number)).receipt_id)
    assert (posting.status, posting.loan_number, posting.posted, posting.suspense, posting.reason) == (
        "suspense", number, left, Decimal("1500.00"), f"1,500.00 more than loan {number} owed (paid off)")
    assert scalar(engine, "SELECT status FROM loans WHERE id = :l", l=loan) == "closed"
    assert balance(engine, "2100") == Decimal("-1500.00")
    assert balance(engine, "1150") == left + Decimal("1500.00")
    # paid again on the closed loan: all of it to suspense
    again = repo.post(repo.receive(receipt("OVER2", "10.00", number)).receipt_id)
    assert (again.status, again.reason) == ("suspense", f"loan {number} is closed")
    assert ledger_problems(engine) == []


def test_a_written_off_loan_takes_a_recovery(book: GroupBook, mpesa: Actor, engine: Engine) -> None:
    loan = book.msa.loans[0]
    sup = book.msa.staff["supervisor"]
    one(book.app, sup, "SELECT write_off_loan(:l, :me, 'Gone')", l=loan, me=sup.user_id)
    repo = MobileMoneyRepository(book.app, mpesa)
    posting = repo.post(repo.receive(receipt("REC1", "300.00", loan_number(engine, loan))).receipt_id)
    assert (posting.status, posting.posted) == ("posted", Decimal("300.00"))
    assert scalar(engine, "SELECT transaction_type FROM transactions WHERE id = :t",
                  t=posting.transaction_id) == "recovery"
    assert ledger_problems(engine) == []


def test_a_payment_dated_before_the_disbursement_waits_with_the_ledgers_words(book: GroupBook, mpesa: Actor,
                                                                                engine: Engine) -> None:
    from datetime import datetime, timedelta
    repo = MobileMoneyRepository(book.app, mpesa)
    number = loan_number(engine, book.nrb.loans[0])
    early = receipt("EARLY1", "100.00", number, paid_at=datetime.now() - timedelta(days=60))
    posting = repo.post(repo.receive(early).receipt_id)
    assert posting.status == "suspense" and posting.reason is not None and "before loan" in posting.reason


def test_apply_and_refund_post_balanced_entries_and_are_audited(book: GroupBook, mpesa: Actor,
                                                                 engine: Engine) -> None:
    repo = MobileMoneyRepository(book.app, mpesa)
    a = repo.receive(receipt("SUSP1", "700.00", "nobody")).receipt_id
    b = repo.receive(receipt("SUSP2", "300.00", "nobody")).receipt_id
    repo.post(a)
    repo.post(b)
    assert balance(engine, "2100") == Decimal("-1000.00") and balance(engine, "1150") == Decimal("1000.00")
    listed = repo.suspense()
    assert [r.receipt_number for r in listed] == ["SUSP1", "SUSP2"]
    assert [r.receipt_number for r in repo.suspense("usp2")] == ["SUSP2"]
    assert [r.receipt_number for r in repo.suspense(after_id=a)] == ["SUSP2"]
    accountant = Actor(**{**book.nrb.staff["accountant"].__dict__})
    hq_accountant = _hq(engine, "accountant")
    resolver = MobileMoneyRepository(book.app, hq_accountant)
    loan = book.nrb.loans[0]
    before = owed(engine, loan)
    with pytest.raises(ValidationError):
        resolver.apply(a, loan, "  ")
    with pytest.raises(Refused):
        repo.apply(a, loan, "a cashier may not")
    txn = resolver.apply(a, loan, "Customer called: her loan number was mistyped")
    assert owed(engine, loan) == before - Decimal("700.00")
    with pytest.raises(Refused, match="applied, not in suspense"):
        resolver.refund(a, "RFD1", "twice")
    resolver.refund(b, "QRS987", "Sent back to the payer, wrong paybill")
    # Net: 2100 back to zero, 1150 holds the 700.00 that went onto the loan.
    assert balance(engine, "2100") == Decimal("0.00")
    assert balance(engine, "1150") == Decimal("700.00")
    assert scalar(engine, "SELECT payment_method FROM transactions WHERE id = :t", t=txn) == "mobile_money"
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT receipt_number, status, resolved_by, resolution_note IS NOT NULL, "
                                 "refund_reference FROM mobile_money_receipts ORDER BY id")).all()
        audited = conn.execute(text("SELECT count(*) FROM audit_logs WHERE table_name = 'mobile_money_receipts' "
                                    "AND changed_by = :u"), {"u": hq_accountant.user_id}).scalar_one()
    assert [tuple(r) for r in rows] == [("SUSP1", "applied", hq_accountant.user_id, True, None),
                                        ("SUSP2", "refunded", hq_accountant.user_id, True, "QRS987")]
    assert audited == 2
    assert accountant.role == "accountant"
    assert ledger_problems(engine) == []
    with pytest.raises(NotFound):
        resolver.refund(999999, "X", "none")


def _hq(engine: Engine, role: str) -> Actor:
    with engine.connect() as conn:
        uid, name, branch = conn.execute(text(
            "SELECT id, username, branch_id FROM users WHERE role = :r AND branch_id = "
            "(SELECT id FROM branches WHERE parent_id IS NULL) ORDER BY id LIMIT 1"), {"r": role}).one()
    return Actor(uid, name, role, name, branch_id=branch)


def test_validation_answers_with_darajas_codes(book: GroupBook, mpesa: Actor, engine: Engine) -> None:
    repo = MobileMoneyRepository(book.app, mpesa)
    number = loan_number(engine, book.nrb.loans[0])
    assert repo.validate(number, Decimal("100")).result_code == "0"
    assert repo.validate("nobody", Decimal("100")).result_code == "C2B00012"
    assert repo.validate(number, Decimal("-1")).result_code == "C2B00013"
    assert repo.validate(number, Decimal("1.001")).result_code == "C2B00013"
    assert scalar(engine, "SELECT count(*) FROM mobile_money_receipts") == 0
