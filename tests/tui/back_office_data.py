"""Fixed data for the back office screens: loans disbursed and repaid on fixed days before the tests'
pinned today (2025-03-10), made through the repositories as staff would make them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from db.config import Settings, load_settings
from db.embedded import bin_dir
from db.engine import Actor
from db.repositories.accounting import AccountingRepository, ManualLine
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.repositories.payments import PaymentRepository, Receipt
from db.target import Target
from db.validation import CustomerInput
from tests.tui.conftest import TODAY

FIXED_AUDIT_TIME = "2025-03-10 09:30:00+00"


@dataclass(frozen=True)
class Book:
    receipt: Receipt
    """The cashier's payment on TODAY."""


def _loan(engine: Engine, actors: dict[str, Actor], first: str, last: str, phone: str, start: date,
          first_due: date, principal: str) -> int:
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name=first, last_name=last, phone=phone), today=start)
    terms = LoanTerms(Decimal(principal), Decimal("24.00"), "declining_balance", 12, "monthly")
    loan = LoanRepository(engine, actors["officer"]).apply(LoanApplication(customer.id, terms), today=start)
    LoanRepository(engine, actors["supervisor"]).approve(loan.id)
    LoanRepository(engine, actors["cashier"]).disburse(loan.id, start, first_due)
    return loan.id


def make_book(engine: Engine, actors: dict[str, Actor]) -> Book:
    """The owners' capital, then three loans: one repaid once then late (36 days), one never repaid (159 days),
    one paid today. The capital comes first, as in a real book, so cash on hand never goes below zero."""
    AccountingRepository(engine, actors["accountant"]).post_manual_entry(
        date(2024, 9, 1), "Owners' opening capital",
        (ManualLine("1000", Decimal("50000.00"), Decimal("0.00")), ManualLine("3000", Decimal("0.00"),
                                                                              Decimal("50000.00"))))
    late = _loan(engine, actors, "Achieng", "Otieno", "+254711000001", date(2024, 12, 2), date(2025, 1, 2), "10000.00")
    _loan(engine, actors, "Baraka", "Mwangi", "+254711000002", date(2024, 9, 2), date(2024, 10, 2), "5000.00")
    fresh = _loan(engine, actors, "Chebet", "Kiprono", "+254711000003", date(2025, 2, 10), date(2025, 3, 10),
                  "20000.00")
    payments = PaymentRepository(engine, actors["cashier"])
    payments.record(late, Decimal("945.60"), date(2025, 1, 2), "back-office-1")
    receipt = payments.record(fresh, Decimal("1500.00"), TODAY, "back-office-2")
    return Book(receipt)


def pin_audit_times(engine: Engine) -> None:
    """Give every audit row the same time, so screens that show it are the same on every run (test only)."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE audit_logs SET changed_at = :t, created_at = :t"), {"t": FIXED_AUDIT_TIME})
        conn.execute(text("""
            UPDATE audit_logs SET
                old_values = (SELECT jsonb_object_agg(k, CASE WHEN k LIKE '%\\_at' AND v <> 'null'::jsonb
                                                                  THEN to_jsonb(CAST(:t AS text)) ELSE v END)
                              FROM jsonb_each(old_values) AS e(k, v)),
                new_values = (SELECT jsonb_object_agg(k, CASE WHEN k LIKE '%\\_at' AND v <> 'null'::jsonb
                                                                  THEN to_jsonb(CAST(:t AS text)) ELSE v END)
                              FROM jsonb_each(new_values) AS e(k, v))
        """), {"t": FIXED_AUDIT_TIME})


def target_for(db_url: URL) -> Target:
    """The test database as the admin's backup and restore see it, with the bundled client tools."""
    return Target(db_url, db_url.set(database="postgres"), None, bin_dir())


def settings_for(backups: Path, *, backup_before_maintenance: bool = False) -> Settings:
    env = {"BACKUP_PATH": str(backups), "BACKUP_BEFORE_MAINTENANCE": "true" if backup_before_maintenance else "false"}
    return load_settings(env, user_file=backups / "no-such-user-config.json")
