"""The Daraja C2B callback service: Safaricom's validation and confirmation callbacks, into the M-Pesa inbox.

    POST /mpesa/{token}/validation     may this payment be made? (before the customer pays)
    POST /mpesa/{token}/confirmation   this payment was made: write it to the inbox, answer, then post it

A confirmation is written to the inbox in its own transaction (`receive`, unique by receipt number), answered,
and only then posted (`post`) by a poster task, so Daraja never waits on the posting and a receipt delivered twice,
or twice at the same moment, is one receipt and one repayment. At start, and every `sweep_seconds` after, every
receipt still waiting in the inbox is posted: a service stopped between the inbox write and the posting posts it
when it comes back, once (the posting locks the inbox row and leaves a row already posted as it is).

What Daraja reads from our answers (a 200 with `{"ResultCode": "0", "ResultDesc": "Accepted"}` is success; anything
else is a failure it may retry):

- 200: done; Daraja stops. Also the answer of a validation that rejects the payment (a result code other than
  "0": C2B00012 invalid account number, C2B00013 invalid amount, C2B00016 other error), since Daraja reads the
  result code only from a 200.
- 400, 403, 404, 413: refused for good; retrying the same request cannot succeed, nothing was written, and one
  line in the log says why. A genuine confirmation refused this way (none should be) still reaches the inbox from
  the day's statement import.
- 503 (the database is down or every connection is busy): retry. For validation, Daraja then applies the default
  action registered with the URLs (register ResponseType "Completed", so an outage never turns customers away;
  the confirmation brings the money in).
- 500: an error of ours (e.g. the service's staff member lost its role): logged; Daraja may retry.

db/ never imports Textual; the database calls are synchronous (SQLAlchemy) and run in worker threads, at most
`concurrency` at a time.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import math
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import anyio
import anyio.abc
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from db.engine import Actor
from db.errors import AstrofinError, DatabaseUnavailable, unreachable_message
from db.mpesa.daraja_settings import DarajaSettings
from db.repositories.mobile_money import MobileMoneyReceipt, MobileMoneyRepository

log = logging.getLogger("astrofin.mpesa")

EAST_AFRICA = timezone(timedelta(hours=3), "EAT")
"""Daraja's TransTime is Kenyan time (UTC+3, no daylight saving)."""
RECEIVERS = 2
"""Tasks that write arriving confirmations to the inbox, each a batch at a time on one database connection."""
RECEIVE_BATCH = 100
POSTERS = 2
"""Tasks that post received confirmations, each a batch at a time on one database connection."""
POST_BATCH = 50
QUEUE_SIZE = 10_000
LULL_WAIT_SECONDS = 0.5
BUSY_POST_BATCH = 10
"""What a poster posts at a time while confirmations keep arriving: small, so an answer never waits long behind it."""
"""How long a poster leaves the database to the answering while confirmations arrive, before it posts anyway."""
"""Receipts waiting for a poster; past it, the next sweep posts them."""
SHUTDOWN_SECONDS = 10
"""How long a stopping service goes on posting the confirmations it has answered."""
RECEIPT_POSTING_ROLES = ("cashier", "supervisor", "accountant")

ACCEPTED = {"ResultCode": "0", "ResultDesc": "Accepted"}
INVALID_ACCOUNT = "C2B00012"
INVALID_AMOUNT = "C2B00013"
OTHER_ERROR = "C2B00016"

_RECEIPT = re.compile(r"^[A-Z0-9]{6,20}$")
_AMOUNT = re.compile(r"^[0-9]{1,12}(\.[0-9]+)?$")
_TIME = re.compile(r"^[0-9]{14}$")
_TEXT_LIMIT = 100

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------------------------
# What the service needs of the inbox (db/repositories/mobile_money.py provides it; see RepositoryInbox below)


