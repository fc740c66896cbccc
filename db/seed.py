"""Seed data: the chart of accounts and SMS templates every installation needs, and the demo data.

Seeding is idempotent: rows are matched on their natural keys and never duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, create_engine, pool, text
from sqlalchemy.engine import URL

from db.passwords import hash_password

CHART_OF_ACCOUNTS = (
    ("1000", "Cash on Hand", "asset"),
    ("1050", "Vault Cash", "asset"),
    ("1100", "Bank", "asset"),
    ("1150", "Mobile Money Clearing", "asset"),
    ("1200", "Loan Portfolio", "asset"),
    ("1900", "Inter-branch Clearing", "asset"),
    ("2000", "Customer Overpayments", "liability"),
    ("2100", "Unallocated Receipts", "liability"),
    ("3000", "Equity", "equity"),
    ("3100", "Opening Balances", "equity"),
    ("4000", "Interest Income", "income"),
    ("4100", "Penalty and Fee Income", "income"),
    ("4300", "Bad Debt Recovered", "income"),
    ("5000", "Loan Loss Expense", "expense"),
    ("5100", "Cash Over and Short", "expense"),
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

# Demo loan products (code, name, method, frequency, principal min/max, rate min/max/usual, installments
# min/max/usual, fee percent, flat fee): a weekly business loan with a 2 % processing fee, a monthly loan on the
# declining balance with 1 % + 200.00, and a group loan repaid every two weeks with a flat 100.00.
DEMO_PRODUCTS = (
    ("BIZ-WEEKLY", "Business loan, weekly", "flat", "weekly", "3000", "50000", "24", "36", "30", 8, 26, 12,
     "2", "0"),
    ("MONTHLY-DB", "Monthly loan, declining balance", "declining_balance", "monthly", "5000", "500000", "18", "30",
     "24", 3, 36, 12, "1", "200"),
    ("GROUP-BIWEEKLY", "Group loan, every two weeks", "flat", "biweekly", "2000", "30000", "0", "30", "26", 4, 26,
     10, "0", "100"),
)
# Their late penalty rules (method, value, grace days, every N days, cap per installment): the monthly loan charges 5 %
# of the overdue installment 3 days after its due date and every 30 days after, at most 2,000.00 an installment; the
# weekly business loan 50.00 two days late and every week after, at most 500.00; the group loan charges nothing.
DEMO_PENALTY_RULES = {
    "MONTHLY-DB": ("percent_of_overdue_installment", "5", 3, 30, "2000"),
    "BIZ-WEEKLY": ("flat", "50", 2, 7, "500"),
}
DEMO_PRODUCT_COLUMNS = ("code", "name", "interest_method", "repayment_frequency", "principal_min", "principal_max",
                        "rate_min", "rate_max", "rate_default", "term_min", "term_max", "term_default", "fee_percent",
                        "fee_flat")


def demo_product_rows() -> list[dict[str, object]]:
    rows = []
    for values in DEMO_PRODUCTS:
        row: dict[str, object] = dict(zip(DEMO_PRODUCT_COLUMNS, values, strict=True))
        for name in ("principal_min", "principal_max", "rate_min", "rate_max", "rate_default", "fee_percent",
                     "fee_flat"):
            row[name] = Decimal(str(row[name]))
        method, value, grace, interval, cap = DEMO_PENALTY_RULES.get(str(row["code"]), ("none", "0", 0, None, None))
        row.update(penalty_method=method, penalty_value=Decimal(value), penalty_grace_days=grace,
                   penalty_interval_days=interval, penalty_cap=None if cap is None else Decimal(cap))
        rows.append(row)
    return rows


DEMO_USERS = (
    ("admin", "Amina Odhiambo", "admin"),
    ("supervisor", "Samuel Kiprop", "supervisor"),
    ("officer", "Grace Wanjiru", "loan_officer"),
    ("cashier", "Peter Mwangi", "cashier"),
    ("accountant", "Esther Njeri", "accountant"),
)
# The M-Pesa service user (0024): the head-office cashier `astrofin import mpesa` and `astrofin mpesa serve` post as
# (mpesa.user in the configuration). Made by the full demo seed (not the test template's staff), not offered on the
# sign-in screen; its password is "mpesa-demo" like the others.
DEMO_SERVICE_USERS = (("mpesa", "M-Pesa Paybill", "cashier"),)

# The demo institution's branches under the head office, and the staff of every role in each (password
# "<username>-demo", as for the head-office five above): (code, name, staff as (username, full name, role)).
DEMO_BRANCHES = (
    ("NRB01", "Nairobi Central", (
        ("admin.nrb", "Kevin Otieno", "admin"), ("supervisor.nrb", "Lucy Wambui", "supervisor"),
        ("officer.nrb", "James Mutiso", "loan_officer"), ("cashier.nrb", "Ann Chepkoech", "cashier"),
        ("accountant.nrb", "David Kariuki", "accountant"))),
    ("MSA01", "Mombasa", (
        ("admin.msa", "Rehema Ali", "admin"), ("supervisor.msa", "Omar Bakari", "supervisor"),
        ("officer.msa", "Zawadi Mwakio", "loan_officer"), ("cashier.msa", "Said Juma", "cashier"),
        ("accountant.msa", "Mariam Hamisi", "accountant"))),
)
COAST = {"Mombasa", "Malindi", "Lamu", "Dar es Salaam", "Zanzibar"}
"""Demo customers from these towns bank at the Mombasa branch; the others at Nairobi Central."""

# Demo customers: (first name, last name, gender, town, occupation, has a phone). A few names carry
# accents or an apostrophe so name search (pg_trgm) is tried on them; two customers have no phone.
DEMO_CUSTOMERS = (
    ("Zoë", "Ñandú", "female", "Nairobi", "Tailor", True),
    ("Wanjiku", "Kamau", "female", "Kiambu", "Greengrocer", True),
    ("Otieno", "Ochieng", "male", "Kisumu", "Fisherman", True),
    ("Achieng", "Atieno", "female", "Kisumu", "Fish trader", True),
    ("Kiprono", "Cheruiyot", "male", "Eldoret", "Dairy farmer", True),
    ("Chebet", "Jepkosgei", "female", "Kericho", "Tea picker", True),
    ("Mwangi", "Njoroge", "male", "Nakuru", "Boda boda rider", True),
    ("Nyambura", "Wairimu", "female", "Nyeri", "Hairdresser", True),
    ("Mutua", "Musyoka", "male", "Machakos", "Carpenter", True),
    ("Mwikali", "Ndunge", "female", "Kitui", "Basket weaver", True),
    ("Hassan", "Omar", "male", "Mombasa", "Matatu driver", True),
    ("Fatuma", "Abdalla", "female", "Malindi", "Food vendor", False),
    ("Baraka", "Mwakilema", "male", "Dar es Salaam", "Mechanic", True),
    ("Neema", "Kimaro", "female", "Arusha", "Seamstress", True),
    ("Juma", "Salim", "male", "Zanzibar", "Spice trader", True),
    ("Amani", "Mushi", "female", "Moshi", "Shopkeeper", True),
    ("Joseph", "Ssempala", "male", "Kampala", "Electrician", True),
    ("Nakato", "Namukasa", "female", "Jinja", "Market vendor", True),
    ("Okello", "Opio", "male", "Gulu", "Maize farmer", True),
    ("Agnès", "Uwase", "female", "Kigali", "Tailor", True),
    ("Josué", "Habimana", "male", "Musanze", "Potato farmer", True),
    ("Béatrice", "Nyiraneza", "female", "Huye", "Caterer", True),
    ("Renée", "Akinyi", "female", "Homa Bay", "Salon owner", True),
    ("Noël", "Kiptoo", "male", "Iten", "Running coach", True),
    ("Chloé", "Wambui", "female", "Thika", "Poultry farmer", True),
    ("Mercy", "Auma", "female", "Siaya", "Charcoal seller", True),
    ("Kevin", "Omondi", "male", "Kisumu", "Phone repairer", True),
    ("Faith", "Muthoni", "female", "Murang'a", "Dairy farmer", True),
    ("Daniel", "Kibet", "male", "Kapsabet", "Tea farmer", True),
    ("Halima", "Said", "female", "Lamu", "Boat builder", True),
    ("Ibrahim", "Mohamed", "male", "Garissa", "Livestock trader", False),
    ("Esther", "Nekesa", "female", "Bungoma", "Sugarcane farmer", True),
    ("Simiyu", "Wafula", "male", "Kitale", "Welder", True),
    ("Jeanne", "d'Arc Mukamana", "female", "Kigali", "Teacher", True),
    ("Élise", "Ingabire", "female", "Rubavu", "Coffee farmer", True),
    ("Tumaini", "Mrema", "male", "Moshi", "Driver", True),
)


def demo_customer_rows() -> list[dict[str, object]]:
    """The demo customers as rows: national IDs, E.164 Kenyan mobile numbers and adult birth dates,
    all derived from the position in the list, so every seeding produces the same data."""
    rows: list[dict[str, object]] = []
    for index, (first, last, gender, town, occupation, has_phone) in enumerate(DEMO_CUSTOMERS, start=1):
        email_name = f"{first}.{last}".lower().encode("ascii", "ignore").decode().replace("'", "").replace(" ", "")
        rows.append({
            "first": first,
            "last": last,
            "national_id": str(20_481_000 + index * 7_919),
            "phone": f"+2547{(12_345_678 + index * 1_048_573) % 100_000_000:08d}" if has_phone else None,
            "email": f"{email_name}@example.co.ke" if index % 3 == 0 else None,
            "dob": date(1962 + (index * 7) % 39, 1 + (index * 5) % 12, 1 + (index * 11) % 28),
            "gender": gender,
            "address": f"P.O. Box {100 + index * 37}, {town}",
            "occupation": occupation,
            "branch": "MSA01" if town in COAST else "NRB01",
        })
    return rows


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


def seed_demo_users(conn: Connection, report: SeedReport,
                    users: tuple[tuple[str, str, str], ...] = DEMO_USERS) -> None:
    for username, full_name, role in users:
        exists = conn.execute(text("SELECT 1 FROM users WHERE lower(username) = :u"), {"u": username}).first()
        if exists:
            continue
        conn.execute(
            text("INSERT INTO users (username, password_hash, full_name, role) VALUES (:u, :h, :n, :r)"),
            {"u": username, "h": hash_password(demo_password(username)), "n": full_name, "r": role},
        )
        report.add("users", 1)


def seed_demo_branches(conn: Connection, report: SeedReport) -> None:
    """The two demo branches under the head office, and their staff."""
    for code, name, staff in DEMO_BRANCHES:
        result = conn.execute(text(
            "INSERT INTO branches (code, name, parent_id) SELECT :code, :name, id FROM branches "
            "WHERE parent_id IS NULL ON CONFLICT (code) DO NOTHING"), {"code": code, "name": name})
        report.add("branches", result.rowcount)
        branch = conn.execute(text("SELECT id FROM branches WHERE code = :code"), {"code": code}).scalar_one()
        for username, full_name, role in staff:
            if conn.execute(text("SELECT 1 FROM users WHERE lower(username) = :u"), {"u": username}).first():
                continue
            conn.execute(
                text("INSERT INTO users (username, password_hash, full_name, role, branch_id) "
                     "VALUES (:u, :h, :n, :r, :b)"),
                {"u": username, "h": hash_password(demo_password(username)), "n": full_name, "r": role, "b": branch})
            report.add("users", 1)


def seed_demo_customers(conn: Connection, report: SeedReport) -> None:
    """Insert the demo customers that are missing, matched on national ID, each in the branch of their town."""
    for row in demo_customer_rows():
        officer = conn.execute(text(
            "SELECT u.id FROM users u JOIN branches b ON b.id = u.branch_id "
            "WHERE b.code = :b AND u.role = 'loan_officer' ORDER BY u.id LIMIT 1"), {"b": row["branch"]}).scalar()
        result = conn.execute(
            text("INSERT INTO customers (first_name, last_name, national_id, phone, email, date_of_birth, "
                 "gender, address, occupation, created_by, branch_id) "
                 "SELECT :first, :last, :national_id, :phone, :email, :dob, :gender, :address, :occupation, "
                 ":created_by, b.id FROM branches b WHERE b.code = :branch "
                 "ON CONFLICT (national_id) WHERE national_id IS NOT NULL DO NOTHING"),
            {**row, "created_by": officer},
        )
        report.add("customers", result.rowcount)


def seed_demo_products(conn: Connection, report: SeedReport) -> None:
    """The demo loan products that are missing, matched on code (created in the demo admin's name)."""
    admin = conn.execute(text("SELECT id FROM users WHERE lower(username) = 'admin'")).scalar()
    conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(admin or "")})
    for row in demo_product_rows():
        result = conn.execute(
            # Not ON CONFLICT: the table's trigger refuses a taken code in words before the unique key is tried.
            text("INSERT INTO loan_products (code, name, interest_method, repayment_frequency, principal_min, "
                 "principal_max, rate_min, rate_max, rate_default, term_min, term_max, term_default, fee_percent, "
                 "fee_flat, penalty_method, penalty_value, penalty_grace_days, penalty_interval_days, penalty_cap, "
                 "created_by) "
                 "SELECT :code, :name, :interest_method, :repayment_frequency, :principal_min, :principal_max, "
                 ":rate_min, :rate_max, :rate_default, :term_min, :term_max, :term_default, :fee_percent, :fee_flat, "
                 ":penalty_method, :penalty_value, :penalty_grace_days, :penalty_interval_days, :penalty_cap, "
                 ":created_by WHERE NOT EXISTS (SELECT 1 FROM loan_products WHERE code = :code)"),
            {**row, "created_by": admin},
        )
        report.add("loan products", result.rowcount)
    conn.execute(text("SELECT set_config('astrofin.user_id', '', true)"))


