"""The dispatcher on a real database: claims, retries, failures with reasons, never a message twice."""

from __future__ import annotations

import threading
import time

from sqlalchemy import create_engine, text

from db.sms.dispatcher import Dispatcher, DispatchSummary, RateLimiter
from db.sms.providers import AfricasTalkingProvider, OutboxProvider, OutgoingMessage
from db.sms.settings import sms_settings
from tests.sms.conftest import Reply, at_success, queue, row

API_KEY = "atsk_live_key"


def _config(**kw):
    kw.setdefault("rate_per_second", 0)
    kw.setdefault("timeout_seconds", 2)
    return sms_settings(None, **kw)


def _at(url, key=API_KEY, timeout=2.0):
    return AfricasTalkingProvider(url, "astrofin", key, "ASTROFIN", timeout)


def test_outbox_dispatch_marks_rows_sent_with_segments(engine, tmp_path):
    long_text = "x" * 161
    ids = queue(engine, [("+254712345678", "Hello"), ("+254712345679", long_text),
                         ("+254712345680", "Karibu 😀")])
    provider = OutboxProvider(tmp_path / "outbox.jsonl")
    summary = Dispatcher(engine, provider, _config()).run_once()
    assert (summary.sent, summary.failed, summary.segments) == (3, 0, 4)
    rows = [row(engine, i) for i in ids]
    assert [r["status"] for r in rows] == ["sent"] * 3
    assert [r["provider_message_id"] for r in rows] == [f"outbox-{i}" for i in ids]
    assert [(r["segments"], r["encoding"]) for r in rows] == [(1, "GSM-7"), (2, "GSM-7"), (1, "UCS-2")]
    assert all(r["attempts"] == 1 and r["sent_at"] and r["claimed_at"] is None for r in rows)
    assert len((tmp_path / "outbox.jsonl").read_text().splitlines()) == 3


def test_limit_sends_at_most_n(engine, tmp_path):
    queue(engine, [("+254712345678", f"m{i}") for i in range(5)])
    summary = Dispatcher(engine, OutboxProvider(tmp_path / "o.jsonl"), _config(batch_size=2)).run_once(limit=3)
    assert summary.sent == 3
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sms_histories WHERE status = 'queued'")).scalar() == 2


def test_wrong_key_unreachable_gateway_and_invalid_number_leave_reasons_and_the_rest_go_out(
        engine, gateway, closed_port):
    def answer(seen):
        if seen.headers.get("apikey") != API_KEY:
            return Reply(401, "The supplied authentication is invalid", content_type="text/plain")
        return at_success(seen)

    gateway.responder = answer
    ids = queue(engine, [("+254712345678", "first"), ("0712345678", "bad number"), ("+254712345679", "third")])
    summary = Dispatcher(engine, _at(gateway.url), _config()).run_once()
    assert (summary.sent, summary.failed) == (2, 1)
    bad = row(engine, ids[1])
    assert bad["status"] == "failed" and bad["attempts"] == 0
    assert "'0712345678' is not in international E.164 form" in bad["error_message"]
    assert gateway.per_message("message") == {"first": 1, "third": 1}  # no request for the bad number

    # A wrong API key: each message is refused, with the reason on its row; the run goes on to the end.
    more = queue(engine, [("+254712345678", "fourth"), ("+254712345679", "fifth")])
    summary = Dispatcher(engine, _at(gateway.url, key="wrong-key"), _config()).run_once()
    assert (summary.sent, summary.failed) == (0, 2)
    for message_id in more:
        failed = row(engine, message_id)
        assert failed["status"] == "failed" and failed["attempts"] == 1
        assert "refused the credentials (HTTP 401" in failed["error_message"]
        assert "wrong-key" not in failed["error_message"]

    # An unreachable gateway: nothing went out, so the rows wait for a retry, with the reason.
    waiting = queue(engine, [("+254712345678", "sixth"), ("+254712345679", "seventh")])
    summary = Dispatcher(engine, _at(f"http://127.0.0.1:{closed_port}"), _config()).run_once()
    assert (summary.sent, summary.retry_later, summary.failed) == (0, 2, 0)
    for message_id in waiting:
        later = row(engine, message_id)
        assert later["status"] == "queued" and later["attempts"] == 1 and later["next_attempt_at"]
        assert "attempt 1 of 5 failed, retrying in 30 s: could not reach the gateway" in later["error_message"]
        assert "connection refused" in later["error_message"]


