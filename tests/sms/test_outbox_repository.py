"""The admin's outbox repository: by status (keyset paged), counts, and retrying failed messages."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from db.errors import Refused, ValidationError
from db.repositories.sms_outbox import SmsOutboxRepository
from db.sms.dispatcher import Dispatcher
from db.sms.providers import OutboxProvider
from db.sms.settings import sms_settings
from tests.repositories.conftest import actor_for
from tests.sms.conftest import queue, row


@pytest.fixture
def outbox(engine):
    ids = queue(engine, [("+254712345678", f"m{i}") for i in range(7)])
    with engine.begin() as conn:
        conn.execute(text("UPDATE sms_histories SET status = 'failed', error_message = 'Twilio error 21211', "
                          "attempts = 1 WHERE id = ANY(:ids)"), {"ids": ids[:3]})
        conn.execute(text("UPDATE sms_histories SET status = 'sent' WHERE id = :id"), {"id": ids[3]})
    return ids


def test_counts_every_status(engine, outbox):
    repo = SmsOutboxRepository(engine, actor_for(engine, "admin"))
    assert repo.counts() == {"queued": 3, "sent": 1, "delivered": 0, "failed": 3}


def test_list_by_status_is_keyset_paged_newest_first(engine, outbox):
    repo = SmsOutboxRepository(engine, actor_for(engine, "admin"))
    first = repo.list("failed", limit=2)
    assert [m.id for m in first.rows] == [outbox[2], outbox[1]] and first.next_before_id == outbox[1]
    second = repo.list("failed", before_id=first.next_before_id, limit=2)
    assert [m.id for m in second.rows] == [outbox[0]] and second.next_before_id is None
    assert second.rows[0].error_message == "Twilio error 21211"
    everything = repo.list(limit=100)
    assert [m.id for m in everything.rows] == sorted(outbox, reverse=True)
    with pytest.raises(ValidationError, match="choose one of"):
        repo.list("lost")


def test_retry_requeues_failed_messages_only(engine, outbox, tmp_path):
    repo = SmsOutboxRepository(engine, actor_for(engine, "admin"))
    assert repo.retry([outbox[0], outbox[1], outbox[3], outbox[4]]) == 2  # only the failed ones
    again = row(engine, outbox[0])
    assert again["status"] == "queued" and again["error_message"] is None and again["attempts"] == 0
    assert row(engine, outbox[3])["status"] == "sent"
    assert repo.retry([]) == 0
    summary = Dispatcher(engine, OutboxProvider(tmp_path / "o.jsonl"), sms_settings(None, rate_per_second=0)) \
        .run_once()
    assert summary.sent == 5  # three queued from the start and the two requeued
    with engine.connect() as conn:
        changed_by = conn.execute(text("SELECT changed_by FROM audit_logs WHERE table_name = 'sms_histories' "
                                       "AND record_id = :id AND old_values->>'status' = 'failed' "
                                       "AND new_values->>'status' = 'queued'"), {"id": outbox[0]}).scalars().all()
    assert changed_by == [repo.actor.user_id]  # the audit log says which admin requeued it


def test_only_an_admin_may_retry(engine, outbox):
    for username in ("supervisor", "officer"):
        repo = SmsOutboxRepository(engine, actor_for(engine, username))
        with pytest.raises(Refused):
            repo.retry([outbox[0]])
    assert row(engine, outbox[0])["status"] == "failed"


def test_loan_officers_may_read_the_outbox(engine, outbox):
    repo = SmsOutboxRepository(engine, actor_for(engine, "officer"))
    assert repo.counts()["failed"] == 3


def test_nobody_retries_under_another_name(engine, outbox):
    from db.engine import unit_of_work

    admin = actor_for(engine, "admin")
    other = actor_for(engine, "supervisor")
    with pytest.raises(Exception, match="under your own name"), unit_of_work(engine, admin) as session:
        session.execute(text("SELECT requeue_failed_sms(ARRAY[CAST(:id AS bigint)], :by)"),
                        {"id": outbox[0], "by": other.user_id})
