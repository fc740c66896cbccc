"""Demo loans: a few dozen loans in every status, made through the ledger's SQL functions.

The books open with the owners' capital (the accountant's manual entry Dr Cash on Hand, Cr Equity) dated before
the first application and as large as every demo disbursement together, so cash never goes below zero. Dates are
relative to today, so the demo always shows loans on time, in arrears at several days past due, defaulted,
closed and written off. Runs as the superuser inside the caller's transaction; each call names the demo user
doing it (officer creates, supervisor approves, cashier disburses and takes payments, accountant posts the
capital), and `astrofin.user_id` is set to that user so the audit log names them too.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sqlalchemy import Connection, text

from db.demo_groups import GROUP_LENDING
from db.errors import AstrofinError
from db.seed import CHART_OF_ACCOUNTS

MIN_CUSTOMERS = 12
DISBURSED_KINDS = ("current", "arrears", "defaulted", "closed", "written_off", "reversed")
CASH_ACCOUNT = "1000"  # Cash on Hand: the ledger functions pay loans out of it and take payments into it
CAPITAL_ACCOUNT = next(code for code, _name, kind in CHART_OF_ACCOUNTS if kind == "equity")
CAPITAL_STEP = Decimal("100000")
VAULT_ACCOUNT = "1050"  # Vault Cash: tills are floated from it and counted back into it
DEMO_VAULT = Decimal("200000.00")
DEMO_TILLS = (("T1", "Counter 1"), ("T2", "Counter 2"))
TILL_BRANCHES = ("NRB01", "MSA01")
"""The demo branches that take cash only into open tills; each has DEMO_TILLS and a vault of DEMO_VAULT."""
PERIOD_DAYS = {"weekly": 7, "biweekly": 14}

DEMO_CUSTOMERS = (
    ("Wanjiku", "Kamau", "female", "Market trader"),
    ("Otieno", "Ochieng", "male", "Boda boda rider"),
    ("Achieng", "Atieno", "female", "Tailor"),
    ("Mutua", "Musyoka", "male", "Carpenter"),
    ("Njoki", "Mwangi", "female", "Hairdresser"),
    ("Kiprono", "Langat", "male", "Dairy farmer"),
    ("Nafula", "Wekesa", "female", "Grocer"),
    ("Omondi", "Odhiambo", "male", "Fishmonger"),
    ("Chebet", "Koech", "female", "Tea farmer"),
    ("Baraka", "Kilonzo", "male", "Mechanic"),
    ("Zawadi", "Mohamed", "female", "Caterer"),
    ("Juma", "Hassan", "male", "Shopkeeper"),
)

PURPOSES = ("Stock for the shop", "Sewing machine", "Dairy cow", "Motorcycle repair", "School fees",
            "Greenhouse", "Salon equipment", "Fishing nets", "Tea seedlings", "Welding tools")


@dataclass(frozen=True)
class Plan:
    """One demo loan: its terms and the state it ends in.

    kind: pending, approved, rejected, current (paid up to date), arrears (oldest unpaid installment
    `dpd` days late, `paid` installments paid before it, `partial` of the next one), closed,
    written_off (arrears, then written off), reversed (current, plus a payment that was reversed).
    """

    kind: str
    principal: str
    rate: str = "24"
    method: str = "declining_balance"
    term: int = 12
    frequency: str = "monthly"
    age: int = 0          # pending/approved/rejected: days since application; current/closed: since disbursement
    dpd: int = 0
    paid: int = 0
    partial: bool = False


PLANS = (
    Plan("pending", "25000", age=1), Plan("pending", "8000", "30", "flat", 8, "weekly", age=2),
    Plan("pending", "120000", "20", term=24, age=6),
    Plan("approved", "15000", age=2), Plan("approved", "6000", "28", "flat", 10, "biweekly", age=3),
    Plan("approved", "40000", "22", term=18, age=5),
    Plan("rejected", "300000", age=9), Plan("rejected", "12000", "30", "flat", age=12),
    Plan("rejected", "5000", "36", term=6, frequency="weekly", age=20),
    Plan("current", "30000", age=95), Plan("current", "10000", "24", "flat", 12, age=40),
    Plan("current", "5000", "30", "flat", 16, "weekly", age=50),
    Plan("current", "18000", "26", term=20, frequency="biweekly", age=120),
    Plan("current", "60000", "20", term=24, age=200), Plan("current", "9000", "28", term=6, age=10),
    Plan("arrears", "20000", dpd=4, paid=3), Plan("arrears", "7000", "30", "flat", 20, "weekly", dpd=12, paid=5,
                                                  partial=True),
    Plan("arrears", "45000", "22", term=18, dpd=25, paid=2), Plan("arrears", "12000", "26", "flat", dpd=40, paid=1,
                                                                   partial=True),
    Plan("arrears", "9000", "30", term=26, frequency="biweekly", dpd=58, paid=4),
    Plan("arrears", "35000", dpd=80, paid=1, partial=True),
    Plan("defaulted", "16000", dpd=105, paid=2), Plan("defaulted", "8000", "30", "flat", 24, "weekly", dpd=135,
                                                      paid=6),
    Plan("defaulted", "50000", "20", term=18, dpd=190, paid=1, partial=True),
    Plan("closed", "10000", term=6, age=230), Plan("closed", "4000", "30", "flat", 8, "weekly", age=90),
    Plan("closed", "25000", "22", term=12, age=400), Plan("closed", "6000", "0", "flat", 4, "biweekly", age=70),
    Plan("written_off", "22000", dpd=220, paid=1), Plan("written_off", "9500", "30", "flat", 12, dpd=260),
    Plan("reversed", "14000", age=100), Plan("reversed", "6500", "28", "flat", 10, "weekly", age=35),
)


@dataclass(frozen=True)
class DemoStaff:
    officer: int
    supervisor: int
    cashier: int
    accountant: int


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the month's last day, as the schedule does."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def step_back(day: date, frequency: str, periods: int) -> date:
    if frequency == "monthly":
        return add_months(day, -periods)
    return day - timedelta(days=PERIOD_DAYS[frequency] * periods)


def loan_dates(plan: Plan, today: date) -> tuple[date, date | None, date | None]:
    """A demo loan's application date, disbursement date (None when never disbursed) and first due date (None:
    the schedule's own, one period after disbursement)."""
    if plan.kind not in DISBURSED_KINDS:
        return today - timedelta(days=plan.age), None, None
    first: date | None = None
    if plan.kind in ("arrears", "defaulted", "written_off"):
        # Installment paid+1 falls `dpd` days ago; the first one `paid` periods before that.
        first = step_back(today - timedelta(days=plan.dpd), plan.frequency, plan.paid)
        disbursed = step_back(first, plan.frequency, 1)
    else:
        disbursed = today - timedelta(days=plan.age)
    return disbursed - timedelta(days=4), disbursed, first


