"""A book of three branches for the branch tests: head office HQ; NRB01 with NRB02 under it; MSA01 beside NRB01.

Each of NRB01, NRB02 and MSA01 has a member of staff of every role, and a customer with a disbursed loan that has a
payment and late penalties (a flat 50.00 rule), a pending application, a queued SMS, a manual journal entry, a
till T1 open with a float from the vault, a reschedule approved with another pending, and a center with a group whose
member has a weekly group loan and an attendance-only sheet; NRB01 transferred a second customer to NRB02.
Everything is made as the branch's own staff, through the login role the application uses, so the rows get their
branch the way the application's rows do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, text

from db.engine import Actor, unit_of_work

ROLES = ("cashier", "loan_officer", "supervisor", "accountant", "admin")
FAKE_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
TODAY = date.today()


@dataclass
class Branch:
    id: int
    code: str
    staff: dict[str, Actor] = field(default_factory=dict)
    customer: int = 0
    loan: int = 0
    pending_loan: int = 0
    payment: int = 0
    receipt: str = ""
    entry: int = 0
    sms: int = 0
    till: int = 0
    session: int = 0
    charge: int = 0
    reschedule: int = 0
    center: int = 0
    group: int = 0
    member: int = 0
    group_loan: int = 0
    meeting: date = TODAY
    loan_number: str = ""
    mm_receipt: int = 0
    mm_statement: int = 0


@dataclass
class Book:
    hq: Branch
    nrb: Branch
    nrb2: Branch
    msa: Branch

    @property
    def branches(self) -> tuple[Branch, ...]:
        return (self.hq, self.nrb, self.nrb2, self.msa)


def _one(engine: Engine, actor: Actor | None, sql: str, **params: Any) -> Any:
    with unit_of_work(engine, actor) as session:
        return session.execute(text(sql), params).scalar()


def _staff(owner: Engine, branch_id: int, code: str) -> dict[str, Actor]:
    staff = {}
    with owner.begin() as conn:
        for role in ROLES:
            name = f"{role}_{code}".lower()
            uid = conn.execute(text(
                "INSERT INTO users (username, password_hash, full_name, role, branch_id) "
                "VALUES (:u, :h, :n, :r, :b) RETURNING id"),
                {"u": name, "h": FAKE_HASH, "n": f"{role.replace('_', ' ').title()} {code}", "r": role,
                 "b": branch_id}).scalar_one()
            staff[role] = Actor(uid, name, role, name)
    return staff


def _customer(app: Engine, officer: Actor, surname: str) -> int:
    return _one(app, officer, "INSERT INTO customers (first_name, last_name, phone, created_by) "
                              "VALUES ('Amina', :s, '+254712000001', :me) RETURNING id", s=surname, me=officer.user_id)


def _application(app: Engine, officer: Actor, customer: int) -> int:
    return _one(app, officer,
                "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
                "repayment_frequency, application_date, loan_officer_id, created_by) "
                "VALUES (:c, 12000, 24, 'declining_balance', 12, 'monthly', :d, :me, :me) RETURNING id",
                c=customer, d=TODAY - timedelta(days=120), me=officer.user_id)


def _fill(app: Engine, owner: Engine, branch: Branch) -> None:
    s = branch.staff
    branch.customer = _customer(app, s["loan_officer"], f"Of{branch.code}")
    branch.loan = _application(app, s["loan_officer"], branch.customer)
    branch.pending_loan = _application(app, s["loan_officer"], branch.customer)
    _one(app, s["supervisor"], "SELECT approve_loan(:l, :me)", l=branch.loan, me=s["supervisor"].user_id)
    _one(app, s["cashier"], "SELECT disburse_loan(:l, :me, :d, :f)", l=branch.loan, me=s["cashier"].user_id,
         d=TODAY - timedelta(days=100), f=TODAY - timedelta(days=70))
    branch.payment = _one(app, s["cashier"], "SELECT record_loan_payment(:l, 500, :d, :me, :k)", l=branch.loan,
                          d=TODAY - timedelta(days=60), me=s["cashier"].user_id, k=f"pay-{branch.code}")
    with owner.connect() as conn:
        branch.receipt = conn.execute(text("SELECT receipt_number FROM transactions WHERE id = :t"),
                                      {"t": branch.payment}).scalar_one()
    lines = json.dumps([{"account_code": "1000", "debit": "100.00", "credit": "0"},
                         {"account_code": "3000", "debit": "0", "credit": "100.00"}])
    branch.entry = _one(app, s["accountant"], "SELECT post_manual_journal_entry(:d, :t, CAST(:l AS jsonb), :me)",
                        d=TODAY - timedelta(days=5), t=f"Float for {branch.code}", l=lines,
                        me=s["accountant"].user_id)
    _group(app, branch)
    with owner.begin() as conn:  # the outbox is written by the reminder job, as the owner
        branch.sms = conn.execute(text(
            "INSERT INTO sms_histories (customer_id, loan_id, phone_number, message, status) "
            "VALUES (:c, :l, '+254712000001', 'Reminder', 'queued') RETURNING id"),
            {"c": branch.customer, "l": branch.loan}).scalar_one()


def _group(app: Engine, branch: Branch) -> None:
    """A center, and a group meeting weekly since 14 days ago with a member and her weekly group loan (0023)."""
    s = branch.staff
    officer = s["loan_officer"]
    first = TODAY - timedelta(days=14)
    branch.meeting = TODAY
    branch.center = _one(app, officer, "SELECT create_group('center', 'Center', NULL, :me, :w, 'weekly', :d, NULL, "
                                       ":me)", w=first.isoweekday(), d=first, me=officer.user_id)
    branch.group = _one(app, officer, "SELECT create_group('group', 'Group', NULL, :me, :w, 'weekly', :d, NULL, :me)",
                        w=first.isoweekday(), d=first, me=officer.user_id)
    member = _customer(app, officer, f"Member{branch.code}")
    branch.member = _one(app, officer, "SELECT add_group_member(:g, :c, 'chair', :d, :me)", g=branch.group, c=member,
                         d=first, me=officer.user_id)
    branch.group_loan = _one(app, officer,
                             "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
                             "repayment_frequency, application_date, loan_officer_id, created_by, group_id) "
                             "VALUES (:c, 4000, 0, 'flat', 4, 'weekly', :d, :me, :me, :g) RETURNING id",
                             c=member, d=first, me=officer.user_id, g=branch.group)
    _one(app, s["supervisor"], "SELECT approve_loan(:l, :me)", l=branch.group_loan, me=s["supervisor"].user_id)
    _one(app, s["cashier"], "SELECT disburse_loan(:l, :me, :d, NULL, 'bank', 'B-1')", l=branch.group_loan,
         me=s["cashier"].user_id, d=first)


def build_book(owner: Engine, app: Engine) -> Book:
    """The three branches with their staff and rows; `owner` is the superuser engine, `app` the login role's."""
    with owner.begin() as conn:
        hq = conn.execute(text("SELECT id FROM branches WHERE parent_id IS NULL")).scalar_one()
        admin = conn.execute(text("SELECT id FROM users WHERE username = 'admin'")).scalar_one()
        nrb = conn.execute(text("SELECT create_branch('NRB01', 'Nairobi Central', :p, :a)"),
                           {"p": hq, "a": admin}).scalar_one()
        nrb2 = conn.execute(text("SELECT create_branch('nrb02 ', 'Nairobi Gikomba', :p, :a)"),
                            {"p": nrb, "a": admin}).scalar_one()
        msa = conn.execute(text("SELECT create_branch('MSA01', 'Mombasa', :p, :a)"),
                           {"p": hq, "a": admin}).scalar_one()
        hq_staff = {r: Actor(uid, name, r, name) for name, uid, r in conn.execute(text(
            "SELECT username, id, role FROM users WHERE branch_id = :b AND username IN "
            "('cashier', 'officer', 'supervisor', 'accountant', 'admin')"), {"b": hq})}
    book = Book(Branch(hq, "HQ", hq_staff), Branch(nrb, "NRB01"), Branch(nrb2, "NRB02"), Branch(msa, "MSA01"))
    for branch in (book.nrb, book.nrb2, book.msa):
        branch.staff = _staff(owner, branch.id, branch.code)
        _fill(app, owner, branch)
    # NRB01 moves a second customer, with an active loan, to NRB02.
    moving = _customer(app, book.nrb.staff["loan_officer"], "Mover")
    loan = _application(app, book.nrb.staff["loan_officer"], moving)
    sup, cashier = book.nrb.staff["supervisor"], book.nrb.staff["cashier"]
    _one(app, sup, "SELECT approve_loan(:l, :me)", l=loan, me=sup.user_id)
    _one(app, cashier, "SELECT disburse_loan(:l, :me, :d)", l=loan, me=cashier.user_id, d=TODAY - timedelta(days=30))
    _one(app, sup, "SELECT transfer_customer(:c, :b, 'Moved her shop to Gikomba', :me)", c=moving, b=book.nrb2.id,
         me=sup.user_id)
    for branch in (book.nrb, book.nrb2, book.msa):
        _tills(app, branch)
        _reschedules(app, branch)
        officer = branch.staff["loan_officer"]
        _one(app, officer, "SELECT post_collection_sheet(:g, :d, CAST(:l AS jsonb), :me, :k)", g=branch.group,
             d=TODAY - timedelta(days=7),
             l=json.dumps([{"loan_id": branch.group_loan, "amount": "0", "attended": True}]),
             me=officer.user_id, k=f"sheet-{branch.code}")
    _penalties(owner, book)
    for branch in (book.nrb, book.nrb2, book.msa):
        _mobile_money(app, owner, branch)
    return book


