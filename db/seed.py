"""Seed data: the chart of accounts and SMS templates every installation needs, and the demo data.

Seeding is idempotent: rows are matched on their natural keys and never duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, create_engine, pool, text
from sqlalchemy.engine import URL

from db.passwords import hash_password

CHART_OF_ACCOUNTS = (
    ("1000", "Cash on Hand", "asset"),
    ("1100", "Bank", "asset"),
    ("1200", "Loan Portfolio", "asset"),
    ("2000", "Customer Overpayments", "liability"),
    ("3000", "Equity", "equity"),
    ("4000", "Interest Income", "income"),
    ("4100", "Penalty and Fee Income", "income"),
    ("5000", "Loan Loss Expense", "expense"),
)

SMS_TEMPLATES = (
    ("overdue_reminder", "loan_overdue",
     "Dear {first_name}, your loan {loan_number} is {days_past_due} days overdue. "
     "Amount due: {amount_overdue}. Please pay at the branch. AstroFinance"),
    ("payment_receipt", "payment_received",
     "Dear {first_name}, we received {amount} for loan {loan_number} on {payment_date}. "
     "Receipt {receipt_number}. Balance {balance}. AstroFinance"),
    ("loan_disbursed", "loan_disbursed",
     "Dear {first_name}, your loan {loan_number} of {principal} has been disbursed. "
     "First repayment of {installment} is due on {first_due_date}. AstroFinance"),
)

DEMO_USERS = (
    ("admin", "Amina Odhiambo", "admin"),
    ("supervisor", "Samuel Kiprop", "supervisor"),
    ("officer", "Grace Wanjiru", "loan_officer"),
    ("cashier", "Peter Mwangi", "cashier"),
    ("accountant", "Esther Njeri", "accountant"),
)


def demo_password(username: str) -> str:
    return f"{username}-demo"


@dataclass
class SeedReport:
    inserted: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, count: int) -> None:
        self.inserted[table] = self.inserted.get(table, 0) + count

    def summary(self) -> str:
        parts = [f"{count} {table}" for table, count in self.inserted.items() if count]
        return "added " + ", ".join(parts) if parts else "nothing to add: already seeded"


def seed_reference_data(conn: Connection, report: SeedReport) -> None:
    for code, name, kind in CHART_OF_ACCOUNTS:
        result = conn.execute(
            text("INSERT INTO chart_of_accounts (account_code, account_name, account_type) "
                 "VALUES (:code, :name, :kind) ON CONFLICT (account_code) DO NOTHING"),
            {"code": code, "name": name, "kind": kind},
        )
        report.add("accounts", result.rowcount)
    for name, event_type, body in SMS_TEMPLATES:
        result = conn.execute(
            text("INSERT INTO sms_templates (name, event_type, template_text) "
                 "VALUES (:name, :event, :body) ON CONFLICT (name) DO NOTHING"),
            {"name": name, "event": event_type, "body": body},
        )
        report.add("sms templates", result.rowcount)


def seed_demo_users(conn: Connection, report: SeedReport) -> None:
    for username, full_name, role in DEMO_USERS:
        exists = conn.execute(text("SELECT 1 FROM users WHERE lower(username) = :u"), {"u": username}).first()
        if exists:
            continue
        conn.execute(
            text("INSERT INTO users (username, password_hash, full_name, role) VALUES (:u, :h, :n, :r)"),
            {"u": username, "h": hash_password(demo_password(username)), "n": full_name, "r": role},
        )
        report.add("users", 1)


def seed_database(url: URL | str, *, demo: bool = False) -> SeedReport:
    """Seed reference data, and with `demo` the demo staff, customers and loans; twice changes nothing."""
    report = SeedReport()
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            seed_reference_data(conn, report)
            if demo:
                seed_demo_users(conn, report)
    finally:
        engine.dispose()
    return report
