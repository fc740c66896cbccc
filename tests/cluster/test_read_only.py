"""A save that reaches a server accepting no writes (behind HAProxy during a failover, a replica still marked
up) is a lost connection to the person at the counter, not a refusal: the banner shows and the form keeps its key."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, pool, text

from db.engine import make_engine
from db.errors import DatabaseUnavailable
from db.repositories.payments import PaymentRepository
from tests.reliability.faultlib import TODAY, make_active_loans, staff_actors


def test_a_payment_sent_to_a_read_only_server_is_unavailable_and_writes_nothing(db_url):
    admin = create_engine(db_url, poolclass=pool.NullPool)
    actors = staff_actors(admin)
    [loan] = make_active_loans(admin, actors, 1)
    # A standby answers every write with SQLSTATE 25006, as a session with read-only transactions does.
    read_only = make_engine(db_url, connect_args={"options": "-c default_transaction_read_only=on"})
    key = uuid.uuid4().hex
    try:
        with pytest.raises(DatabaseUnavailable, match="accepts no changes right now"):
            PaymentRepository(read_only, actors["cashier"]).record(loan, Decimal("5.00"), TODAY, key)
    finally:
        read_only.dispose()
    with admin.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM transactions WHERE idempotency_key = :k"),
                            {"k": key}).scalar_one() == 0
    writable = make_engine(db_url)
    try:  # the same key, saved again on a server that accepts writes: recorded once
        receipt = PaymentRepository(writable, actors["cashier"]).record(loan, Decimal("5.00"), TODAY, key)
    finally:
        writable.dispose()
    with admin.connect() as conn:
        assert conn.execute(text("SELECT id FROM transactions WHERE idempotency_key = :k"),
                            {"k": key}).scalars().all() == [receipt.transaction_id]
    admin.dispose()
