"""Two branches for the till tests, made through the login role as the application makes its rows.

NRB01 requires tills, MSA01 does not. Each has two cashiers, two supervisors, an accountant, a loan officer and an
administrator; a vault holding 200,000.00 (Dr 1050 / Cr 3000); tills T1 "Counter 1" and T2 "Counter 2"; and loans
disbursed 100 days ago (before the branch required tills), so repayments are due today.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from db.engine import Actor, unit_of_work

FAKE_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
TODAY = date.today()
STAFF = (("cashier", "cashier"), ("cashier2", "cashier"), ("supervisor", "supervisor"),
         ("supervisor2", "supervisor"), ("accountant", "accountant"), ("officer", "loan_officer"),
         ("admin", "admin"))
VAULT = Decimal("200000.00")


@dataclass
class TillBranch:
    id: int
    code: str
    staff: dict[str, Actor] = field(default_factory=dict)
    tills: dict[str, int] = field(default_factory=dict)
    loans: list[int] = field(default_factory=list)


@dataclass
class TillBook:
    nrb: TillBranch
    msa: TillBranch
    app: Engine
    owner: Engine


def one(engine: Engine, actor: Actor | None, sql: str, **params: Any) -> Any:
    """One statement in one unit of work as `actor` (the application's way: SET LOCAL ROLE, astrofin.user_id)."""
    with unit_of_work(engine, actor) as session:
        return session.execute(text(sql), params).scalar()


def _staff(owner: Engine, branch: TillBranch) -> None:
    with owner.begin() as conn:
        for key, role in STAFF:
            name = f"{key}_{branch.code}".lower()
            uid = conn.execute(text(
                "INSERT INTO users (username, password_hash, full_name, role, branch_id) "
                "VALUES (:u, :h, :n, :r, :b) RETURNING id"),
                {"u": name, "h": FAKE_HASH, "n": f"{key.title()} {branch.code}", "r": role,
                 "b": branch.id}).scalar_one()
            branch.staff[key] = Actor(uid, name, role, f"{key.title()} {branch.code}", branch_id=branch.id,
                                      branch_code=branch.code)


def make_loan(app: Engine, branch: TillBranch, surname: str, *, principal: int = 12000,
              disburse: bool = True, method: str = "cash", reference: str | None = None) -> int:
    """A loan of `branch`: applied 120 days ago, approved, and (unless told not to) disbursed 100 days ago."""
    s = branch.staff
    customer = one(app, s["officer"], "INSERT INTO customers (first_name, last_name, phone, created_by) "
                                      "VALUES ('Amina', :s, '+254712000001', :me) RETURNING id",
                   s=surname, me=s["officer"].user_id)
    loan = one(app, s["officer"],
               "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
               "repayment_frequency, application_date, loan_officer_id, created_by) "
               "VALUES (:c, :p, 24, 'declining_balance', 12, 'monthly', :d, :me, :me) RETURNING id",
               c=customer, p=principal, d=TODAY - timedelta(days=120), me=s["officer"].user_id)
    one(app, s["supervisor"], "SELECT approve_loan(:l, :me)", l=loan, me=s["supervisor"].user_id)
    if disburse:
        one(app, s["cashier2"], "SELECT disburse_loan(:l, :me, :d, :f, :m, :r)", l=loan,
            me=s["cashier2"].user_id, d=TODAY - timedelta(days=100), f=TODAY - timedelta(days=70), m=method,
            r=reference)
    return loan


def _branch(owner: Engine, app: Engine, code: str, name: str, required: bool, loans: int) -> TillBranch:
    with owner.begin() as conn:
        hq = conn.execute(text("SELECT id FROM branches WHERE parent_id IS NULL")).scalar_one()
        admin = conn.execute(text("SELECT id FROM users WHERE username = 'admin'")).scalar_one()
        branch_id = conn.execute(text("SELECT create_branch(:c, :n, :p, :a)"),
                                 {"c": code, "n": name, "p": hq, "a": admin}).scalar_one()
    branch = TillBranch(branch_id, code)
    _staff(owner, branch)
    s = branch.staff
    branch.loans = [make_loan(app, branch, f"Of{code}{n}") for n in range(loans)]
    lines = json.dumps([{"account_code": "1050", "debit": str(VAULT), "credit": "0"},
                        {"account_code": "3000", "debit": "0", "credit": str(VAULT)}])
    one(app, s["accountant"], "SELECT post_manual_journal_entry(:d, 'Vault opening', CAST(:l AS jsonb), :me)",
        d=TODAY - timedelta(days=1), l=lines, me=s["accountant"].user_id)
    for till_code, till_name in (("T1", "Counter 1"), ("T2", "Counter 2")):
        branch.tills[till_code] = one(app, s["supervisor"], "SELECT create_till(:c, :n, :me)", c=till_code,
                                      n=till_name, me=s["supervisor"].user_id)
    one(app, s["admin"], "SELECT set_branch_tills_required(:b, :r, :me)", b=branch.id, r=required,
        me=s["admin"].user_id)
    return branch


def build_till_book(owner: Engine, app: Engine, loans: int = 4) -> TillBook:
    return TillBook(_branch(owner, app, "NRB01", "Nairobi Central", True, loans),
                    _branch(owner, app, "MSA01", "Mombasa", False, loans), app, owner)
