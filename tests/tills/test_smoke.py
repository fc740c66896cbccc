"""A till's short day through the repositories: open with a float, a cash and an M-Pesa repayment, an exact count."""

from __future__ import annotations

from decimal import Decimal

from db.repositories.payments import PaymentRepository, new_idempotency_key
from db.repositories.tills import TillRepository
from tests.tills.book import TODAY, VAULT, TillBook


def test_open_pay_and_close_exactly(till_book: TillBook) -> None:
    nrb, app = till_book.nrb, till_book.app
    cashier = nrb.staff["cashier"]
    tills = TillRepository(app, cashier)
    assert tills.tills_required()
    assert [t.code for t in tills.tills()] == ["T1", "T2"]
    assert tills.vault_balance() == VAULT
    assert tills.my_open_session() is None

    opened = tills.open(nrb.tills["T1"], Decimal("5000.00"))
    assert (opened.status, opened.opening_float, opened.expected_cash) == ("open", Decimal("5000.00"),
                                                                            Decimal("5000.00"))
    assert tills.vault_balance() == VAULT - Decimal("5000.00")
    assert tills.tills()[0].held_by == cashier.full_name

    payments = PaymentRepository(app, cashier)
    cash = payments.record(nrb.loans[0], Decimal("1000.00"), TODAY, new_idempotency_key())
    mpesa = payments.record(nrb.loans[1], Decimal("700.00"), TODAY, new_idempotency_key(), method="mobile_money",
                            reference="QK12ABC345")
    assert (cash.payment_method, cash.payment_reference, cash.till_code) == ("cash", None, "T1")
    assert (mpesa.payment_method, mpesa.payment_reference, mpesa.till_code) == ("mobile_money", "QK12ABC345", None)

    mine = tills.my_open_session()
    assert mine is not None
    assert (mine.cash_in, mine.cash_out, mine.expected_cash, mine.receipt_count) == (
        Decimal("1000.00"), Decimal("0.00"), Decimal("6000.00"), 1)
    closed = tills.close(mine.id, Decimal("6000.00"), None, {"1000": "6"})
    assert (closed.status, closed.difference, closed.counted_by_name) == ("closed", Decimal("0.00"),
                                                                          cashier.full_name)
    assert tills.vault_balance() == VAULT + Decimal("1000.00")
    assert tills.my_open_session() is None
    sheet = tills.sheet(mine.id)
    assert [line.kind for line in sheet.lines] == ["float", "receipt", "return"]
    assert sheet.denominations == {"1000": "6"}