def opening_capital() -> Decimal:
    """Every demo disbursement together (the group loans' too: db/demo_groups.py), rounded up to a whole 100,000:
    the only money that leaves the cash account is a disbursement or the reversal of a payment it took in earlier,
    so cash never goes negative."""
    lent = sum((Decimal(plan.principal) for plan in PLANS if plan.kind in DISBURSED_KINDS), GROUP_LENDING)
    return ((lent / CAPITAL_STEP).to_integral_value(rounding=ROUND_CEILING) * CAPITAL_STEP).quantize(Decimal("0.01"))


def opening_date(today: date) -> date:
    """The day before the first demo application."""
    return min(loan_dates(plan, today)[0] for plan in PLANS) - timedelta(days=1)


class _Seeder:
    def __init__(self, conn: Connection, staff: DemoStaff, customers: list[int]) -> None:
        self.conn = conn
        self.staff = staff
        self.customers = customers
        self.today: date = conn.execute(text("SELECT current_date")).scalar_one()

    def call(self, user_id: int, sql: str, **params: Any) -> Any:
        """One SQL function call in the name of a demo user."""
        self.conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(user_id)})
        return self.conn.execute(text(sql), params).scalar()

    def apply(self, plan: Plan, customer: int, purpose: str) -> None:
        if plan.kind not in DISBURSED_KINDS:
            loan = self.create(plan, customer, purpose, loan_dates(plan, self.today)[0])
            if plan.kind == "approved":
                self.call(self.staff.supervisor, "SELECT approve_loan(:l, :s)", l=loan, s=self.staff.supervisor)
            elif plan.kind == "rejected":
                self.call(self.staff.supervisor, "SELECT reject_loan(:l, :s, :r)", l=loan, s=self.staff.supervisor,
                          r="Income does not support the installment")
            return
        applied, disbursed, first = loan_dates(plan, self.today)
        assert disbursed is not None
        loan = self.create(plan, customer, purpose, applied)
        self.call(self.staff.supervisor, "SELECT approve_loan(:l, :s)", l=loan, s=self.staff.supervisor)
        self.conn.execute(text("UPDATE loans SET approved_at = (:d + time '10:00')::timestamptz WHERE id = :l"),
                          {"d": disbursed - timedelta(days=1), "l": loan})
        self.call(self.staff.cashier, "SELECT disburse_loan(:l, :c, :d, :f)", l=loan, c=self.staff.cashier,
                  d=disbursed, f=first)

        if plan.kind in ("arrears", "defaulted", "written_off"):
            rows = self.installments(loan)[: plan.paid]
        else:
            rows = [r for r in self.installments(loan) if r[1] <= self.today]
        for number, due, amount in rows:
            self.pay(loan, amount, due, f"{number}")
        if plan.partial:
            number, due, amount = self.installments(loan)[plan.paid]
            self.pay(loan, (amount / 2).quantize(Decimal("0.01")), min(due + timedelta(days=2), self.today),
                     f"{number}-part")
        if plan.kind == "defaulted":
            # Marking defaults belongs to the maintenance run; the demo states the outcome directly.
            self.conn.execute(text("UPDATE loans SET status = 'defaulted' WHERE id = :l"), {"l": loan})
        elif plan.kind == "written_off":
            self.conn.execute(text("UPDATE loans SET status = 'defaulted' WHERE id = :l"), {"l": loan})
            self.call(self.staff.supervisor, "SELECT write_off_loan(:l, :s, :r, :d)", l=loan,
                      s=self.staff.supervisor, r="Customer relocated; no contact for six months",
                      d=self.today - timedelta(days=10))
        elif plan.kind == "reversed":
            extra = self.pay(loan, Decimal("500.00"), self.today - timedelta(days=2), "extra")
            self.call(self.staff.supervisor, "SELECT reverse_transaction(:t, :s, :r)", t=extra,
                      s=self.staff.supervisor, r="Cheque returned unpaid")

    def create(self, plan: Plan, customer: int, purpose: str, applied: date) -> int:
        """The application, under the first active demo product whose terms it fits (else with no product; the
        database works out the product's fee)."""
        self.conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(self.staff.officer)})
        loan: int = self.conn.execute(
            text("INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
                 "repayment_frequency, purpose, application_date, loan_officer_id, created_by, product_id) "
                 "VALUES (:c, :p, :r, :m, :t, :f, :purpose, :a, :o, :o, "
                 "(SELECT p.id FROM loan_products p WHERE p.is_active AND p.interest_method = :m "
                 "   AND p.repayment_frequency = :f AND :p BETWEEN coalesce(p.principal_min, 0) "
                 "   AND coalesce(p.principal_max, :p) AND :r BETWEEN coalesce(p.rate_min, 0) "
                 "   AND coalesce(p.rate_max, :r) AND :t BETWEEN coalesce(p.term_min, 1) AND coalesce(p.term_max, :t) "
                 "   AND loan_product_fee(p.id, :p) < :p ORDER BY p.code LIMIT 1)) RETURNING id"),
            {"c": customer, "p": Decimal(plan.principal), "r": Decimal(plan.rate), "m": plan.method, "t": plan.term,
             "f": plan.frequency, "purpose": purpose, "a": applied, "o": self.staff.officer},
        ).scalar_one()
        return loan

    def installments(self, loan: int) -> list[tuple[int, date, Decimal]]:
        """Each installment still owing: number, due date, amount owed."""
        rows = self.conn.execute(
            text("SELECT installment_number, due_date, total_due - total_paid FROM payment_schedules "
                 "WHERE loan_id = :l AND total_paid < total_due ORDER BY installment_number"), {"l": loan})
        return [(int(n), d, Decimal(a)) for n, d, a in rows]

    def pay(self, loan: int, amount: Decimal, when: date, key: str) -> int:
        txn: int = self.call(self.staff.cashier, "SELECT record_loan_payment(:l, :a, :d, :c, :k)", l=loan, a=amount,
                             d=when, c=self.staff.cashier, k=f"demo-{loan}-{key}")
        return txn


