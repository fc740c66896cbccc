"""Codes the database stores (statuses, transaction types, methods) as staff read them on screen and paper.

Every screen, receipt and export that shows a code to a person goes through `in_words`; the database and the
repositories keep the codes.
"""

from __future__ import annotations

WORDS: dict[str, str] = {
    # loan statuses
    "pending": "Pending",
    "approved": "Approved",
    "rejected": "Rejected",
    "active": "Active",
    "closed": "Closed",
    "defaulted": "Defaulted",
    "written_off": "Written off",
    # installment statuses
    "partial": "Partly paid",
    "paid": "Paid",
    # customer statuses
    "inactive": "Inactive",
    # transaction types
    "disbursement": "Disbursement",
    "repayment": "Repayment",
    "reversal": "Reversal",
    "write_off": "Write-off",
    "penalty": "Penalty",
    # SMS statuses
    "queued": "Queued",
    "sent": "Sent",
    "delivered": "Delivered",
    "failed": "Failed",
    # interest methods and frequencies
    "flat": "Flat",
    "declining_balance": "Declining balance",
    "weekly": "Weekly",
    "biweekly": "Every two weeks",
    "monthly": "Monthly",
    # account types
    "asset": "Asset",
    "liability": "Liability",
    "equity": "Equity",
    "income": "Income",
    "expense": "Expense",
}


def in_words(code: str | None) -> str:
    """'written_off' → 'Written off'; an unknown code is shown with its underscores as spaces, capitalised."""
    if not code:
        return ""
    known = WORDS.get(code)
    if known is not None:
        return known
    spaced = code.replace("_", " ").strip()
    return spaced[:1].upper() + spaced[1:].lower()
