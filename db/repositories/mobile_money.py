"""M-Pesa repayments: the inbox every receipt lands in first, its posting (once), the suspense queue and its
resolution, and the reconciliation of imported statements.

Every rule lives in the database's functions (0024: mobile_money_receive, mobile_money_post, mobile_money_validate,
mobile_money_apply, mobile_money_refund, mobile_money_reconciliation and their batch forms); this module passes
values and turns refusals into AstrofinError kinds with the database's sentence. A refusal that belongs to a field
comes back as a ValidationError keyed `receipt_number`, `paid_at`, `amount`, `source`, `loan_id`, `note` or
`reference`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from db.errors import Refused
from db.repositories.base import Repository, contains_pattern

SOURCES = ("statement", "callback")
STATUSES = ("received", "posted", "suspense", "applied", "refunded")


@dataclass(frozen=True)
class MobileMoneyReceipt:
    """A receipt as it came: from a statement row or a Daraja confirmation callback."""

    receipt_number: str
    paid_at: datetime
    amount: Decimal
    payer_phone: str | None = None
    payer_name: str | None = None
    account_reference: str | None = None
    short_code: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    source: str = "statement"


@dataclass(frozen=True)
class Received:
    receipt_id: int
    is_new: bool


@dataclass(frozen=True)
class Posting:
    status: str
    loan_number: str | None
    transaction_id: int | None
    posted: Decimal
    suspense: Decimal
    reason: str | None


@dataclass(frozen=True)
class Validation:
    accepted: bool
    result_code: str
    description: str


@dataclass(frozen=True)
class SuspenseReceipt:
    id: int
    receipt_number: str
    paid_at: datetime
    amount: Decimal
    suspense_amount: Decimal
    payer_phone: str | None
    payer_name: str | None
    account_reference: str | None
    reason: str | None
    branch_code: str
    loan_number: str | None


@dataclass(frozen=True)
class Reconciliation:
    statement_total: Decimal
    posted: Decimal
    suspense: Decimal
    refused: Decimal
    applied: Decimal
    refunded: Decimal
    balanced: bool


@dataclass(frozen=True)
class BatchReceived:
    """One row of mobile_money_receive_batch: the receipt, or the refusal's words in `error`."""

    receipt_id: int | None
    is_new: bool
    statement_id: int | None
    error: str | None


@dataclass(frozen=True)
class BatchPosting:
    """One row of mobile_money_post_batch; `fresh`: this call posted it (it was still waiting in the inbox)."""

    receipt_id: int
    posting: Posting | None
    fresh: bool
    error: str | None


@dataclass(frozen=True)
class Preview:
    """What posting a row would do (a dry run): 'already imported', 'posted' or 'suspense'."""

    status: str
    loan_number: str | None
    posted: Decimal
    suspense: Decimal
    reason: str | None


@dataclass(frozen=True)
class Statement:
    statement_id: int
    is_new: bool


def _money(value: Any) -> Decimal:
    return Decimal(value if value is not None else 0).quantize(Decimal("0.01"))


def _suspense_receipt(row: Any) -> SuspenseReceipt:
    return SuspenseReceipt(int(row.id), row.receipt_number, row.paid_at, _money(row.amount),
                           _money(row.suspense_amount), row.payer_phone, row.payer_name, row.account_reference,
                           row.suspense_reason, row.branch_code, row.loan_number)


QUEUE_PAGE = 50
"""Receipts on a page of the suspense screen."""


@dataclass(frozen=True)
class QueueStart:
    """Where a page of the suspense queue starts: after the receipt paid at `paid_at` with this id (newest first)."""

    paid_at: datetime
    receipt_id: int


def _posting(row: Any) -> Posting:
    return Posting(row.status, row.loan_number, row.transaction_id, _money(row.posted), _money(row.suspense),
                   row.reason)


def receipt_json(receipt: MobileMoneyReceipt) -> dict[str, Any]:
    """A receipt as one element of the batch functions' JSON array."""
    return {"receipt_number": receipt.receipt_number, "paid_at": receipt.paid_at.isoformat(),
            "amount": str(receipt.amount), "phone": receipt.payer_phone, "name": receipt.payer_name,
            "account": receipt.account_reference, "short_code": receipt.short_code, "raw": receipt.raw,
            "source": receipt.source}


