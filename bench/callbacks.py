"""Daraja confirmation callbacks against the seeded book: `uv run python -m bench --only callbacks`.

`astrofin mpesa serve` runs as its own process on a free port, configured as an operator would (the token in the
environment, every source allowed: the benchmark calls from this machine), acting as a head-office cashier
`mpesa`. CALLBACK_CLIENTS clients, each on a keep-alive connection of its own (plain asyncio streams, so that the
client costs little of the machine's CPU), send confirmations back to back: each sends the next as soon as the last
is answered, so CALLBACK_CLIENTS callbacks are always in flight. Each pays a random active or defaulted loan of the
book by its loan number (one in twenty references matches nothing and goes to suspense). The latency of each
answer is measured at the client, from the first byte sent to the last byte of the answer. The first
CALLBACK_WARMUP are not counted; then CALLBACK_ALONE are sent by one client, one after another, for comparison.
Then: how long until every receipt is posted, and that each was posted once; and validations, 50 at a time.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

CALLBACK_CLIENTS = 50
CALLBACKS = 3_000
CALLBACK_WARMUP = 200
CALLBACK_ALONE = 300


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_user(engine: Engine) -> None:
    """The service's staff member: a head-office cashier named mpesa (as `astrofin users add` would make it)."""
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (username, password_hash, full_name, role, branch_id) "
            "SELECT 'mpesa', '$argon2id$v=19$m=65536,t=3,p=4$YmVuY2g$YmVuY2g', 'M-Pesa service', 'cashier', id "
            "FROM branches WHERE code = 'HQ' ON CONFLICT DO NOTHING"))


def _bodies(engine: Engine, count: int, rng: random.Random) -> list[bytes]:
    with engine.connect() as conn:
        loans = list(conn.execute(text(
            "SELECT loan_number FROM loans WHERE status IN ('active', 'defaulted') ORDER BY random() LIMIT :n"),
            {"n": count}).scalars())
    paid_at = datetime.now().strftime("%Y%m%d%H%M%S")
    run = secrets.token_hex(2).upper()
    out = []
    for n in range(count):
        account = loans[n % len(loans)] if loans and rng.random() >= 0.05 else f"UNKNOWN-{n}"
        out.append(json.dumps({
            "TransactionType": "Pay Bill", "TransID": f"B{run}{n:07d}", "TransTime": paid_at,
            "TransAmount": f"{rng.choice((50, 100, 250, 500, 1000, 1500))}.00", "BusinessShortCode": "600984",
            "BillRefNumber": account, "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
            "MSISDN": "2547 ***** 126", "FirstName": "BENCH", "MiddleName": "", "LastName": "PAYER",
        }).encode())
    return out


