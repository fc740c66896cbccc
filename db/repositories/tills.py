"""Tills: the cashier's session from float to count, the supervisor's approval of a count that differs, the till
sheet, the branch's sessions of a day and its vault.

Every rule lives in the database's functions (open_till, close_till, approve_till_close, create_till,
set_till_active) and every figure comes from one place there (till_session_cash: cash in, cash out and receipts of a
session; till_vault_balance: the 1050 lines of a branch). A refusal that belongs to a field comes back as a
ValidationError keyed by this module's parameter names: `till_id`, `opening_float`, `counted`, `reason`,
`denominations`, `code`, `name`, `active`; the others as Refused or NotFound with the database's sentence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from db.errors import AstrofinError, NotFound, ValidationError
from db.repositories.base import Repository

DENOMINATIONS: tuple[Decimal, ...] = tuple(Decimal(n) for n in (1000, 500, 200, 100, 50, 40, 20, 10, 5, 1))
PAYMENT_METHODS = ("cash", "mobile_money", "bank")

# The database's field (RAISE … USING COLUMN) → the parameter of this module it concerns.
FIELDS = {
    "till_id": "till_id", "opening_float": "opening_float", "counted_cash": "counted", "close_reason": "reason",
    "denominations": "denominations", "code": "code", "name": "name", "is_active": "active",
}


@dataclass(frozen=True)
class Till:
    id: int
    code: str
    name: str
    is_active: bool
    open_session_id: int | None
    held_by: str | None


@dataclass(frozen=True)
class TillSession:
    id: int
    till_id: int
    till_code: str
    till_name: str
    branch_code: str
    cashier_id: int
    cashier_name: str
    business_date: date
    opened_at: datetime
    status: str
    opening_float: Decimal
    cash_in: Decimal
    cash_out: Decimal
    expected_cash: Decimal
    receipt_count: int
    counted_cash: Decimal | None
    difference: Decimal | None
    close_reason: str | None
    counted_by_name: str | None
    approved_by_name: str | None
    closed_at: datetime | None


@dataclass(frozen=True)
class TillSheetLine:
    at: datetime
    kind: str  # 'float' | 'receipt' | 'payout' | 'reversal' | 'return'
    receipt_number: str | None
    loan_number: str | None
    customer_name: str | None
    cash_in: Decimal
    cash_out: Decimal


@dataclass(frozen=True)
class TillSheet:
    session: TillSession
    lines: tuple[TillSheetLine, ...]
    denominations: dict[str, str] | None


def on_fields(error: AstrofinError, fields: Mapping[str, str] = FIELDS) -> AstrofinError:
    """A field refusal of the database keyed by the caller's parameter names; other errors as they are."""
    if isinstance(error, ValidationError):
        return ValidationError({fields.get(name, name): message for name, message in error.fields.items()})
    return error


def _sessions(session: Session, *, id: int | None = None, cashier: int | None = None,
              day: date | None = None) -> list[Any]:
    """The sessions asked for, with their figures: one session (`id`), the cashier's open one (`cashier`), or a
    day's (`day`, with every session still open or waiting for approval)."""
    return list(session.execute(text("""
    SELECT s.id, s.till_id, t.code AS till_code, t.name AS till_name, b.code AS branch_code, s.cashier_id,
           cu.full_name AS cashier_name, s.business_date, s.opened_at, s.status, s.opening_float,
           c.cash_in, c.cash_out, coalesce(s.expected_cash, s.opening_float + c.cash_in - c.cash_out) AS expected_cash,
           c.receipts, s.counted_cash, s.difference, s.close_reason, cb.full_name AS counted_by_name,
           ab.full_name AS approved_by_name, s.closed_at
    FROM till_sessions s
    JOIN tills t ON t.id = s.till_id
    JOIN branches b ON b.id = s.branch_id
    JOIN users cu ON cu.id = s.cashier_id
    LEFT JOIN users cb ON cb.id = s.counted_by
    LEFT JOIN users ab ON ab.id = s.approved_by
    CROSS JOIN LATERAL till_session_cash(s.id) c
    WHERE (CAST(:id AS bigint) IS NULL OR s.id = CAST(:id AS bigint))
      AND (CAST(:cashier AS bigint) IS NULL OR (s.cashier_id = CAST(:cashier AS bigint) AND s.status = 'open'))
      AND (CAST(:day AS date) IS NULL OR s.business_date = CAST(:day AS date) OR s.status <> 'closed')
    ORDER BY b.code, t.code, s.opened_at, s.id
"""), {"id": id, "cashier": cashier, "day": day}).all())