def _mobile_money(app: Engine, owner: Engine, branch: Branch) -> None:
    """An M-Pesa statement imported by the branch's cashier, with one receipt that matched nothing, waiting in
    suspense in the branch (0024)."""
    s = branch.staff
    cashier = s["cashier"]
    with owner.connect() as conn:
        branch.loan_number = conn.execute(text("SELECT loan_number FROM loans WHERE id = :l"),
                                          {"l": branch.loan}).scalar_one()
    branch.mm_statement = _one(app, cashier, "SELECT statement_id FROM mobile_money_statement_open(:f, :h, :me)",
                               f=f"{branch.code}.csv", h=f"{branch.id:064x}", me=cashier.user_id)
    branch.mm_receipt = _one(app, cashier,
                             "SELECT receipt_id FROM mobile_money_receive(:n, now(), 250, '+254712000001', 'A', "
                             "'nobody', '600000', '{}', 'statement', :me, :st)",
                             n=f"MM{branch.code}", me=cashier.user_id, st=branch.mm_statement)
    _one(app, cashier, "SELECT status FROM mobile_money_post(:r, :me)", r=branch.mm_receipt, me=cashier.user_id)
    _one(app, cashier, "SELECT mobile_money_statement_close(:st, 1, 250, 0, NULL, NULL, :me)",
         st=branch.mm_statement, me=cashier.user_id)