def seed_demo_loans(conn: Connection, report: SeedReport) -> None:
    """The demo loans, written through the ledger's own functions (db/demo_loans.py)."""
    from db import demo_loans

    report.add("loans", demo_loans.seed_demo_loans(conn))


def seed_demo_penalties(conn: Connection, report: SeedReport) -> None:
    """The late penalties due today on the demo loans in arrears, charged as the daily run does."""
    report.add("penalty charges", int(conn.execute(text("SELECT apply_overdue_penalties()")).scalar_one()))


def seed_demo_groups(conn: Connection, report: SeedReport) -> None:
    """The demo centers and groups with their members, group loans and meetings (db/demo_groups.py)."""
    from db import demo_groups

    report.add("groups", demo_groups.seed_demo_groups(conn))


def seed_demo_tills(conn: Connection, report: SeedReport) -> None:
    """The demo branches' tills and vaults, after the demo history (db/demo_loans.py)."""
    from db import demo_loans

    report.add("tills", demo_loans.seed_demo_tills(conn))


def seed_database(url: URL | str, *, demo: bool = False, staff_only: bool = False) -> SeedReport:
    """Seed reference data, and with `demo` the demo staff, customers and loans; twice changes nothing.

    `staff_only` stops the demo data after the five staff accounts (what the test template holds).
    """
    report = SeedReport()
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            seed_reference_data(conn, report)
            if demo:
                seed_demo_users(conn, report)
                if not staff_only:
                    seed_demo_users(conn, report, DEMO_SERVICE_USERS)
                    seed_demo_branches(conn, report)
                    seed_demo_products(conn, report)
                    seed_demo_customers(conn, report)
                    seed_demo_loans(conn, report)
                    seed_demo_groups(conn, report)
                    seed_demo_penalties(conn, report)
                    seed_demo_tills(conn, report)
    finally:
        engine.dispose()
    return report