def _session(row: Any) -> TillSession:
    return TillSession(row.id, row.till_id, row.till_code, row.till_name, row.branch_code, row.cashier_id,
                       row.cashier_name, row.business_date, row.opened_at, row.status, row.opening_float,
                       row.cash_in, row.cash_out, row.expected_cash, int(row.receipts), row.counted_cash,
                       row.difference, row.close_reason, row.counted_by_name, row.approved_by_name, row.closed_at)


class TillRepository(Repository):
    # --- reading --------------------------------------------------------------------------------------

    def tills_required(self) -> bool:
        """Whether the signed-in person's branch takes cash only into open tills."""
        with self.work() as session:
            required = session.execute(text(
                "SELECT b.tills_required FROM branches b WHERE b.id = astrofin_user_branch()")).scalar()
        return bool(required)

    def tills(self) -> list[Till]:
        """The tills of the signed-in person's branch, active first, each with who holds it open."""
        with self.work() as session:
            rows = session.execute(text("""
                SELECT t.id, t.code, t.name, t.is_active, s.id AS open_session_id, u.full_name AS held_by
                FROM tills t
                LEFT JOIN till_sessions s ON s.till_id = t.id AND s.status = 'open'
                LEFT JOIN users u ON u.id = s.cashier_id
                WHERE t.branch_id = astrofin_user_branch()
                ORDER BY NOT t.is_active, t.code
            """)).all()
        return [Till(r.id, r.code, r.name, r.is_active, r.open_session_id, r.held_by) for r in rows]

    def my_open_session(self) -> TillSession | None:
        """The signed-in person's open session, with its cash in, cash out, expected cash and receipts."""
        with self.work() as session:
            rows = _sessions(session, cashier=self.actor.user_id)
        return _session(rows[0]) if rows else None

    def session(self, session_id: int) -> TillSession:
        with self.work() as session:
            return self._get(session, session_id)

    def sessions(self, day: date) -> list[TillSession]:
        """Every session of the person's branch and those below it opened on `day`, and every session still open
        or waiting for approval, by branch, till and opening time."""
        with self.work() as session:
            rows = _sessions(session, day=day)
        return [_session(row) for row in rows]

    def sheet(self, session_id: int) -> TillSheet:
        """The till sheet: the float, each cash receipt, payout and reversal, and the return to the vault."""
        with self.work() as session:
            till_session = self._get(session, session_id)
            extra = session.execute(text("SELECT denominations, counted_at FROM till_sessions WHERE id = :s"),
                                    {"s": session_id}).one()
            rows = session.execute(text("""
                SELECT t.created_at AS at, t.transaction_type,
                       coalesce(t.receipt_number, o.receipt_number) AS receipt_number, l.loan_number,
                       c.first_name || ' ' || c.last_name AS customer_name,
                       CASE WHEN t.transaction_type IN ('repayment', 'recovery') THEN t.amount ELSE 0 END AS cash_in,
                       CASE t.transaction_type WHEN 'disbursement' THEN t.amount - t.fee_amount
                                               WHEN 'reversal' THEN t.amount ELSE 0 END AS cash_out
                FROM transactions t
                JOIN loans l ON l.id = t.loan_id
                JOIN customers c ON c.id = l.customer_id
                LEFT JOIN transactions o ON o.id = t.reverses_transaction_id
                WHERE t.till_session_id = :s
                ORDER BY t.created_at, t.id
            """), {"s": session_id}).all()
        kinds = {"repayment": "receipt", "recovery": "receipt", "disbursement": "payout", "reversal": "reversal"}
        zero = Decimal("0.00")
        lines = [TillSheetLine(till_session.opened_at, "float", None, None, None, till_session.opening_float, zero)]
        lines += [TillSheetLine(r.at, kinds[r.transaction_type], r.receipt_number, r.loan_number, r.customer_name,
                                Decimal(r.cash_in), Decimal(r.cash_out)) for r in rows]
        if till_session.status == "closed" and till_session.counted_cash and till_session.closed_at is not None:
            lines.append(TillSheetLine(till_session.closed_at, "return", None, None, None, zero,
                                       till_session.counted_cash))
        denominations = None
        if extra.denominations is not None:
            denominations = {str(k): str(v) for k, v in dict(extra.denominations).items()}
        return TillSheet(till_session, tuple(lines), denominations)

    def vault_balance(self) -> Decimal:
        """What the vault of the signed-in person's branch holds (its 1050 Vault Cash lines)."""
        with self.work() as session:
            balance = session.execute(text("SELECT till_vault_balance(astrofin_user_branch())")).scalar()
        return Decimal(balance or 0).quantize(Decimal("0.01"))

    # --- the counter ----------------------------------------------------------------------------------

    def open(self, till_id: int, opening_float: Decimal) -> TillSession:
        """Open a session on the till with a float from the vault (Dr 1000 / Cr 1050)."""
        try:
            with self.work() as session:
                session_id = session.execute(text("SELECT open_till(:till, :float, :me)"),
                                             {"till": till_id, "float": opening_float,
                                              "me": self.actor.user_id}).scalar_one()
                return self._get(session, int(session_id))
        except AstrofinError as error:
            raise on_fields(error) from error

    def close(self, session_id: int, counted: Decimal, reason: str | None,
              denominations: Mapping[str, str] | None = None) -> TillSession:
        """Count the drawer: closed when it matches (the cash returns to the vault), else waiting for a supervisor's
        approval with the reason, nothing posted yet."""
        pieces = None if denominations is None else json.dumps({str(k): str(v) for k, v in denominations.items()})
        try:
            with self.work() as session:
                session.execute(text("SELECT close_till(:s, :counted, :reason, :me, CAST(:pieces AS jsonb))"),
                                {"s": session_id, "counted": counted, "reason": reason, "me": self.actor.user_id,
                                 "pieces": pieces})
                return self._get(session, session_id)
        except AstrofinError as error:
            raise on_fields(error) from error

    def approve(self, session_id: int) -> TillSession:
        """A supervisor who neither held nor counted the till approves its count; the close is posted."""
        try:
            with self.work() as session:
                session.execute(text("SELECT approve_till_close(:s, :me)"),
                                {"s": session_id, "me": self.actor.user_id})
                return self._get(session, session_id)
        except AstrofinError as error:
            raise on_fields(error) from error

    # --- keeping the tills ----------------------------------------------------------------------------

    def create_till(self, code: str, name: str) -> Till:
        """A new till in the signed-in person's branch (supervisor or administrator)."""
        try:
            with self.work() as session:
                till_id = session.execute(text("SELECT create_till(:code, :name, :me)"),
                                          {"code": code, "name": name, "me": self.actor.user_id}).scalar_one()
                row = session.execute(text("SELECT id, code, name, is_active FROM tills WHERE id = :t"),
                                      {"t": till_id}).one()
        except AstrofinError as error:
            raise on_fields(error) from error
        return Till(row.id, row.code, row.name, row.is_active, None, None)

    def set_till_active(self, till_id: int, active: bool) -> None:
        """Reactivate or deactivate a till (not one that is open or waiting for its count's approval)."""
        try:
            with self.work() as session:
                session.execute(text("SELECT set_till_active(:t, :active, :me)"),
                                {"t": till_id, "active": active, "me": self.actor.user_id})
        except AstrofinError as error:
            raise on_fields(error) from error

    def rename_till(self, till_id: int, name: str) -> None:
        try:
            with self.work() as session:
                session.execute(text("SELECT rename_till(:t, :name, :me)"),
                                {"t": till_id, "name": name, "me": self.actor.user_id})
        except AstrofinError as error:
            raise on_fields(error) from error

    def _get(self, session: Session, session_id: int) -> TillSession:
        rows = _sessions(session, id=session_id)
        if not rows:
            raise NotFound(f"till session {session_id} does not exist or is not one of your branch's")
        return _session(rows[0])