def _staff(conn: Connection) -> DemoStaff:
    """The demo officer, supervisor, cashier and accountant (or the first active user in each role)."""
    found: dict[str, int] = {}
    for username, role in (("officer", "loan_officer"), ("supervisor", "supervisor"), ("cashier", "cashier"),
                           ("accountant", "accountant")):
        user_id = conn.execute(
            text("SELECT id FROM users WHERE role = :r AND is_active "
                 "ORDER BY (lower(username) = :u) DESC, id LIMIT 1"), {"r": role, "u": username}).scalar()
        if user_id is None:
            raise AstrofinError(f"Demo loans need an active {role.replace('_', ' ')}; seed the demo users first")
        found[role] = int(user_id)
    return DemoStaff(found["loan_officer"], found["supervisor"], found["cashier"], found["accountant"])


def _branch_staff(conn: Connection) -> dict[int, DemoStaff]:
    """Customer id -> the demo staff of the customer's branch, for customers whose branch has an active officer,
    supervisor, cashier and accountant of its own."""
    rows = conn.execute(text(
        "SELECT c.id, (SELECT array_agg(u.id ORDER BY u.id) FROM users u WHERE u.branch_id = c.branch_id "
        "AND u.is_active AND u.role = r.role) FROM customers c "
        "CROSS JOIN unnest(ARRAY['loan_officer', 'supervisor', 'cashier', 'accountant']) WITH ORDINALITY r(role, n) "
        "ORDER BY c.id, r.n")).all()
    found: dict[int, list[int]] = {}
    for customer, ids in rows:
        found.setdefault(int(customer), []).append(int(ids[0]) if ids else 0)
    return {customer: DemoStaff(*ids) for customer, ids in found.items() if all(ids)}


