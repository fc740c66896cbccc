"""Helpers for the ledger tests: staff, customers and loans made through the SQL functions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

TODAY = date.today()
CENT = Decimal("0.01")
LEDGER_TABLES = ("loans", "transactions", "payment_schedules", "journal_entries", "journal_entry_details")


@dataclass(frozen=True)
class Staff:
    admin: int
    supervisor: int
    officer: int
    cashier: int
    accountant: int
    supervisor2: int  # a second supervisor, for four-eyes cases


def load_staff(conn: Connection) -> Staff:
    ids = dict(conn.execute(text("SELECT username, id FROM users")).tuples().all())
    second = conn.execute(text(
        "INSERT INTO users (username, password_hash, full_name, role) "
        "VALUES ('supervisor2', '$argon2id$v=19$m=65536,t=3,p=4$x$y', 'Second Supervisor', 'supervisor') "
        "ON CONFLICT DO NOTHING RETURNING id")).scalar()
    if second is None:
        second = conn.execute(text("SELECT id FROM users WHERE username = 'supervisor2'")).scalar_one()
    return Staff(ids["admin"], ids["supervisor"], ids["officer"], ids["cashier"], ids["accountant"], second)


def scalar(conn: Connection, sql: str, **params: Any) -> Any:
    return conn.execute(text(sql), params).scalar()


def make_customer(conn: Connection, staff: Staff) -> int:
    return scalar(conn, "INSERT INTO customers (first_name, last_name, phone, created_by) "
                        "VALUES ('Test', 'Customer', '+254700000001', :by) RETURNING id", by=staff.officer)


def make_loan(conn: Connection, staff: Staff, *, principal: Decimal = Decimal("10000.00"),
              rate: Decimal = Decimal("24.00"), method: str = "declining_balance", term: int = 12,
              frequency: str = "monthly", application_date: date | None = None,
              created_by: int | None = None) -> int:
    """A pending application, created by the loan officer."""
    customer = make_customer(conn, staff)
    return scalar(
        conn,
        "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
        "repayment_frequency, application_date, loan_officer_id, created_by) "
        "VALUES (:c, :p, :r, :m, :t, :f, :a, :o, :by) RETURNING id",
        c=customer, p=principal, r=rate, m=method, t=term, f=frequency,
        a=application_date or date(2020, 1, 1), o=staff.officer, by=created_by or staff.officer,
    )


def active_loan(conn: Connection, staff: Staff, *, disbursed: date | None = None, first: date | None = None,
                **terms: Any) -> int:
    """An approved and disbursed loan (supervisor approves, cashier disburses)."""
    loan = make_loan(conn, staff, **terms)
    conn.execute(text("SELECT approve_loan(:l, :s)"), {"l": loan, "s": staff.supervisor})
    conn.execute(text("SELECT disburse_loan(:l, :c, :d, :f)"),
                 {"l": loan, "c": staff.cashier, "d": disbursed or TODAY - timedelta(days=365), "f": first})
    return loan


def pay(conn: Connection, staff: Staff, loan: int, amount: Decimal | str, when: date | None = None,
        key: str | None = None, by: int | None = None) -> int:
    return scalar(conn, "SELECT record_loan_payment(:l, :a, :d, :by, :k)", l=loan, a=Decimal(amount),
                  d=when or TODAY, by=by or staff.cashier, k=key)


def schedule(conn: Connection, loan: int) -> list[Any]:
    return list(conn.execute(text(
        "SELECT installment_number, due_date, principal_due, interest_due, penalty_due, total_due, "
        "principal_paid, interest_paid, penalty_paid, total_paid, status, paid_date "
        "FROM payment_schedules WHERE loan_id = :l ORDER BY installment_number"), {"l": loan}))


def owed(conn: Connection, loan: int) -> Decimal:
    return scalar(conn, "SELECT coalesce(sum(total_due - total_paid), 0) FROM payment_schedules "
                        "WHERE loan_id = :l", l=loan)


def principal_owed(conn: Connection, loan: int) -> Decimal:
    return scalar(conn, "SELECT coalesce(sum(principal_due - principal_paid), 0) FROM payment_schedules "
                        "WHERE loan_id = :l", l=loan)


def account_balance(conn: Connection, code: str) -> Decimal:
    """Debits minus credits on one account."""
    return scalar(conn, "SELECT coalesce(sum(d.debit - d.credit), 0) FROM journal_entry_details d "
                        "JOIN chart_of_accounts a ON a.id = d.account_id WHERE a.account_code = :c", c=code)


def postings(conn: Connection, transaction_id: int) -> list[tuple[str, Decimal, Decimal]]:
    return [tuple(r) for r in conn.execute(text(
        "SELECT a.account_code, d.debit, d.credit FROM journal_entries e "
        "JOIN journal_entry_details d ON d.journal_entry_id = e.id "
        "JOIN chart_of_accounts a ON a.id = d.account_id "
        "WHERE e.transaction_id = :t ORDER BY d.id"), {"t": transaction_id})]


def sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None)


@contextmanager
def refused(code: str, match: str | None = None) -> Iterator[pytest.ExceptionInfo[DBAPIError]]:
    """The block must fail in PostgreSQL with this SQLSTATE (and message fragment)."""
    with pytest.raises(DBAPIError) as info:
        yield info
    assert sqlstate(info.value) == code, str(info.value)
    if match is not None:
        assert match in str(info.value.orig), str(info.value.orig)


def fingerprint(engine: Engine) -> dict[str, tuple[int, str]]:
    """Row count and content hash of each ledger table (and audit_logs' count): what 'nothing changed' means."""
    out: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for table in (*LEDGER_TABLES, "audit_logs"):
            # Table names come from the fixed tuple above.
            row = conn.execute(text(
                f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '') FROM {table} t"  # noqa: S608
            )).one()
            out[table] = (row[0], row[1] if table != "audit_logs" else "")
    return out
