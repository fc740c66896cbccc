"""A book over three branches under the head office: Nairobi (NRB01) with Westlands (NRB02) below it, and
Mombasa (MSA01) beside it. Each branch has its own loan officer (a copy of the demo officer, same password);
the head office's supervisor approves and its cashier disburses, and every loan lands in its customer's branch.

| loan       | branch | officer     | days since disbursement | days past due |
|------------|--------|-------------|-------------------------|---------------|
| nrb_late   | NRB01  | officer.nrb | 40                      | 10            |
| nrb_fresh  | NRB01  | officer.nrb | 10                      | 0             |
| wst_late   | NRB02  | officer.wst | 75                      | 45            |
| msa_late   | MSA01  | officer.msa | 100                     | 70            |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine, text

from db.engine import Actor, unit_of_work
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanDetail, LoanRepository, LoanTerms
from db.validation import CustomerInput

BRANCHES = (("NRB01", "Nairobi", "HQ"), ("NRB02", "Westlands", "NRB01"), ("MSA01", "Mombasa", "HQ"))
OFFICERS = {"NRB01": "officer.nrb", "NRB02": "officer.wst", "MSA01": "officer.msa"}
LOANS = (("nrb_late", "NRB01", 40, "10000.00"), ("nrb_fresh", "NRB01", 10, "6000.00"),
         ("wst_late", "NRB02", 75, "8000.00"), ("msa_late", "MSA01", 100, "12000.00"))


@dataclass(frozen=True)
class BranchBook:
    branches: dict[str, int]
    """Branch code → id (HQ included)."""
    officers: dict[str, Actor]
    """Branch code → that branch's loan officer."""
    loans: dict[str, LoanDetail]
    branch_of: dict[str, str]
    """Loan name → the code of its branch."""


def _create_branches(engine: Engine, admin: Actor) -> dict[str, int]:
    with engine.connect() as conn:
        ids = {"HQ": int(conn.execute(text("SELECT id FROM branches WHERE code = 'HQ'")).scalar_one())}
    for code, name, parent in BRANCHES:
        with unit_of_work(engine, admin) as session:
            ids[code] = int(session.execute(text("SELECT create_branch(:c, :n, :p, :u)"),
                                            {"c": code, "n": name, "p": ids[parent], "u": admin.user_id}).scalar_one())
    with engine.begin() as conn:  # the book pays out cash without tills
        conn.execute(text("UPDATE branches SET tills_required = false"))
    return ids


def _officer(engine: Engine, username: str, branch_id: int) -> Actor:
    """A loan officer of the branch: the demo officer's row copied (its password is the demo one)."""
    with engine.begin() as conn:
        row = conn.execute(text("""
            INSERT INTO users (username, password_hash, full_name, role, branch_id)
            SELECT :u, password_hash, :name, role, :b FROM users WHERE username = 'officer'
            RETURNING id, username, role, full_name
        """), {"u": username, "name": f"Officer {username.split('.')[1].upper()}", "b": branch_id}).one()
    return Actor(row.id, row.username, row.role, row.full_name)


def make_branch_book(engine: Engine, actors: dict[str, Actor], today: date | None = None) -> BranchBook:
    today = today or date.today()
    branches = _create_branches(engine, actors["admin"])
    officers = {code: _officer(engine, username, branches[code]) for code, username in OFFICERS.items()}
    loans: dict[str, LoanDetail] = {}
    for name, code, days_ago, principal in LOANS:
        officer = officers[code]
        customer = CustomerRepository(engine, officer).create(
            CustomerInput(first_name=name.split("_")[0].title(), last_name=name.split("_")[1].title(),
                          phone="+254712345678"), today=today)
        start = today - timedelta(days=days_ago)
        terms = LoanTerms(Decimal(principal), Decimal("24.00"), "declining_balance", 12, "monthly")
        loan = LoanRepository(engine, officer).apply(LoanApplication(customer.id, terms), today=start)
        LoanRepository(engine, actors["supervisor"]).approve(loan.id)
        loans[name] = LoanRepository(engine, actors["cashier"]).disburse(loan.id, start, start + timedelta(days=30))
    return BranchBook(branches, officers, loans, {name: code for name, code, _, _ in LOANS})