async def _client(port: int, path: str, bodies: list[bytes], latencies: list[float], failures: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for body in bodies:
            request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {len(body)}\r\n\r\n").encode() + body
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            answer = await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            if not head.startswith(b"HTTP/1.1 200") or b'"ResultCode":"0"' not in answer.replace(b" ", b""):
                failures.append(head.split(b"\r\n", 1)[0].decode() + " " + answer.decode(errors="replace")[:200])
    finally:
        writer.close()


async def _fire(port: int, path: str, bodies: list[bytes], clients: int) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    failures: list[str] = []
    shares = [bodies[n::clients] for n in range(clients)]
    started = time.perf_counter()
    await asyncio.gather(*(_client(port, path, share, latencies, failures) for share in shares))
    return latencies, failures, time.perf_counter() - started


def _wait_listening(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"astrofin mpesa serve exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("astrofin mpesa serve did not start listening")


def start_service(url: URL, port: int, token: str, log_home: Path) -> subprocess.Popen[bytes]:
    """`astrofin mpesa serve` on the benchmark's database, configured through the environment."""
    env = dict(os.environ, ASTROFIN_ENV="development", DB_HOST=str(url.query["host"]), DB_PORT=str(url.query["port"]),
               DB_NAME=str(url.database), DB_USER=str(url.username), ASTROFIN_MPESA_TOKEN=token,
               MPESA_ALLOWED_SOURCES="any", XDG_STATE_HOME=str(log_home), XDG_CACHE_HOME=str(log_home))
    process = subprocess.Popen([sys.executable, "-m", "astrofin_tui.cli", "mpesa", "serve", "--port", str(port)],
                               env=env, stdin=subprocess.DEVNULL)
    try:
        _wait_listening(port, process)
    except BaseException:
        process.terminate()
        process.wait(10)
        raise
    return process


def run_callbacks(bench: Any, url: URL, engine: Engine, count: int = CALLBACKS,
                  clients: int = CALLBACK_CLIENTS, post_wait: float = 600) -> None:
    rng = random.Random(bench.args.random_seed)
    service_user(engine)
    bodies = _bodies(engine, CALLBACK_WARMUP + CALLBACK_ALONE + count, rng)
    token = secrets.token_hex(24)
    port = _free_port()
    log_home = Path(tempfile.mkdtemp(prefix="astrofin-bench-mpesa-"))
    process = start_service(url, port, token, log_home)
    try:
        path = f"/mpesa/{token}/confirmation"
        asyncio.run(_fire(port, path, bodies[:CALLBACK_WARMUP], clients))
        # One at a time first: what a callback costs when none waits for another.
        alone, _, _ = asyncio.run(_fire(port, path, bodies[CALLBACK_WARMUP:CALLBACK_WARMUP + CALLBACK_ALONE], 1))
        latencies, failures, seconds = asyncio.run(_fire(port, path, bodies[CALLBACK_WARMUP + CALLBACK_ALONE:],
                                                         clients))
        answered = time.perf_counter()
        waiting = -1
        while waiting:
            with engine.connect() as conn:
                waiting = conn.execute(text("SELECT count(*) FROM mobile_money_receipts WHERE status = 'received'")
                                       ).scalar_one()
            if waiting and time.perf_counter() - answered > post_wait:
                break
            time.sleep(0.2)
        drained = time.perf_counter() - answered
        validation = f"/mpesa/{token}/validation"
        v_latencies, v_failures, _ = asyncio.run(_fire(port, validation, bodies[:1000], clients))
    finally:
        process.terminate()
        process.wait(30)
    with engine.connect() as conn:
        counts: dict[str, int] = {str(status): int(n) for status, n in conn.execute(text(
            "SELECT status, count(*) FROM mobile_money_receipts WHERE source = 'callback' GROUP BY status"))}
        twice = conn.execute(text(
            "SELECT count(*) FROM (SELECT payment_reference FROM transactions WHERE payment_method = 'mobile_money' "
            "GROUP BY payment_reference HAVING count(*) > 1) t")).scalar_one()
    p50, p95 = statistics.median(latencies), _percentile(latencies, 0.95)
    bench.add(f"Daraja confirmation answered, one client ({len(alone):,} callbacks one after another)",
              f"p50 {statistics.median(alone):.1f} ms, p95 {_percentile(alone, 0.95):.1f} ms")
    bench.add(f"Daraja confirmation answered, {clients} concurrent clients ({len(latencies):,} callbacks)",
              f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {_percentile(latencies, 0.99):.1f} ms; "
              f"{len(latencies) / seconds:,.0f} callbacks/s; {len(failures)} not accepted",
              "p95 ≤ 50 ms", p95 <= 50 and not failures)
    posted = ", ".join(f"{status} {n:,}" for status, n in sorted(counts.items()))
    bench.add("  then every receipt posted", f"{drained:.1f} s after the last answer ({posted}); "
              f"{twice} posted twice", "none left, none twice", waiting == 0 and twice == 0)
    bench.add(f"Daraja validation answered, {clients} concurrent clients ({len(v_latencies):,} callbacks)",
              f"p50 {statistics.median(v_latencies):.1f} ms, p95 {_percentile(v_latencies, 0.95):.1f} ms; "
              f"{len(v_failures)} rejected")
    for failure in failures[:3]:
        print(f"  not accepted: {failure}", file=sys.stderr)