def test_retry_with_backoff_then_success(engine, gateway):
    calls = []

    def flaky(seen):
        calls.append(seen)
        return Reply(503, "down", content_type="text/plain") if len(calls) == 1 else at_success(seen)

    gateway.responder = flaky
    [message_id] = queue(engine, [("+254712345678", "hello")])
    dispatcher = Dispatcher(engine, _at(gateway.url), _config(retry_backoff_seconds=60))
    assert dispatcher.run_once().retry_later == 1
    first = row(engine, message_id)
    assert first["status"] == "queued" and "HTTP 503" in first["error_message"]
    with engine.connect() as conn:
        wait = conn.execute(text("SELECT extract(epoch FROM next_attempt_at - now()) FROM sms_histories "
                                 "WHERE id = :id"), {"id": message_id}).scalar()
    assert 50 < wait <= 60
    assert dispatcher.run_once().claimed == 0  # not due yet
    with engine.begin() as conn:
        conn.execute(text("UPDATE sms_histories SET next_attempt_at = now() - interval '1 second'"))
    assert dispatcher.run_once().sent == 1
    done = row(engine, message_id)
    assert done["status"] == "sent" and done["attempts"] == 2 and done["error_message"] is None
    assert done["next_attempt_at"] is None


def test_failed_after_max_attempts(engine, gateway):
    gateway.responder = lambda seen: Reply(500, "boom", content_type="text/plain")
    [message_id] = queue(engine, [("+254712345678", "hello")])
    summary = Dispatcher(engine, _at(gateway.url), _config(max_attempts=3, retry_backoff_seconds=0)).run_once()
    assert summary.failed == 1 and len(gateway.requests) == 3
    failed = row(engine, message_id)
    assert failed["status"] == "failed" and failed["attempts"] == 3
    assert failed["error_message"].startswith("gave up after 3 attempts: Africa's Talking answered HTTP 500")


def test_4xx_is_not_retried(engine, gateway):
    gateway.responder = lambda seen: Reply(400, "Invalid message", content_type="text/plain")
    [message_id] = queue(engine, [("+254712345678", "hello")])
    Dispatcher(engine, _at(gateway.url), _config(retry_backoff_seconds=0)).run_once()
    assert len(gateway.requests) == 1
    failed = row(engine, message_id)
    assert failed["status"] == "failed" and "HTTP 400" in failed["error_message"] and failed["attempts"] == 1


def test_timeout_is_retried_unless_switched_off(engine, gateway):
    gateway.responder = lambda seen: Reply(201, {}, delay=1.0)
    first, second = queue(engine, [("+254712345678", "one"), ("+254712345679", "two")])
    Dispatcher(engine, _at(gateway.url, timeout=0.2), _config(), ).run_once(limit=1)
    assert row(engine, first)["status"] == "queued"
    assert "did not answer within 0.2 s" in row(engine, first)["error_message"]
    strict = _config(retry_after_timeout=False)
    Dispatcher(engine, _at(gateway.url, timeout=0.2), strict).run_once(limit=1)
    failed = row(engine, second)
    assert failed["status"] == "failed"
    assert failed["error_message"].startswith("delivery unknown: the gateway at 127.0.0.1")


def test_malformed_answer_fails_as_delivery_unknown_without_retry(engine, gateway):
    gateway.responder = lambda seen: Reply(200, "<html>maintenance</html>", content_type="text/html")
    [message_id] = queue(engine, [("+254712345678", "hello")])
    Dispatcher(engine, _at(gateway.url), _config(retry_backoff_seconds=0)).run_once()
    assert len(gateway.requests) == 1
    failed = row(engine, message_id)
    assert failed["status"] == "failed" and failed["error_message"].startswith("delivery unknown")


def test_a_dispatcher_killed_between_sending_and_recording_is_not_resent(engine, gateway):
    gateway.responder = at_success
    ids = queue(engine, [("+254712345678", f"message {i}") for i in range(4)])
    provider = _at(gateway.url)
    config = _config(claim_lease_seconds=60)

    # The first dispatcher claims a batch, sends the first message, and dies before recording anything.
    dead = Dispatcher(engine, provider, config, name="branch-host:4242:dead")
    batch = dead.claim(4)
    assert [m.id for m in batch] == ids
    assert dead._mark_sending(batch[0]) == 1
    assert provider.send(OutgoingMessage(batch[0].id, batch[0].phone_number, batch[0].message)).ok

    # Restarted at once: the claims are still within their lease, so nothing of them is touched.
    fresh = Dispatcher(engine, provider, config, name="branch-host:4343:new")
    assert fresh.run_once().claimed == 0
    assert gateway.per_message("message") == {"message 0": 1}

    # After the lease (simulated by moving the claim back in time), the restart sorts them out.
    with engine.begin() as conn:
        conn.execute(text("UPDATE sms_histories SET claimed_at = claimed_at - interval '2 minutes', "
                          "sending_at = sending_at - interval '2 minutes' WHERE claimed_at IS NOT NULL"))
    summary = fresh.run_once()
    assert (summary.unknown, summary.released, summary.sent) == (1, 3, 3)
    assert gateway.per_message("message") == {f"message {i}": 1 for i in range(4)}
    unknown = row(engine, ids[0])
    assert unknown["status"] == "failed" and unknown["attempts"] == 1
    assert unknown["error_message"].startswith("delivery unknown: the dispatcher branch-host:4242:dead stopped "
                                               "after it began sending this message at ")
    assert "check the gateway before retrying" in unknown["error_message"]
    assert [row(engine, i)["status"] for i in ids[1:]] == ["sent"] * 3

    # Running again sends nothing more.
    assert fresh.run_once().claimed == 0
    assert len(gateway.requests) == 4


