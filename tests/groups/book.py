"""Two branches for the group tests, made through the login role as the application makes its rows.

NRB01 requires tills (its cashier holds T1 open with a float), MSA01 does not. In NRB01, group "Upendo" meets weekly
on the weekday of 28 days ago (its first meeting then) with four members, each with a weekly group loan of 5,200.00
at 0 % over 4 weeks... disbursed 28 days ago so the first installment falls due today's meeting minus 3 weeks; and
a center "Baraka" with a biweekly schedule holding group "Tumaini" of two members with biweekly loans. MSA01 has a
group of its own with one member and loan.
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
ANCHOR = TODAY - timedelta(days=28)  # the first meeting: four weeks ago, on today's weekday
STAFF = (("cashier", "cashier"), ("cashier2", "cashier"), ("supervisor", "supervisor"),
         ("supervisor2", "supervisor"), ("accountant", "accountant"), ("officer", "loan_officer"),
         ("officer2", "loan_officer"), ("admin", "admin"))


@dataclass
class GroupBranch:
    id: int
    code: str
    staff: dict[str, Actor] = field(default_factory=dict)
    till: int = 0
    group: int = 0
    center: int = 0
    subgroup: int = 0
    customers: list[int] = field(default_factory=list)
    loans: list[int] = field(default_factory=list)
    sub_loans: list[int] = field(default_factory=list)


@dataclass
class GroupBook:
    nrb: GroupBranch
    msa: GroupBranch
    app: Engine
    owner: Engine


def one(engine: Engine, actor: Actor | None, sql: str, **params: Any) -> Any:
    """One statement in one unit of work as `actor` (the application's way: SET LOCAL ROLE, astrofin.user_id)."""
    with unit_of_work(engine, actor) as session:
        return session.execute(text(sql), params).scalar()


def _staff(owner: Engine, branch: GroupBranch) -> None:
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


def customer(app: Engine, branch: GroupBranch, surname: str) -> int:
    s = branch.staff
    return int(one(app, s["officer"], "INSERT INTO customers (first_name, last_name, phone, created_by) "
                                      "VALUES ('Amina', :s, '+254712000001', :me) RETURNING id",
                   s=surname, me=s["officer"].user_id))


def group_loan(app: Engine, branch: GroupBranch, customer_id: int, group_id: int, *, frequency: str = "weekly",
               principal: int = 4000, term: int = 4, disbursed: date | None = ANCHOR,
               first: date | None = None) -> int:
    """A group loan at 0 % (installments of principal / term), approved, and disbursed on `disbursed` (None: not)."""
    s = branch.staff
    loan = one(app, s["officer"],
               "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
               "repayment_frequency, application_date, loan_officer_id, created_by, group_id) "
               "VALUES (:c, :p, 0, 'flat', :n, :f, :d, :me, :me, :g) RETURNING id",
               c=customer_id, p=principal, n=term, f=frequency, d=(disbursed or TODAY) - timedelta(days=1),
               me=s["officer"].user_id, g=group_id)
    one(app, s["supervisor"], "SELECT approve_loan(:l, :me)", l=loan, me=s["supervisor"].user_id)
    if disbursed is not None:
        one(app, s["cashier2"], "SELECT disburse_loan(:l, :me, :d, :f, 'bank', 'B-1')", l=loan,
            me=s["cashier2"].user_id, d=disbursed, f=first)
    return int(loan)


def create_group(app: Engine, actor: Actor, kind: str, name: str, *, parent: int | None = None,
                 weekday: int | None = None, frequency: str | None = "weekly", first: date | None = ANCHOR,
                 officer: int | None = None, place: str | None = "Market hall") -> int:
    return int(one(app, actor, "SELECT create_group(:k, :n, :p, :o, :w, :f, :d, :pl, :me)", k=kind, n=name,
                   p=parent, o=officer or actor.user_id,
                   w=weekday if weekday is not None or first is None else first.isoweekday(), f=frequency,
                   d=first, pl=place, me=actor.user_id))


def add_member(app: Engine, actor: Actor, group: int, customer_id: int, role: str = "member",
               joined: date | None = None) -> int:
    return int(one(app, actor, "SELECT add_group_member(:g, :c, :r, :j, :me)", g=group, c=customer_id, r=role,
                   j=joined or ANCHOR - timedelta(days=7), me=actor.user_id))


def _branch(owner: Engine, app: Engine, code: str, name: str, required: bool, members: int) -> GroupBranch:
    with owner.begin() as conn:
        hq = conn.execute(text("SELECT id FROM branches WHERE parent_id IS NULL")).scalar_one()
        admin = conn.execute(text("SELECT id FROM users WHERE username = 'admin'")).scalar_one()
        branch_id = conn.execute(text("SELECT create_branch(:c, :n, :p, :a)"),
                                 {"c": code, "n": name, "p": hq, "a": admin}).scalar_one()
    branch = GroupBranch(branch_id, code)
    _staff(owner, branch)
    s = branch.staff
    officer = s["officer"]
    branch.group = create_group(app, officer, "group", f"Upendo {code}")
    roles = ("chair", "secretary", "treasurer", "member")
    for n in range(members):
        c = customer(app, branch, f"Of{code}{n}")
        branch.customers.append(c)
        add_member(app, officer, branch.group, c, roles[n] if n < len(roles) else "member")
        branch.loans.append(group_loan(app, branch, c, branch.group))
    branch.center = create_group(app, officer, "center", f"Baraka {code}", frequency="biweekly")
    branch.subgroup = create_group(app, officer, "group", f"Tumaini {code}", parent=branch.center, weekday=None,
                                   frequency=None, first=None)
    for n in range(2):
        c = customer(app, branch, f"Tumaini{code}{n}")
        add_member(app, officer, branch.subgroup, c)
        branch.sub_loans.append(group_loan(app, branch, c, branch.subgroup, frequency="biweekly"))
    lines = json.dumps([{"account_code": "1050", "debit": "100000.00", "credit": "0"},
                        {"account_code": "3000", "debit": "0", "credit": "100000.00"}])
    one(app, s["accountant"], "SELECT post_manual_journal_entry(:d, 'Vault opening', CAST(:l AS jsonb), :me)",
        d=TODAY - timedelta(days=1), l=lines, me=s["accountant"].user_id)
    branch.till = one(app, s["supervisor"], "SELECT create_till('T1', 'Counter 1', :me)", me=s["supervisor"].user_id)
    one(app, s["admin"], "SELECT set_branch_tills_required(:b, :r, :me)", b=branch.id, r=required,
        me=s["admin"].user_id)
    if required:
        one(app, s["cashier"], "SELECT open_till(:t, 1000, :me)", t=branch.till, me=s["cashier"].user_id)
    return branch


def build_group_book(owner: Engine, app: Engine, members: int = 4) -> GroupBook:
    return GroupBook(_branch(owner, app, "NRB01", "Nairobi Central", True, members),
                     _branch(owner, app, "MSA01", "Mombasa", False, 1), app, owner)


def money(value: str) -> Decimal:
    return Decimal(value)
