"""The books: chart of accounts with balances, journal entries with their lines, the trial balance, and the
accountant's manual entries (posted and reversed by post_manual_journal_entry / reverse_manual_journal_entry,
which hold every rule)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import text

from db.errors import ValidationError
from db.repositories.base import Repository
from db.repositories.branch_scope import branch_condition, branch_params
from db.validation import reason_problem

ZERO = Decimal("0.00")
DEBIT_NORMAL = ("asset", "expense")


@dataclass(frozen=True)
class AccountBalance:
    id: int
    account_code: str
    account_name: str
    account_type: str
    parent_id: int | None
    is_active: bool
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        """In the account's normal direction: debit minus credit for assets and expenses, else the reverse."""
        return self.debit - self.credit if self.account_type in DEBIT_NORMAL else self.credit - self.debit


@dataclass(frozen=True)
class JournalLine:
    account_code: str
    account_name: str
    debit: Decimal
    credit: Decimal
    description: str


@dataclass(frozen=True)
class JournalEntryView:
    id: int
    entry_number: str
    entry_date: date
    description: str
    transaction_id: int | None
    reverses_entry_id: int | None
    lines: tuple[JournalLine, ...]


@dataclass(frozen=True)
class TrialBalance:
    as_of: date
    accounts: tuple[AccountBalance, ...]

    @property
    def total_debit(self) -> Decimal:
        return sum((a.debit for a in self.accounts), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((a.credit for a in self.accounts), ZERO)

    @property
    def balances(self) -> bool:
        return self.total_debit == self.total_credit


@dataclass(frozen=True)
class ManualLine:
    """One line of a manual journal entry: an account and a debit or a credit (the other is zero)."""

    account_code: str
    debit: Decimal
    credit: Decimal
    memo: str = ""


def _lines_json(lines: list[ManualLine] | tuple[ManualLine, ...]) -> str:
    """The lines as post_manual_journal_entry reads them; amounts as exact decimal strings, never floats."""
    return json.dumps([{"account_code": line.account_code.strip(), "debit": str(line.debit),
                        "credit": str(line.credit), "memo": line.memo.strip()} for line in lines])


@dataclass(frozen=True)
class DailyTotal:
    day: date
    transaction_type: str
    count: int
    total: Decimal


def _trial_sql(branch: str) -> str:
    """The trial balance's query; `branch` is branch_condition's fixed fragment (or '')."""
    sql = ("WITH t AS (SELECT d.account_id, sum(d.debit - d.credit) AS net"
           " FROM journal_entries e JOIN journal_entry_details d ON d.journal_entry_id = e.id"
           " WHERE e.entry_date <= :d")
    sql += branch
    sql += """ GROUP BY d.account_id)
        SELECT a.id, a.account_code, a.account_name, a.account_type, a.parent_id, a.is_active,
               greatest(COALESCE(t.net, 0), 0.00) AS debit, greatest(COALESCE(-t.net, 0), 0.00) AS credit
        FROM chart_of_accounts a LEFT JOIN t ON t.account_id = a.id
        ORDER BY a.account_code
    """
    return sql


class AccountingRepository(Repository):
    def trial_balance(self, as_of: date, *, branch_id: int | None = None,
                      with_children: bool = True) -> TrialBalance:
        """Every account's net balance from the entries dated up to and including `as_of`, on one side only:
        a net debit in `debit`, a net credit in `credit`, the other side zero. The entries are the caller's
        whole scope, or one branch's (journal_entries.branch_id) with or without the branches below it."""
        with self.work() as session:
            rows = session.execute(text(_trial_sql(branch_condition("e.branch_id", branch_id, with_children))),
                                   {"d": as_of, **branch_params(branch_id)}).all()
        return TrialBalance(as_of, tuple(AccountBalance(*row) for row in rows))

    def chart_of_accounts(self, as_of: date, *, branch_id: int | None = None,
                          with_children: bool = True) -> tuple[AccountBalance, ...]:
        return self.trial_balance(as_of, branch_id=branch_id, with_children=with_children).accounts

    def journal(self, date_from: date, date_to: date, *, account_code: str | None = None,
                transaction_id: int | None = None, limit: int = 200, branch_id: int | None = None,
                with_children: bool = True) -> list[JournalEntryView]:
        """Entries dated from `date_from` to `date_to` with their lines, of the caller's whole scope or of one
        branch with or without the branches below it."""
        with self.work() as session:
            # One statement for every choice of branch (none: the caller's whole scope); the chosen branch's
            # subtree is read once, as an init plan.
            entries = session.execute(
                text("""
                    SELECT e.id, e.entry_number, e.entry_date, e.description, e.transaction_id, e.reverses_entry_id
                    FROM journal_entries e
                    WHERE e.entry_date BETWEEN :f AND :t
                      AND (CAST(:branch AS bigint) IS NULL OR e.branch_id = ANY(CAST((SELECT CASE
                            WHEN CAST(:children AS boolean) THEN branch_subtree(CAST(:branch AS bigint))
                            ELSE ARRAY[CAST(:branch AS bigint)] END) AS bigint[])))
                      AND (CAST(:txn AS bigint) IS NULL OR e.transaction_id = :txn)
                      AND (CAST(:code AS text) IS NULL OR EXISTS (
                            SELECT 1 FROM journal_entry_details d JOIN chart_of_accounts a ON a.id = d.account_id
                            WHERE d.journal_entry_id = e.id AND a.account_code = :code))
                    ORDER BY e.entry_date, e.id
                    LIMIT :limit
                """),
                {"f": date_from, "t": date_to, "txn": transaction_id, "code": account_code, "limit": limit,
                 "branch": branch_id, "children": with_children},
            ).all()
            ids = [e.id for e in entries]
            lines = session.execute(
                text("""
                    SELECT d.journal_entry_id, a.account_code, a.account_name, d.debit, d.credit,
                           COALESCE(d.description, '') AS description
                    FROM journal_entry_details d JOIN chart_of_accounts a ON a.id = d.account_id
                    WHERE d.journal_entry_id = ANY(:ids)
                    ORDER BY d.journal_entry_id, d.debit DESC, d.id
                """),
                {"ids": ids},
            ).all()
        by_entry: dict[int, list[JournalLine]] = {}
        for line in lines:
            by_entry.setdefault(line.journal_entry_id, []).append(JournalLine(*line[1:]))
        return [JournalEntryView(e.id, e.entry_number, e.entry_date, e.description, e.transaction_id,
                                 e.reverses_entry_id, tuple(by_entry.get(e.id, ()))) for e in entries]

    def daily_transactions(self, date_from: date, date_to: date, *, branch_id: int | None = None,
                           with_children: bool = True) -> list[DailyTotal]:
        """Transactions per day and type (vw_daily_transactions' figures), of the caller's whole scope or of one
        branch with or without the branches below it."""
        with self.work() as session:
            rows = session.execute(
                text("""
                    SELECT t.transaction_date, t.transaction_type, count(*)::bigint, sum(t.amount)
                    FROM transactions t
                    WHERE t.transaction_date BETWEEN :f AND :t
                      AND (CAST(:branch AS bigint) IS NULL OR t.branch_id = ANY(CAST((SELECT CASE
                            WHEN CAST(:children AS boolean) THEN branch_subtree(CAST(:branch AS bigint))
                            ELSE ARRAY[CAST(:branch AS bigint)] END) AS bigint[])))
                    GROUP BY t.transaction_date, t.transaction_type
                    ORDER BY t.transaction_date, t.transaction_type
                """),
                {"f": date_from, "t": date_to, "branch": branch_id, "children": with_children},
            ).all()
        return [DailyTotal(*row) for row in rows]

    def post_manual_entry(self, entry_date: date, description: str,
                          lines: list[ManualLine] | tuple[ManualLine, ...]) -> int:
        """Post a balanced manual entry (accountants only) and return its id. Refusals name their field:
        ValidationError on `entry_date`, `description` or `lines` (the message says which line and why)."""
        with self.work() as session:
            entry = session.execute(
                text("SELECT post_manual_journal_entry(:d, :description, CAST(:lines AS jsonb), :user)"),
                {"d": entry_date, "description": description, "lines": _lines_json(lines),
                 "user": self.actor.user_id},
            ).scalar_one()
        return int(entry)

    def reverse_manual_entry(self, entry_id: int, reason: str, entry_date: date | None = None) -> int:
        """Post the mirrored entry of a manual entry (dated today unless given) and return its id. An entry
        posted by a loan transaction, a reversal, or an entry already reversed is Refused; the reason and
        the date are ValidationError on `reason` / `entry_date`."""
        if problem := reason_problem(reason, "say why the entry is reversed"):
            raise ValidationError({"reason": problem})
        with self.work() as session:
            entry = session.execute(
                text("SELECT reverse_manual_journal_entry(:entry, :reason, :user, :d)"),
                {"entry": entry_id, "reason": reason.strip(), "user": self.actor.user_id, "d": entry_date},
            ).scalar_one()
        return int(entry)
