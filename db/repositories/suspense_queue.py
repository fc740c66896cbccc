"""The suspense queue as the back office reads it: newest payment first, a page at a time (keyset on the time paid
and the receipt's id), filtered by receipt number, phone, payer's name or account reference.

The inbox and its rules are db/repositories/mobile_money.py's (0024); this only reads its receipts in the order
staff look for them (the newest payment is the one a customer is calling about)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from db.repositories.mobile_money import MobileMoneyRepository, SuspenseReceipt, _money

QUEUE_PAGE = 50


@dataclass(frozen=True)
class QueueStart:
    """Where a page starts: after the receipt paid at `paid_at` with this id (newest first)."""

    paid_at: datetime
    receipt_id: int


def like_pattern(search: str) -> str:
    """What the person typed, found anywhere in a column, its wildcards taken as typed."""
    return "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SuspenseQueueRepository(MobileMoneyRepository):
    def newest(self, search: str = "", after: QueueStart | None = None,
               limit: int = QUEUE_PAGE) -> list[SuspenseReceipt]:
        """The receipts in suspense, newest payment first, after `after`."""
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
                   "plain": search.strip(), "p": like_pattern(search), "n": limit}).all()
        return [SuspenseReceipt(int(r.id), r.receipt_number, r.paid_at, _money(r.amount), _money(r.suspense_amount),
                                r.payer_phone, r.payer_name, r.account_reference, r.suspense_reason, r.branch_code,
                                r.loan_number) for r in rows]
