"""Daraja's callbacks through the app object: validation, confirmation posted once however often and however
simultaneously it arrives, and the receipt left waiting by a stopped service posted when it comes back."""

from __future__ import annotations

import logging
import threading
from decimal import Decimal

from sqlalchemy import create_engine
from starlette.testclient import TestClient

from db.engine import Actor
from db.mpesa.daraja import RepositoryInbox, create_app, parse_callback
from db.mpesa.daraja_settings import DarajaSettings
from db.repositories.mobile_money import MobileMoneyReceipt, MobileMoneyRepository
from tests.mpesa_service.conftest import TOKEN, body, receipts, repayments, wait_posted

CONFIRMATION = f"/mpesa/{TOKEN}/confirmation"
VALIDATION = f"/mpesa/{TOKEN}/validation"
ACCEPTED = {"ResultCode": "0", "ResultDesc": "Accepted"}


def test_validation_accepts_a_loan_and_rejects_what_cannot_be_matched_or_paid(make_app, loan, engine):
    with TestClient(make_app()) as client:
        accepted = client.post(VALIDATION, json=body(account=loan.loan_number))
        unknown = client.post(VALIDATION, json=body(account="NO-SUCH-LOAN"))
        negative = client.post(VALIDATION, json=body(account=loan.loan_number, amount="-5.00"))
        malformed = client.post(VALIDATION, json=body(account=loan.loan_number, TransTime="yesterday"))
    assert (accepted.status_code, accepted.json()) == (200, ACCEPTED)
    # Daraja reads a rejection's code from a 200 only.
    assert unknown.status_code == 200 and unknown.json()["ResultCode"] == "C2B00012"
    assert negative.status_code == 200 and negative.json()["ResultCode"] == "C2B00013"
    assert malformed.status_code == 200 and malformed.json()["ResultCode"] == "C2B00016"
    assert receipts(engine) == []  # validation writes nothing


def test_a_confirmation_is_answered_then_posted_once_on_the_loan(make_app, loan, engine, log_lines):
    with TestClient(make_app()) as client:
        answer = client.post(CONFIRMATION, json=body(account=loan.loan_number, amount="1500.00"))
        assert (answer.status_code, answer.json()) == (200, ACCEPTED)
        [row] = wait_posted(engine)
    assert (row.receipt_number, row.status, row.source) == ("RKTQDM7W6S", "posted", "callback")
    assert row.posted_amount == Decimal("1500.00") and row.transaction_id is not None
    assert repayments(engine, "RKTQDM7W6S") == 1
    assert any("RKTQDM7W6S" in line and "receipt" in line for line in log_lines.lines)
    assert any(f"posted on {loan.loan_number}" in line for line in log_lines.lines)


def test_an_unmatched_confirmation_waits_in_suspense(make_app, loan, engine):
    with TestClient(make_app()) as client:
        assert client.post(CONFIRMATION, json=body(account="ZZ-404", amount="700.00")).status_code == 200
        [row] = wait_posted(engine)
    assert row.status == "suspense" and row.suspense_amount == Decimal("700.00")


def test_the_same_confirmation_twice_is_one_receipt_and_one_repayment(make_app, loan, engine, log_lines):
    with TestClient(make_app()) as client:
        first = client.post(CONFIRMATION, json=body(account=loan.loan_number))
        second = client.post(CONFIRMATION, json=body(account=loan.loan_number))
        assert first.json() == second.json() == ACCEPTED
        rows = wait_posted(engine)
    with TestClient(make_app()) as client:  # and again a day later, to a restarted service
        assert client.post(CONFIRMATION, json=body(account=loan.loan_number)).json() == ACCEPTED
        rows = wait_posted(engine)
    assert [(r.receipt_number, r.status) for r in rows] == [("RKTQDM7W6S", "posted")]
    assert repayments(engine, "RKTQDM7W6S") == 1
    assert sum("(already received)" in line for line in log_lines.lines) == 2


def test_the_same_confirmation_at_the_same_moment_on_two_connections_is_posted_once(make_app, loan, engine):
    """Two services (two apps, each with its own connections) given the same callback at once, many times over."""
    numbers = [f"RKT{n:07d}" for n in range(8)]
    answers: list[int] = []
    with TestClient(make_app()) as one, TestClient(make_app()) as two:
        for number in numbers:
            start = threading.Barrier(2)

            def deliver(client: TestClient, number: str = number, start: threading.Barrier = start) -> None:
                start.wait()
                answers.append(client.post(CONFIRMATION, json=body(receipt=number, account=loan.loan_number,
                                                                   amount="100.00")).status_code)

            threads = [threading.Thread(target=deliver, args=(client,)) for client in (one, two)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        rows = wait_posted(engine)
    assert answers == [200] * 2 * len(numbers)
    assert sorted(r.receipt_number for r in rows) == numbers
    assert {r.status for r in rows} == {"posted"}
    assert [repayments(engine, number) for number in numbers] == [1] * len(numbers)


def test_a_receipt_left_waiting_by_a_stopped_service_is_posted_at_start_once(service_engine, mpesa_actor, make_app,
                                                                             loan, engine):
    # The service wrote the inbox row and was killed before it posted: the row waits, 'received'.
    callback = parse_callback(body(account=loan.loan_number))
    MobileMoneyRepository(service_engine, mpesa_actor).receive(MobileMoneyReceipt(
        callback.receipt_number, callback.paid_at, callback.amount, callback.payer_phone, callback.payer_name,
        callback.account_reference, callback.short_code, callback.raw, "callback"))
    assert [r.status for r in receipts(engine)] == ["received"]
    assert repayments(engine, "RKTQDM7W6S") == 0
    app = make_app()
    with TestClient(app) as client:
        client.portal.call(app.state.service.recovered.wait)  # type: ignore[union-attr]
        assert [r.status for r in receipts(engine)] == ["posted"]
    app = make_app()
    with TestClient(app) as client:  # started once more: nothing to do
        client.portal.call(app.state.service.recovered.wait)  # type: ignore[union-attr]
    assert repayments(engine, "RKTQDM7W6S") == 1


def test_a_database_that_is_down_is_answered_503_so_daraja_retries(db_url, mpesa_actor: Actor, log_lines, engine):
    nowhere = create_engine(db_url.set(query={**db_url.query, "port": "1"}), pool_size=2)
    settings = DarajaSettings(callback_token=TOKEN, allowed_sources=(), sweep_seconds=0)
    app = create_app(settings, RepositoryInbox(nowhere, mpesa_actor), logging.getLogger("tests.mpesa_service"))
    with TestClient(app) as client:
        confirmation = client.post(CONFIRMATION, json=body())
        validation = client.post(VALIDATION, json=body())
    # Served without its lifespan, nothing would write the inbox: 503 rather than a request that waits for ever.
    unstarted = TestClient(create_app(settings, RepositoryInbox(nowhere, mpesa_actor),
                                      logging.getLogger("tests.mpesa_service"))).post(CONFIRMATION, json=body())
    nowhere.dispose()
    assert confirmation.status_code == validation.status_code == unstarted.status_code == 503
    assert confirmation.headers["retry-after"] == "30"
    assert receipts(engine) == []
    assert any("answered 503" in line for line in log_lines.lines)
