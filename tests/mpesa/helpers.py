"""Shared pieces of the M-Pesa tests: a receipt, the loans' numbers, the balances of the inbox's accounts."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from db.repositories.mobile_money import MobileMoneyReceipt

NOW = datetime.now().replace(microsecond=0) - timedelta(minutes=5)


def receipt(number: str, amount: str, account: str, *, paid_at: datetime = NOW,
            source: str = "statement") -> MobileMoneyReceipt:
    return MobileMoneyReceipt(number, paid_at, Decimal(amount), "254712345678", "JOHN DOE", account, "600000",
                              {"Receipt No.": number}, source)


def scalar(owner: Engine, sql: str, **params: Any) -> Any:
    with owner.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def loan_number(owner: Engine, loan_id: int) -> str:
    return str(scalar(owner, "SELECT loan_number FROM loans WHERE id = :l", l=loan_id))


def balance(owner: Engine, code: str) -> Decimal:
    """Debits less credits of one account over the whole book."""
    return Decimal(scalar(owner, "SELECT coalesce(sum(d.debit - d.credit), 0) FROM journal_entry_details d "
                                 "JOIN chart_of_accounts a ON a.id = d.account_id WHERE a.account_code = :c", c=code))


def owed(owner: Engine, loan_id: int) -> Decimal:
    return Decimal(scalar(owner, "SELECT coalesce(sum(total_due - total_paid), 0) FROM payment_schedules "
                                 "WHERE loan_id = :l", l=loan_id))