def test_a_slow_dispatcher_still_records_the_truth_after_its_claim_was_swept(engine, gateway):
    gateway.responder = at_success
    [message_id] = queue(engine, [("+254712345678", "slow")])
    provider = _at(gateway.url)
    config = _config(claim_lease_seconds=60)
    slow = Dispatcher(engine, provider, config, name="slow")
    [message] = slow.claim(1)
    attempts = slow._mark_sending(message)
    result = provider.send(OutgoingMessage(message.id, message.phone_number, message.message))
    with engine.begin() as conn:
        conn.execute(text("UPDATE sms_histories SET claimed_at = claimed_at - interval '2 minutes', "
                          "sending_at = sending_at - interval '2 minutes'"))
    Dispatcher(engine, provider, config, name="other").run_once()
    assert row(engine, message_id)["error_message"].startswith("delivery unknown")
    slow._apply(message, attempts, result, DispatchSummary())
    recorded = row(engine, message_id)
    assert recorded["status"] == "sent" and recorded["provider_message_id"] == result.provider_message_id
    assert len(gateway.requests) == 1


def test_a_lapsed_claim_taken_by_another_is_not_sent_by_the_first(engine, gateway):
    gateway.responder = at_success
    [message_id] = queue(engine, [("+254712345678", "once")])
    provider = _at(gateway.url)
    config = _config(claim_lease_seconds=60)
    first = Dispatcher(engine, provider, config, name="first")
    [message] = first.claim(1)
    with engine.begin() as conn:
        conn.execute(text("UPDATE sms_histories SET claimed_at = claimed_at - interval '2 minutes'"))
    assert Dispatcher(engine, provider, config, name="second").run_once().sent == 1
    assert first._mark_sending(message) is None  # no longer its claim: it must not send
    assert gateway.per_message("message") == {"once": 1}
    assert row(engine, message_id)["status"] == "sent"


def test_two_dispatchers_send_a_thousand_messages_exactly_once(db_url, engine, gateway):
    gateway.responder = at_success
    ids = queue(engine, [("+2547" + f"{i:08d}", f"message {i}") for i in range(1000)])
    config = _config(batch_size=10)
    summaries = {}
    errors = []

    def run(name):
        eng = create_engine(db_url, pool_size=1)  # each dispatcher its own connection
        try:
            summaries[name] = Dispatcher(eng, _at(gateway.url), config, name=name).run_once()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("one", "two")]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    elapsed = time.monotonic() - started
    assert not errors
    counts = gateway.per_message("message")
    assert len(gateway.requests) == 1000
    assert set(counts.values()) == {1} and len(counts) == 1000
    assert summaries["one"].sent + summaries["two"].sent == 1000
    assert summaries["one"].sent > 0 and summaries["two"].sent > 0, summaries
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT status, count(*) FROM sms_histories WHERE id = ANY(:ids) "
                                        "GROUP BY status"), {"ids": ids}).all())
        distinct_ids = conn.execute(text("SELECT count(DISTINCT provider_message_id) FROM sms_histories")).scalar()
    assert states == {"sent": 1000} and distinct_ids == 1000
    print(f"two dispatchers sent 1000 messages in {elapsed:.1f} s "
          f"({summaries['one'].sent} + {summaries['two'].sent})")


def test_rate_limit_spaces_requests():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.wait()
    assert slept == [0.25] * 4
    unlimited = RateLimiter(0, clock=lambda: now[0], sleep=sleep)
    unlimited.wait()
    unlimited.wait()
    assert len(slept) == 4


def test_rate_limit_holds_against_the_gateway(engine, gateway):
    gateway.responder = at_success
    queue(engine, [("+254712345678", f"m{i}") for i in range(6)])
    started = time.monotonic()
    Dispatcher(engine, _at(gateway.url), _config(rate_per_second=10)).run_once()
    assert time.monotonic() - started >= 0.45


def test_loop_runs_until_stopped(engine, tmp_path):
    queue(engine, [("+254712345678", "loop")])
    stop = threading.Event()
    passes = []

    def on_pass(summary):
        passes.append(summary)
        if len(passes) == 1:
            queue(engine, [("+254712345679", "later")])
        else:
            stop.set()

    total = Dispatcher(engine, OutboxProvider(tmp_path / "o.jsonl"), _config()).run_forever(0.05, stop, on_pass)
    assert total.sent == 2 and len(passes) >= 2