def _penalties(owner: Engine, book: Book) -> None:
    """A flat 50.00 penalty rule on every branch's loan, charged by the daily run (as the owner, as the job does)."""
    with owner.begin() as conn:
        rule = conn.execute(text(
            "INSERT INTO loan_products (code, name, interest_method, repayment_frequency, penalty_method, "
            "penalty_value) VALUES ('LATE', 'Late fee', 'declining_balance', 'monthly', 'flat', 50) RETURNING id"))
        conn.execute(text("UPDATE loans SET product_id = :p WHERE id = ANY(:l)"),
                     {"p": rule.scalar_one(), "l": [b.loan for b in (book.nrb, book.nrb2, book.msa)]})
        conn.execute(text("SELECT apply_overdue_penalties()"))
        for branch in (book.nrb, book.nrb2, book.msa):
            branch.charge = conn.execute(text("SELECT min(c.id) FROM loan_charges c WHERE c.loan_id = :l"),
                                         {"l": branch.loan}).scalar_one()


def _tills(app: Engine, branch: Branch) -> None:
    """A vault of 10,000.00 and a till T1 open with a float of 1,000.00 from it."""
    s = branch.staff
    lines = json.dumps([{"account_code": "1050", "debit": "10000.00", "credit": "0"},
                        {"account_code": "3000", "debit": "0", "credit": "10000.00"}])
    _one(app, s["accountant"], "SELECT post_manual_journal_entry(:d, :t, CAST(:l AS jsonb), :me)",
         d=TODAY - timedelta(days=1), t=f"Vault of {branch.code}", l=lines, me=s["accountant"].user_id)
    branch.till = _one(app, s["supervisor"], "SELECT create_till('T1', 'Counter 1', :me)", me=s["supervisor"].user_id)
    branch.session = _one(app, s["cashier"], "SELECT open_till(:t, 1000, :me)", t=branch.till,
                          me=s["cashier"].user_id)


def _reschedules(app: Engine, branch: Branch) -> None:
    """The loan rescheduled once from installment 2 (its old rows kept), and a second request waiting."""
    s = branch.staff
    done = _one(app, s["loan_officer"], "SELECT request_reschedule(:l, 2, :d, 2, NULL, 0, 'keep', 'Harvest', :me)",
                l=branch.loan, d=TODAY + timedelta(days=10), me=s["loan_officer"].user_id)
    _one(app, s["supervisor"], "SELECT approve_reschedule(:r, :me)", r=done, me=s["supervisor"].user_id)
    branch.reschedule = _one(app, s["loan_officer"],
                             "SELECT request_reschedule(:l, 3, :d, 1, NULL, 0, 'waive', 'Sick child', :me)",
                             l=branch.loan, d=TODAY + timedelta(days=50), me=s["loan_officer"].user_id)