class MobileMoneyRepository(Repository):
    """The inbox, acting for one signed-in person (the M-Pesa service user, or a member of staff)."""

    def receive(self, receipt: MobileMoneyReceipt, statement_id: int | None = None) -> Received:
        """Writes the receipt to the inbox, once per receipt number; committed on its own, before any posting."""
        with self.work() as session:
            row = session.execute(text(
                "SELECT receipt_id, is_new FROM mobile_money_receive(:n, :at, :a, :ph, :nm, :acc, :sc, "
                "CAST(:raw AS jsonb), :src, :me, :st)"),
                {"n": receipt.receipt_number, "at": receipt.paid_at, "a": receipt.amount, "ph": receipt.payer_phone,
                 "nm": receipt.payer_name, "acc": receipt.account_reference, "sc": receipt.short_code,
                 "raw": json.dumps(receipt.raw, default=str), "src": receipt.source, "me": self.actor.user_id,
                 "st": statement_id}).one()
        return Received(int(row.receipt_id), bool(row.is_new))

    def post(self, receipt_id: int) -> Posting:
        """Posts a received receipt (once: a receipt already posted comes back as it was posted)."""
        with self.work() as session:
            row = session.execute(text("SELECT * FROM mobile_money_post(:r, :me)"),
                                  {"r": receipt_id, "me": self.actor.user_id}).one()
        return _posting(row)

    def validate(self, account: str, amount: Decimal) -> Validation:
        """Daraja's validation: accept the payment, or reject it with Safaricom's result code."""
        with self.work() as session:
            row = session.execute(text("SELECT * FROM mobile_money_validate(:acc, :a)"),
                                  {"acc": account, "a": amount}).one()
        return Validation(bool(row.accepted), str(row.result_code), str(row.description))

    def pending(self, limit: int = 500) -> list[int]:
        """The receipts still waiting to be posted (received, e.g. before a crash), oldest first."""
        with self.work() as session:
            return [int(i) for i in session.execute(text(
                "SELECT id FROM mobile_money_receipts WHERE status = 'received' ORDER BY id LIMIT :n"),
                {"n": limit}).scalars()]

    def suspense(self, search: str = "", after_id: int | None = None, limit: int = 50) -> list[SuspenseReceipt]:
        """The receipts waiting in suspense, oldest first, after `after_id`; `search` finds a receipt number, a
        phone, a payer's name or an account reference containing it."""
        with self.read_work() as session:
            rows = session.execute(text("""
    SELECT r.id, r.receipt_number, r.paid_at, r.amount, r.suspense_amount, r.payer_phone, r.payer_name,
           r.account_reference, r.suspense_reason, b.code AS branch_code, l.loan_number
    FROM mobile_money_receipts r
    JOIN branches b ON b.id = r.branch_id
    LEFT JOIN loans l ON l.id = r.loan_id
    WHERE r.status = 'suspense' AND r.id > coalesce(CAST(:after AS bigint), 0)
      AND (CAST(:plain AS text) = '' OR r.receipt_number ILIKE :p OR r.payer_phone ILIKE :p
           OR r.payer_name ILIKE :p OR r.account_reference ILIKE :p)
    ORDER BY r.id
    LIMIT :n"""), {"after": after_id, "plain": search.strip(), "p": contains_pattern(search.strip()),
                   "n": limit}).all()
        return [_suspense_receipt(r) for r in rows]

    def newest_in_suspense(self, search: str = "", after: QueueStart | None = None,
                           limit: int = QUEUE_PAGE) -> list[SuspenseReceipt]:
        """The suspense queue as the back office reads it: newest payment first (the one a customer is calling
        about), a page after `after` (keyset on the time paid and the id), with the same search as `suspense`."""
        with self.read_work() as session:
            rows = session.execute(text("""
    SELECT r.id, r.receipt_number, r.paid_at, r.amount, r.suspense_amount, r.payer_phone, r.payer_name,
           r.account_reference, r.suspense_reason, b.code AS branch_code, l.loan_number
    FROM mobile_money_receipts r
    JOIN branches b ON b.id = r.branch_id
    LEFT JOIN loans l ON l.id = r.loan_id
    WHERE r.status = 'suspense'
      AND (CAST(:at AS timestamptz) IS NULL OR (r.paid_at, r.id) < (CAST(:at AS timestamptz), CAST(:id AS bigint)))
      AND (CAST(:plain AS text) = '' OR r.receipt_number ILIKE :p OR r.payer_phone ILIKE :p
           OR r.payer_name ILIKE :p OR r.account_reference ILIKE :p)
    ORDER BY r.paid_at DESC, r.id DESC
    LIMIT :n"""), {"at": after.paid_at if after else None, "id": after.receipt_id if after else None,
                   "plain": search.strip(), "p": contains_pattern(search.strip()), "n": limit}).all()
        return [_suspense_receipt(r) for r in rows]

    def apply(self, receipt_id: int, loan_id: int, note: str) -> int:
        """Applies a receipt in suspense to a loan (Dr 2100 / Cr 1150, then the repayment); returns the repayment."""
        with self.work() as session:
            return int(session.execute(text("SELECT mobile_money_apply(:r, :l, :me, :note)"),
                                       {"r": receipt_id, "l": loan_id, "me": self.actor.user_id,
                                        "note": note}).scalar_one())

    def refund(self, receipt_id: int, reference: str, note: str) -> None:
        """Records the refund of a receipt in suspense (Dr 2100 / Cr 1150) with the M-Pesa reference of the money
        sent back."""
        with self.work() as session:
            session.execute(text("SELECT mobile_money_refund(:r, :me, :ref, :note)"),
                            {"r": receipt_id, "me": self.actor.user_id, "ref": reference, "note": note})

    def reconciliation(self, day: date) -> Reconciliation:
        """The statements imported on `day`, in the caller's branches: total = posted + suspense + refused."""
        with self.read_work() as session:
            row = session.execute(text("SELECT * FROM mobile_money_reconciliation(:d)"), {"d": day}).one()
        return _reconciliation(row)

    def statement_reconciliation(self, statement_id: int) -> Reconciliation | None:
        with self.read_work() as session:
            row = session.execute(text("SELECT * FROM mobile_money_statement_reconciliation(:s)"),
                                  {"s": statement_id}).one_or_none()
        return None if row is None else _reconciliation(row)

    # The statement import's calls: one round trip per batch of rows.

    def open_statement(self, file_name: str, sha256: str) -> Statement:
        with self.work() as session:
            row = session.execute(text("SELECT * FROM mobile_money_statement_open(:f, :h, :me)"),
                                  {"f": file_name, "h": sha256, "me": self.actor.user_id}).one()
        return Statement(int(row.statement_id), bool(row.is_new))

    def close_statement(self, statement_id: int, rows: int, paid_in: Decimal, refused: Decimal,
                        period_from: datetime | None, period_to: datetime | None) -> None:
        with self.work() as session:
            session.execute(text("SELECT mobile_money_statement_close(:s, :n, :p, :r, :f, :t, :me)"),
                            {"s": statement_id, "n": rows, "p": paid_in, "r": refused, "f": period_from,
                             "t": period_to, "me": self.actor.user_id})

    def receive_and_post(self, receipts: Sequence[MobileMoneyReceipt],
                         statement_id: int | None = None) -> list[tuple[BatchReceived, BatchPosting | None]]:
        """Receives the receipts, commits, then posts the ones received: two transactions, two round trips. Each
        row is refused or written on its own (a subtransaction in the database). One result per receipt, in order."""
        received = self.receive_batch(receipts, statement_id)
        ids = [r.receipt_id for r in received if r.receipt_id is not None]
        postings = {p.receipt_id: p for p in self.post_batch(ids)} if ids else {}
        return [(r, postings.get(r.receipt_id) if r.receipt_id is not None else None) for r in received]

    def receive_batch(self, receipts: Sequence[MobileMoneyReceipt],
                      statement_id: int | None = None) -> list[BatchReceived]:
        payload = json.dumps([receipt_json(r) for r in receipts], default=str)
        with self.work() as session:
            rows = session.execute(text(
                "SELECT * FROM mobile_money_receive_batch(CAST(:rows AS jsonb), :me, :st) ORDER BY ord"),
                {"rows": payload, "me": self.actor.user_id, "st": statement_id}).all()
        return [BatchReceived(None if r.receipt_id is None else int(r.receipt_id), bool(r.is_new),
                              None if r.statement_id is None else int(r.statement_id), r.error) for r in rows]

    def post_batch(self, receipt_ids: Sequence[int]) -> list[BatchPosting]:
        """Posts the receipts in one transaction, each row on its own; a batch that lost a deadlock to another
        session's work (a collection sheet locking its loans in its own order) is posted again, twice at most:
        posting is idempotent."""
        for attempt in range(3):
            try:
                with self.work() as session:
                    rows = session.execute(text(
                        "SELECT * FROM mobile_money_post_batch(CAST(:ids AS bigint[]), :me)"),
                        {"ids": list(receipt_ids), "me": self.actor.user_id}).all()
                break
            except Refused as exc:
                state = getattr(getattr(exc.__cause__, "orig", None), "sqlstate", None)
                if attempt == 2 or state not in {"40P01", "40001"}:
                    raise
        return [BatchPosting(int(r.receipt_id), None if r.error is not None else _posting(r), bool(r.fresh),
                             r.error) for r in rows]

    def preview(self, receipts: Sequence[MobileMoneyReceipt]) -> list[Preview]:
        """What posting these would do, writing nothing (a dry run)."""
        payload = json.dumps([receipt_json(r) for r in receipts], default=str)
        with self.work() as session:
            rows = session.execute(text("SELECT * FROM mobile_money_preview(CAST(:rows AS jsonb)) ORDER BY ord"),
                                   {"rows": payload}).all()
        return [Preview(r.status, r.loan_number, _money(r.posted), _money(r.suspense), r.reason) for r in rows]


def _reconciliation(row: Any) -> Reconciliation:
    return Reconciliation(_money(row.statement_total), _money(row.posted), _money(row.suspense), _money(row.refused),
                          _money(row.applied), _money(row.refunded), bool(row.balanced))
