"""The Patroni cluster of bench/cluster.py under fire: the primary's postmaster SIGKILLed while four counters pay.

A short campaign (two kills, the first killed node back as a streaming replica before the second), then one more
kill with an engine whose pooled connection was on the primary: its next save lands on the new primary. The full
campaign is `uv run python -m bench.failover --kills 10` (docs/scaling.md, "The cluster, measured").
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool, text

from bench.cluster import Cluster, down, missing_tools, up
from bench.failover import campaign
from db.engine import make_engine
from db.errors import DatabaseUnavailable
from db.repositories.payments import PaymentRepository
from tests.reliability.faultlib import TODAY, make_active_loans, staff_actors


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    problem = missing_tools()
    if problem:
        pytest.skip(f"no Patroni cluster on this machine: {problem}")
    root = Path(tempfile.mkdtemp(prefix="astrofin-cluster-"))
    root.chmod(0o755)
    try:
        # fsync off: a SIGKILL keeps the page cache, so what the test checks is the same (docs/reliability.md).
        yield up(root, fsync=False)
    finally:
        down(root)
        shutil.rmtree(root, ignore_errors=True)


def test_killing_the_primary_loses_no_acknowledged_payment_and_the_next_save_finds_the_new_primary(
        cluster: Cluster) -> None:
    outcome = campaign(cluster, 2, settle=(0.3, 0.8), rejoin_last=False)
    assert outcome.problems == []
    assert outcome.kills == 2
    assert outcome.lost == [], "acknowledged payments are missing on the surviving primary"
    assert outcome.doubled == [], "a retried key was recorded twice"
    assert outcome.unasked == []
    assert outcome.ledger == []
    assert outcome.payments > 0 and outcome.retried > 0  # the kills did cut calls off, and their retries landed
    assert len(set(outcome.leaders)) >= 2

    # An engine whose pool holds a connection to the primary; the primary dies; the next save goes to the new one.
    url = cluster.url()
    admin = create_engine(url, poolclass=pool.NullPool)
    actors = staff_actors(admin)
    [loan] = make_active_loans(admin, actors, 1)
    admin.dispose()
    engine = make_engine(url)
    repo = PaymentRepository(engine, actors["cashier"])
    try:
        repo.record(loan, Decimal("5.00"), TODAY, uuid.uuid4().hex)
        old = cluster.wait_healthy(every_member=False)  # a synchronous standby to fail over to
        with engine.connect() as conn:
            assert conn.execute(text("SELECT inet_server_port()")).scalar_one() == old.pg_port
        cluster.kill_postmaster(old)
        new = cluster.wait_leader(60, not_named=old.name)
        key, unavailable = uuid.uuid4().hex, 0
        deadline = time.monotonic() + 60
        while True:  # the form keeps its key and the cashier presses Save again while the banner shows
            try:
                receipt = repo.record(loan, Decimal("5.00"), TODAY, key)
                break
            except DatabaseUnavailable:
                unavailable += 1
                assert time.monotonic() < deadline, "no primary took the save within a minute"
                time.sleep(0.1)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT inet_server_port()")).scalar_one() == new.pg_port
    finally:
        engine.dispose()
    on_new = create_engine(cluster.node_url(new, "astrofinance"), poolclass=pool.NullPool)
    try:
        with on_new.connect() as conn:
            assert not conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one()
            found = conn.execute(text("SELECT id FROM transactions WHERE idempotency_key = :key"), {"key": key}).all()
    finally:
        on_new.dispose()
    assert [row.id for row in found] == [receipt.transaction_id]
