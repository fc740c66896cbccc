"""The callback service against a real database: the app object under Starlette's TestClient, connecting as the
application's login role and acting as the service's staff member (a head-office cashier named "mpesa")."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL
from starlette.applications import Starlette

from db.engine import Actor
from db.mpesa.daraja import RepositoryInbox, create_app, service_actor
from db.mpesa.daraja_settings import DarajaSettings
from db.repositories.loans import LoanDetail
from tests.repositories.conftest import actor_for, make_active_loan

TOKEN = "test-callback-token-0123456789"
PAID_AT = datetime.now().strftime("%Y%m%d%H%M%S")


class Lines(logging.Handler):
    """The service's log lines, kept for the test to read."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def log_lines() -> Iterator[Lines]:
    logger = logging.getLogger("tests.mpesa_service")
    handler = Lines()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture
def service_engine(db_url: URL) -> Iterator[Engine]:
    """The connection the service makes: the login role astrofin_app (trust on the test socket)."""
    engine = create_engine(db_url.set(username="astrofin_app"), pool_size=12)
    yield engine
    engine.dispose()


@pytest.fixture
def mpesa_actor(engine: Engine) -> Actor:
    """The service's staff member, created as `astrofin users add mpesa --role cashier --branch HQ` does."""
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (username, password_hash, full_name, role, branch_id) "
            "SELECT 'mpesa', '$argon2id$v=19$m=65536,t=3,p=4$c2VydmljZQ$c2VydmljZQ', 'M-Pesa service', 'cashier', id "
            "FROM branches WHERE code = 'HQ' ON CONFLICT DO NOTHING"))
    return service_actor(engine, "mpesa")


@pytest.fixture
def make_app(service_engine: Engine, mpesa_actor: Actor, log_lines: Lines) -> Callable[..., Starlette]:
    """A fresh app (as a fresh service process would be) over the test database; settings may be overridden."""

    def make(**overrides: Any) -> Starlette:
        values: dict[str, Any] = {"callback_token": TOKEN, "allowed_sources": (), "sweep_seconds": 0}
        values.update(overrides)
        return create_app(DarajaSettings(**values), RepositoryInbox(service_engine, mpesa_actor),
                          logging.getLogger("tests.mpesa_service"))

    return make


@pytest.fixture
def loan(engine: Engine) -> LoanDetail:
    actors = {name: actor_for(engine, name) for name in ("officer", "supervisor", "cashier")}
    return make_active_loan(engine, actors, "Wanjiku", "Kamau", days_ago=40)


def body(receipt: str = "RKTQDM7W6S", amount: Any = "1500.00", account: str = "L-000001", **fields: Any) -> dict:
    """A C2B v2 confirmation (or validation) body as Daraja sends it."""
    data = {
        "TransactionType": "Pay Bill", "TransID": receipt, "TransTime": PAID_AT, "TransAmount": amount,
        "BusinessShortCode": "600984", "BillRefNumber": account, "InvoiceNumber": "", "OrgAccountBalance": "",
        "ThirdPartyTransID": "", "MSISDN": "2547 ***** 126", "FirstName": "WANJIKU", "MiddleName": "",
        "LastName": "KAMAU",
    }
    data.update(fields)
    return data


def receipts(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT id, receipt_number, status, amount, transaction_id, posted_amount, suspense_amount, source "
            "FROM mobile_money_receipts ORDER BY id")))


def repayments(engine: Engine, receipt: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM transactions WHERE payment_method = 'mobile_money' "
                                     "AND payment_reference = :r"), {"r": receipt}).scalar_one())


def wait_posted(engine: Engine, seconds: float = 15.0) -> list[Any]:
    """The inbox once no receipt waits to be posted (the posters work after the answer)."""
    deadline = time.monotonic() + seconds
    while True:
        rows = receipts(engine)
        if all(row.status != "received" for row in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)

