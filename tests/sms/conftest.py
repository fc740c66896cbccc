"""SMS fixtures: a fake gateway on 127.0.0.1 (ephemeral port) that records every request, and queued rows."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import Engine, text


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    raw: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | None = None
    delay: float = 0.0
    content_type: str = "application/json"


Responder = Callable[[Seen], Reply]


@dataclass
class FakeGateway:
    host: str
    port: int
    requests: list[Seen] = field(default_factory=list)
    responder: Responder = lambda seen: Reply(200, {})
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def per_message(self, key: str) -> Counter[str]:
        with self.lock:
            return Counter(seen.form.get(key, "") for seen in self.requests)


def _handler(gateway: FakeGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            form = dict(urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, form, raw)
            with gateway.lock:
                gateway.requests.append(seen)
            reply = gateway.responder(seen)
            if reply.delay:
                time.sleep(reply.delay)
            body = reply.body
            if isinstance(body, dict):
                data = json.dumps(body).encode()
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = body or b""
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = _serve
        do_POST = _serve

    return Handler


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    fake = FakeGateway("127.0.0.1", 0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def queue(engine: Engine, messages: list[tuple[str, str]]) -> list[int]:
    """Queue (phone, text) rows the way send_overdue_loan_notifications does; returns their ids in order."""
    with engine.begin() as conn:
        return list(conn.execute(
            text("""
                INSERT INTO sms_histories (phone_number, message, status)
                SELECT phone, body, 'queued' FROM unnest(CAST(:phones AS text[]), CAST(:bodies AS text[]))
                    WITH ORDINALITY AS m(phone, body, n)
                 ORDER BY n
             RETURNING id
            """),
            {"phones": [p for p, _ in messages], "bodies": [b for _, b in messages]},
        ).scalars())


def row(engine: Engine, message_id: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM sms_histories WHERE id = :id"), {"id": message_id})
                    .mappings().one())


_ids = itertools.count(1)


def at_success(seen: Seen) -> Reply:
    """Africa's Talking's documented answer for one accepted recipient."""
    return Reply(201, {"SMSMessageData": {
        "Message": "Sent to 1/1 Total Cost: KES 0.8000",
        "Recipients": [{"statusCode": 101, "number": seen.form.get("to"), "status": "Success",
                        "cost": "KES 0.8000", "messageId": f"ATXid_{next(_ids)}"}],
    }})


def twilio_created(seen: Seen) -> Reply:
    """Twilio's documented 201 answer to a new message."""
    return Reply(201, {"sid": f"SM{next(_ids):032d}", "status": "queued", "to": seen.form.get("To"),
                       "body": seen.form.get("Body"), "error_code": None, "error_message": None})