def _customers(conn: Connection, officer: int) -> list[int]:
    """The existing customers, topped up with demo ones to at least MIN_CUSTOMERS."""
    ids = [int(i) for i in conn.execute(text("SELECT id FROM customers ORDER BY id")).scalars()]
    for n, (first, last, gender, occupation) in enumerate(DEMO_CUSTOMERS):
        if len(ids) >= MIN_CUSTOMERS:
            break
        national_id: str | None = f"{27_450_100 + n}"
        if conn.execute(text("SELECT 1 FROM customers WHERE national_id = :n"), {"n": national_id}).first():
            national_id = None
        ids.append(int(conn.execute(
            text("INSERT INTO customers (first_name, last_name, national_id, phone, gender, occupation, created_by) "
                 "VALUES (:f, :l, :n, :p, :g, :o, :by) RETURNING id"),
            {"f": first, "l": last, "n": national_id, "p": f"+2547{12_300_100 + n}", "g": gender, "o": occupation,
             "by": officer},
        ).scalar_one()))
    return ids


def post_opening_capital(conn: Connection, accountant: int, amount: Decimal, day: date) -> int:
    """The owners' capital paid in, as the accountant's manual journal entry: Dr Cash on Hand, Cr Equity.
    Returns the journal entry's id."""
    lines = [{"account_code": CASH_ACCOUNT, "debit": str(amount), "memo": "Capital paid in"},
             {"account_code": CAPITAL_ACCOUNT, "credit": str(amount), "memo": "Owners' capital"}]
    conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(accountant)})
    entry: int = conn.execute(
        text("SELECT post_manual_journal_entry(:d, 'Opening capital paid in by the owners', "
             "CAST(:lines AS jsonb), :u)"),
        {"d": day, "lines": json.dumps(lines), "u": accountant},
    ).scalar_one()
    return entry