class Inbox(Protocol):
    def validate(self, account: str, amount: Decimal) -> tuple[bool, str, str]:
        """(accepted, Daraja result code, description)."""

    def receive_many(self, callbacks: list[Callback]) -> list[tuple[int, bool] | str]:
        """For each callback (receipt id, whether it is new), or the database's words refusing it; all committed
        together when it returns."""

    def post_many(self, receipt_ids: list[int]) -> list[str]:
        """Post received receipts (no change to one already posted); a line for the log for each."""

    def pending(self, limit: int = 500) -> list[int]:
        """Receipts still waiting to be posted, oldest first."""


# ---------------------------------------------------------------------------------------------------------------
# Parsing a callback body


class BadCallback(ValueError):
    """A body Daraja would not send: `code` is the Daraja result code that names the problem."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class Callback:
    """A C2B callback body, checked: the fields the inbox keeps, and the body as received."""

    receipt_number: str
    paid_at: datetime
    amount: Decimal
    account_reference: str
    short_code: str
    payer_phone: str
    payer_name: str
    transaction_type: str
    raw: dict[str, Any]


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise BadCallback(OTHER_ERROR, f"{name} is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadCallback(OTHER_ERROR, f"{name} must be text")
    value = str(value).strip()
    if required and not value:
        raise BadCallback(OTHER_ERROR, f"{name} is missing")
    if len(value) > _TEXT_LIMIT:
        raise BadCallback(OTHER_ERROR, f"{name} is longer than {_TEXT_LIMIT} characters")
    return value


def parse_amount(value: Any) -> Decimal:
    """TransAmount as Daraja sends it ("1500.00"; a JSON number is taken as written): more than 0, in cents."""
    if value is None or value == "":
        raise BadCallback(INVALID_AMOUNT, "TransAmount is missing")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadCallback(INVALID_AMOUNT, "TransAmount must be an amount such as \"1500.00\"")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadCallback(INVALID_AMOUNT, "TransAmount must be an amount such as \"1500.00\"")
        written = repr(value)  # the shortest text that reads back as this number: the JSON as written
    else:
        written = str(value).strip()
    if written.startswith("-"):
        raise BadCallback(INVALID_AMOUNT, f"TransAmount must be more than 0, not {written[:20]!r}")
    if not _AMOUNT.match(written):
        raise BadCallback(INVALID_AMOUNT, f"TransAmount must be an amount such as \"1500.00\", not {written[:20]!r}")
    amount = Decimal(written)
    if amount != amount.quantize(Decimal("0.01")):
        raise BadCallback(INVALID_AMOUNT, f"TransAmount has more than 2 decimals: {written[:20]!r}")
    if amount <= 0:
        raise BadCallback(INVALID_AMOUNT, f"TransAmount must be more than 0, not {written[:20]!r}")
    return amount.quantize(Decimal("0.01"))


def parse_time(value: Any) -> datetime:
    """TransTime, YYYYMMDDHHMMSS in Kenyan time, as an aware datetime."""
    written = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not written:
        raise BadCallback(OTHER_ERROR, "TransTime is missing")
    if not _TIME.match(written):
        raise BadCallback(OTHER_ERROR, f"TransTime must be YYYYMMDDHHMMSS (e.g. 20261130140512), not {written[:20]!r}")
    try:
        return datetime.strptime(written, "%Y%m%d%H%M%S").replace(tzinfo=EAST_AFRICA)
    except ValueError:
        raise BadCallback(OTHER_ERROR, f"TransTime is not a real date and time: {written!r}") from None


def parse_body(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or BadCallback."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadCallback(OTHER_ERROR, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadCallback(OTHER_ERROR, "the body is not a JSON object")
    return data


def parse_callback(data: dict[str, Any]) -> Callback:
    """A C2B v2 callback body, checked field by field; the first problem as BadCallback."""
    receipt = _text(data, "TransID", required=True).upper()
    if not _RECEIPT.match(receipt):
        raise BadCallback(OTHER_ERROR, f"TransID must be an M-Pesa receipt number (letters and digits), "
                                       f"not {receipt[:20]!r}")
    amount = parse_amount(data.get("TransAmount"))
    paid_at = parse_time(data.get("TransTime"))
    short_code = _text(data, "BusinessShortCode", required=True)
    account = _text(data, "BillRefNumber")
    names = [_text(data, name) for name in ("FirstName", "MiddleName", "LastName")]
    return Callback(
        receipt_number=receipt,
        paid_at=paid_at,
        amount=amount,
        account_reference=account,
        short_code=short_code,
        payer_phone=_text(data, "MSISDN"),
        payer_name=" ".join(name for name in names if name),
        transaction_type=_text(data, "TransactionType"),
        raw=data,
    )


# ---------------------------------------------------------------------------------------------------------------
# Where a request comes from


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(raw: str | None) -> Address | None:
    if not raw:
        return None
    raw = raw.strip()
    if raw.startswith("[") and "]" in raw:
        raw = raw[1:raw.index("]")]
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(peer: str | None, forwarded_for: list[str], settings: DarajaSettings) -> Address | None:
    """The caller's address: the peer's, or, when the peer is a trusted proxy, the last address in
    X-Forwarded-For that is not one of the trusted proxies. None when it cannot be told."""
    address = _address(peer)
    if address is None or not forwarded_for or not settings.trusted_proxy(address):
        return address
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return None
        if not settings.trusted_proxy(address):
            break
    return address


class TooLarge(Exception):
    pass


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, never more than `limit` bytes of it held: TooLarge as soon as it is longer."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------------------------------------------------------
# The application


def _refusal(code: str, description: str, status: int) -> JSONResponse:
    return JSONResponse({"ResultCode": code, "ResultDesc": description}, status_code=status)


def _unavailable() -> JSONResponse:
    return JSONResponse({"ResultCode": OTHER_ERROR, "ResultDesc": "temporarily unavailable; please retry"},
                        status_code=503, headers={"Retry-After": "30"})


@dataclass
class _Arrival:
    """A confirmation waiting for its receipt to be committed (by the receiver that takes it in a batch)."""

    callback: Callback
    done: anyio.Event
    outcome: tuple[int, bool] | BaseException | str | None = None
    """(receipt id, is new); or the batch's exception; or the database's words refusing this row."""


class CallbackService:
    """The routes, the receivers, the posters and the sweep, around one inbox."""

    def __init__(self, settings: DarajaSettings, inbox: Inbox, logger: logging.Logger = log) -> None:
        self.settings = settings
        self.inbox = inbox
        self.log = logger
        self.limiter = anyio.CapacityLimiter(settings.concurrency)
        self.post_limiter = anyio.CapacityLimiter(POSTERS)
        self._arrivals: list[_Arrival] = []
        self._arrived = anyio.Event()
        self._receiving = 0
        """Receivers writing a batch now."""
        self._to_post: list[int] = []
        self._postable = anyio.Event()
        self._stopping = False
        self._running = False
        self._drained = anyio.Event()
        self.recovered = anyio.Event()
        """Set once the receipts left waiting at start have been posted (tests wait on it)."""

    # -- the database, in worker threads

    async def _call(self, call: Callable[..., T], *args: Any, limiter: anyio.CapacityLimiter | None = None) -> T:
        return await anyio.to_thread.run_sync(call, *args, limiter=limiter or self.limiter)

    # -- refusals before the body is looked at

    def _token_ok(self, request: Request) -> bool:
        given = str(request.path_params.get("token", ""))
        return hmac.compare_digest(given.encode(), self.settings.callback_token.encode())

    async def _checked_body(self, request: Request, kind: str) -> tuple[dict[str, Any] | None, Response | None, str]:
        """(body, None, caller) for a request that may be read, else (None, the refusal, caller); each refusal
        logged in one line. The token is never logged."""
        peer = request.client.host if request.client else None
        address = client_address(peer, request.headers.getlist("x-forwarded-for"), self.settings)
        caller = str(address) if address is not None else (peer or "an unknown address")
        if not self._token_ok(request):
            self.log.warning("%s refused 404: wrong token, from %s", kind, caller)
            return None, PlainTextResponse("Not Found", status_code=404), caller
        if address is None and self.settings.allowed_sources or address and not self.settings.source_allowed(address):
            self.log.warning("%s refused 403: %s is not an allowed source", kind, caller)
            return None, _refusal(OTHER_ERROR, "source not allowed", 403), caller
        try:
            body = await read_capped(request, self.settings.max_body_bytes)
        except TooLarge:
            self.log.warning("%s refused 413: body over %d bytes, from %s", kind, self.settings.max_body_bytes, caller)
            return None, _refusal(OTHER_ERROR, "body too large", 413), caller
        except ClientDisconnect:
            self.log.warning("%s dropped: %s went away before its body arrived", kind, caller)
            return None, Response(status_code=400), caller
        try:
            return parse_body(body), None, caller
        except BadCallback as exc:
            self.log.warning("%s refused 400: %s, from %s", kind, exc.description, caller)
            return None, _refusal(OTHER_ERROR, exc.description, 400), caller

    # -- the routes

    async def validation(self, request: Request) -> Response:
        data, refusal, caller = await self._checked_body(request, "validation")
        if data is None:
            assert refusal is not None
            return refusal
        try:
            callback = parse_callback(data)
        except BadCallback as exc:
            # Daraja reads a rejection's code only from a 200: a 400 would let its default action through.
            self.log.warning("validation rejected %s: %s, from %s", exc.code, exc.description, caller)
            return JSONResponse({"ResultCode": exc.code, "ResultDesc": exc.description})
        try:
            accepted, code, description = await self._call(self.inbox.validate, callback.account_reference,
                                                           callback.amount)
        except (DatabaseUnavailable, PoolTimeout) as exc:
            self.log.warning("validation %s answered 503: %s", callback.receipt_number, exc)
            return _unavailable()
        except AstrofinError as exc:
            self.log.error("validation %s failed 500: %s", callback.receipt_number, exc)
            return _refusal(OTHER_ERROR, "internal error", 500)
        if accepted:
            return JSONResponse(ACCEPTED)
        self.log.info("validation %s rejected %s for account %r, %s: %s", callback.receipt_number, code,
                      callback.account_reference, callback.amount, description)
        return JSONResponse({"ResultCode": code, "ResultDesc": description})

    async def confirmation(self, request: Request) -> Response:
        data, refusal, caller = await self._checked_body(request, "confirmation")
        if data is None:
            assert refusal is not None
            return refusal
        try:
            callback = parse_callback(data)
        except BadCallback as exc:
            receipt = data.get("TransID")
            about = f" {str(receipt)[:20]!r}" if isinstance(receipt, str | int) else ""
            self.log.warning("confirmation%s refused 400: %s, from %s", about, exc.description, caller)
            return _refusal(OTHER_ERROR, exc.description, 400)
        if not self._running:  # served without its lifespan (nothing would write the inbox)
            self.log.error("confirmation %s answered 503: the service's receivers are not running",
                           callback.receipt_number)
            return _unavailable()
        arrival = _Arrival(callback, anyio.Event())
        self._arrivals.append(arrival)
        self._arrived.set()
        with anyio.CancelScope(shield=True):  # once handed over, the answer waits for the commit
            await arrival.done.wait()
        outcome = arrival.outcome
        if isinstance(outcome, DatabaseUnavailable | PoolTimeout):
            self.log.warning("confirmation %s answered 503: %s", callback.receipt_number, outcome)
            return _unavailable()
        if isinstance(outcome, BaseException) or outcome is None:
            self.log.error("confirmation %s failed 500: %s", callback.receipt_number, outcome)
            return _refusal(OTHER_ERROR, "internal error", 500)
        if isinstance(outcome, str):
            self.log.warning("confirmation %s refused 400 by the database: %s", callback.receipt_number, outcome)
            return _refusal(OTHER_ERROR, outcome, 400)
        receipt_id, is_new = outcome
        self.log.info("confirmation %s %s %s account %r from %s: receipt %d%s", callback.receipt_number,
                      callback.amount, callback.transaction_type or "", callback.account_reference, caller,
                      receipt_id, "" if is_new else " (already received)")
        self._queue(receipt_id)
        return JSONResponse(ACCEPTED)

    # -- receiving: the confirmations that arrive while a batch is being written form the next batch (one
    #    transaction and one round trip for all of them: a group commit)

    async def _receiver(self) -> None:
        while True:
            await self._arrived.wait()
            batch, self._arrivals = self._arrivals[:RECEIVE_BATCH], self._arrivals[RECEIVE_BATCH:]
            if not self._arrivals:
                self._arrived = anyio.Event()
            if not batch:
                continue
            # In receipt number order, so that two batches holding the same receipts never wait on each other.
            batch.sort(key=lambda arrival: arrival.callback.receipt_number)
            outcomes: list[tuple[int, bool] | str | BaseException]
            self._receiving += 1
            try:
                outcomes = list(await self._call(self.inbox.receive_many, [arrival.callback for arrival in batch]))
            except (AstrofinError, PoolTimeout) as exc:
                outcomes = [exc] * len(batch)
            except Exception as exc:  # a fault of ours: each of these answered 500, the service goes on
                self.log.exception("writing %d confirmation(s) to the inbox failed", len(batch))
                outcomes = [exc] * len(batch)
            except BaseException:
                for arrival in batch:  # cancelled: no request waits for ever (each is answered 500)
                    arrival.done.set()
                raise
            finally:
                self._receiving -= 1
            for arrival, outcome in zip(batch, outcomes, strict=False):
                arrival.outcome = outcome
                arrival.done.set()

    # -- posting

    def _queue(self, receipt_id: int) -> None:
        if len(self._to_post) < QUEUE_SIZE:  # past it, the next sweep posts it
            self._to_post.append(receipt_id)
            self._postable.set()

    async def _post(self, receipt_ids: list[int]) -> None:
        try:
            lines = await self._call(self.inbox.post_many, receipt_ids, limiter=self.post_limiter)
        except (AstrofinError, PoolTimeout) as exc:
            self.log.warning("receipt(s) %s not posted yet (the sweep retries): %s",
                             ", ".join(str(r) for r in receipt_ids), exc)
            return
        for receipt_id, line in zip(receipt_ids, lines, strict=False):
            self.log.info("receipt %d: %s", receipt_id, line)

    async def _poster(self) -> None:
        while True:
            await self._postable.wait()
            size = POST_BATCH if await self._lull() else BUSY_POST_BATCH
            batch, self._to_post = self._to_post[:size], self._to_post[size:]
            if not self._to_post:
                if self._stopping:
                    if batch:
                        await self._post(batch)
                    return
                self._postable = anyio.Event()
            if batch:
                await self._post(batch)

    async def _lull(self) -> bool:
        """Answering comes first: Daraja waits on an answer, nobody waits on a posting. While confirmations are
        being written or wait to be, a poster leaves the database to them, for at most LULL_WAIT_SECONDS; whether
        the answering went quiet (then a whole batch is posted; else a small one, and the answering goes on)."""
        with anyio.move_on_after(LULL_WAIT_SECONDS):
            while (self._arrivals or self._receiving) and not self._stopping:
                await anyio.sleep(0.005)
            return True
        return False

    async def _posters(self) -> None:
        async with anyio.create_task_group() as posters:
            for _ in range(POSTERS):
                posters.start_soon(self._poster)
        self._drained.set()

    async def sweep(self) -> int:
        """Post every receipt still waiting in the inbox; how many were tried."""
        tried: set[int] = set()
        while True:
            try:
                waiting = await self._call(self.inbox.pending, 500, limiter=self.post_limiter)
            except (AstrofinError, PoolTimeout) as exc:
                self.log.warning("looking for receipts to post failed (retried later): %s", exc)
                return len(tried)
            fresh = [receipt_id for receipt_id in waiting if receipt_id not in tried]
            if not fresh:
                return len(tried)
            if not tried:
                self.log.info("posting %d receipt(s) left waiting in the inbox", len(waiting))
            tried.update(fresh)
            for start in range(0, len(fresh), POST_BATCH):
                await self._post(fresh[start:start + POST_BATCH])

    async def _sweeper(self) -> None:
        try:
            await self.sweep()
        finally:
            self.recovered.set()
        while self.settings.sweep_seconds > 0:
            await anyio.sleep(self.settings.sweep_seconds)
            await self.sweep()

    @asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            for _ in range(RECEIVERS):
                tasks.start_soon(self._receiver)
            tasks.start_soon(self._posters)
            tasks.start_soon(self._sweeper)
            self._running = True
            try:
                yield
            finally:
                self._running = False
                # Stopping: the receipts already answered are posted first (for at most SHUTDOWN_SECONDS; any
                # left are posted by the next start's sweep).
                self._stopping = True
                self._postable.set()
                with anyio.move_on_after(SHUTDOWN_SECONDS, shield=True):
                    await self._drained.wait()
                tasks.cancel_scope.cancel()


def create_app(settings: DarajaSettings, inbox: Inbox, logger: logging.Logger = log) -> Starlette:
    """The ASGI application; `app.state.service` is its CallbackService."""
    service = CallbackService(settings, inbox, logger)
    app = Starlette(routes=[
        Route("/mpesa/{token}/validation", service.validation, methods=["POST"]),
        Route("/mpesa/{token}/confirmation", service.confirmation, methods=["POST"]),
    ], lifespan=service.lifespan)
    app.state.service = service
    return app


# ---------------------------------------------------------------------------------------------------------------
# The inbox over the repository, as the service's staff member


def service_actor(engine: Engine, username: str) -> Actor:
    """The staff member the service acts as; AstrofinError when it cannot act (missing, inactive, wrong role)."""
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT id, username, role, full_name, branch_id, is_active FROM users "
                                    "WHERE username = :u"), {"u": username}).one_or_none()
    except DBAPIError as exc:
        raise DatabaseUnavailable(unreachable_message(exc)) from exc
    create = f"astrofin users add {username} --role cashier --branch HQ"
    if row is None:
        raise AstrofinError(f"there is no staff member {username!r} for the M-Pesa service to post as; create one "
                            f"({create}) or set mpesa.user (MPESA_USER)")
    if not row.is_active:
        raise AstrofinError(f"the staff member {username!r} the M-Pesa service posts as is deactivated")
    if row.role not in RECEIPT_POSTING_ROLES:
        raise AstrofinError(f"the staff member {username!r} is a {row.role}; the M-Pesa service posts as a "
                            f"{', '.join(RECEIPT_POSTING_ROLES[:-1])} or {RECEIPT_POSTING_ROLES[-1]} ({create})")
    return Actor(row.id, row.username, row.role, row.full_name, branch_id=row.branch_id)


class RepositoryInbox:
    """The Inbox of the service: MobileMoneyRepository acting as the service's staff member."""

    def __init__(self, engine: Engine, actor: Actor) -> None:
        self.repository = MobileMoneyRepository(engine, actor)

    def validate(self, account: str, amount: Decimal) -> tuple[bool, str, str]:
        outcome = self.repository.validate(account, amount)
        return outcome.accepted, outcome.result_code, outcome.description

    def receive_many(self, callbacks: list[Callback]) -> list[tuple[int, bool] | str]:
        received = self.repository.receive_batch([MobileMoneyReceipt(
            receipt_number=c.receipt_number, paid_at=c.paid_at, amount=c.amount, payer_phone=c.payer_phone,
            payer_name=c.payer_name, account_reference=c.account_reference, short_code=c.short_code, raw=c.raw,
            source="callback") for c in callbacks])
        return [(r.receipt_id, r.is_new) if r.receipt_id is not None else (r.error or "refused") for r in received]

    def post_many(self, receipt_ids: list[int]) -> list[str]:
        lines = {}
        for done in self.repository.post_batch(receipt_ids):
            posting = done.posting
            if posting is None:
                lines[done.receipt_id] = f"not posted: {done.error}"
                continue
            line = posting.status if done.fresh else f"already {posting.status}"
            if posting.loan_number:
                line += f" on {posting.loan_number} ({posting.posted})"
            if posting.suspense:
                line += f", {posting.suspense} to suspense: {posting.reason}"
            lines[done.receipt_id] = line
        return [lines.get(receipt_id, "not posted") for receipt_id in receipt_ids]

    def pending(self, limit: int = 500) -> list[int]:
        return list(self.repository.pending(limit))