def seed_demo_loans(conn: Connection) -> int:
    """Post the opening capital and create the demo loans; returns how many loans. Does nothing (returns 0) when
    any loan exists."""
    if conn.execute(text("SELECT EXISTS (SELECT 1 FROM loans)")).scalar():
        return 0
    staff = _staff(conn)
    today: date = conn.execute(text("SELECT current_date")).scalar_one()
    post_opening_capital(conn, staff.accountant, opening_capital(), opening_date(today))
    conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(staff.officer)})
    customers = _customers(conn, staff.officer)
    seeder = _Seeder(conn, staff, customers)
    branch_staff = _branch_staff(conn)
    for n, plan in enumerate(PLANS):
        customer = customers[n % len(customers)]
        # The customer's branch's own staff make the loan when the branch has them (the demo branches do).
        seeder.staff = branch_staff.get(customer, staff)
        seeder.apply(plan, customer, PURPOSES[n % len(PURPOSES)])
    seeder.staff = staff
    conn.execute(text("SELECT set_config('astrofin.user_id', '', true)"))
    return len(PLANS)


def seed_demo_tills(conn: Connection) -> int:
    """The demo branches' tills, their vaults and the rule that cash goes through a till; returns how many tills
    were added. Run after the demo history (taken before tills): each vault opens with the owners' money, an
    accountant's entry Dr 1050 Vault Cash / Cr Equity dated today. No session is opened. Twice changes nothing."""
    added = 0
    for code in TILL_BRANCHES:
        branch = conn.execute(text("SELECT id FROM branches WHERE code = :c"), {"c": code}).scalar()
        if branch is None:
            continue
        supervisor = conn.execute(text(
            "SELECT id FROM users WHERE branch_id = :b AND role = 'supervisor' AND is_active ORDER BY id LIMIT 1"),
            {"b": branch}).scalar()
        for till_code, name in DEMO_TILLS:
            added += conn.execute(text(
                "INSERT INTO tills (branch_id, code, name, created_by) VALUES (:b, :c, :n, :by) "
                "ON CONFLICT (branch_id, code) DO NOTHING"), {"b": branch, "c": till_code, "n": name,
                                                              "by": supervisor}).rowcount
        has_vault = conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM journal_entry_details d JOIN journal_entries e ON e.id = d.journal_entry_id "
            "JOIN chart_of_accounts a ON a.id = d.account_id WHERE a.account_code = :v AND e.branch_id = :b)"),
            {"v": VAULT_ACCOUNT, "b": branch}).scalar()
        accountant = conn.execute(text(
            "SELECT id FROM users WHERE branch_id = :b AND role = 'accountant' AND is_active ORDER BY id LIMIT 1"),
            {"b": branch}).scalar()
        if not has_vault and accountant is not None:
            lines = [{"account_code": VAULT_ACCOUNT, "debit": str(DEMO_VAULT), "memo": "Cash for the tills"},
                     {"account_code": CAPITAL_ACCOUNT, "credit": str(DEMO_VAULT), "memo": "Owners' capital"}]
            # The entry belongs to the accountant's branch: the one whose vault it fills.
            conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(accountant)})
            conn.execute(text("SELECT post_manual_journal_entry(current_date, :t, CAST(:lines AS jsonb), :u)"),
                         {"t": f"Vault of {code} opened for the tills", "lines": json.dumps(lines), "u": accountant})
            conn.execute(text("SELECT set_config('astrofin.user_id', '', true)"))
        conn.execute(text("UPDATE branches SET tills_required = true WHERE id = :b AND NOT tills_required"),
                     {"b": branch})
    return added
