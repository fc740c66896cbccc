"""`astrofin db seed --scale N`: a synthetic portfolio of N customers for measuring the system at size.

What it writes, reproducibly for a given random seed and day:
- N customers (COPY) with East African names, unique national IDs and E.164 phone numbers;
- about 1.2 loans per customer (COPY) in every status: pending, approved, rejected, active, defaulted,
  closed and written off, from staff loan officers created for the purpose (sign-in disabled: their password
  hash is of a random secret nobody holds);
- for every disbursed loan: its schedule from the ledger's own schedule math (`ledger_schedule_rows`, run
  once per distinct product and laid on each loan's due dates, exactly as generate_payment_schedule does),
  its disbursement transaction, one repayment per paid installment (an installment is paid whole, in order,
  as record_loan_payment allocates it), a partial payment on some, a write-off transaction for written-off
  loans, and one balanced journal entry per transaction by the table in docs/database.md;
- the loans' summary columns (principal still owed, oldest unpaid due date);
- BRANCHES branches under the head office (the ones there are, then new ones up to that number): customers
  spread over them in turn, each loan, schedule, transaction and journal entry in its customer's branch,
  receipts numbered per branch from the branch's own sequence (`NRB01-R-000123`), and the loan officers spread
  over the branches too;
- the loans spread over the demo loan products (created when missing): a loan is made under the first active
  product whose method, frequency and ranges its terms fit, with that product's processing fee, which its
  disbursement collects (Cr 1000 principal less the fee, Cr 4100 the fee); other loans have no product. The
  products carry the demo's late penalty rules, so the daily run (`apply_overdue_penalties`) charges the book's
  arrears; the seed itself writes no charge.
Arrears are drawn so that PAR30 lands between 5 and 15 %; loans more than 90 days late are `defaulted`.

Speed: every row is COPYed (FREEZE) by one session, which runs with `session_replication_role = replica`
(no triggers fire: the audit log of a synthetic load is noise, no audit rows are written for seeded data, as
for a restore; no foreign-key checks) and `synchronous_commit = off`. It empties the big tables in its own
transaction (they must be empty already), so under `wal_level = minimal` (the benchmark's server) their rows
skip the WAL; it drops their secondary indexes, the keys no foreign key needs (DEFERRED_KEYS) and the INSERT
triggers with transition tables (PostgreSQL fills those for every row even when the trigger does not fire),
and puts them all back after the load, in the same transaction.

The book is drawn in a second thread a range of customers at a time (the range fixes the order of the random
draws and of the transaction ids), and handed to the loader in smaller pieces so that the server starts early
and both cores work. The drawing thread also derives each loan's schedule, transactions and journal lines as
COPY text, by the same rules the ledger's SQL applies (the product templates come from ledger_schedule_rows
on a connection of its own): the server parses rows instead of computing them with INSERT ... SELECT.

Because the deferred journal balance trigger is skipped too, the loader checks the ledger's invariants
itself (CHECKS) over the whole book once the indexes are built, in the same transaction, and rolls everything
back if one fails (the sequences move only after the checks hold): every journal entry has two lines or more
and balances; the Loan Portfolio account (1200) equals the principal still owed on the schedules of loans not
written off, and equals the sum of those loans' principal_outstanding; every loan's summary columns match its
schedule; closed loans owe nothing and active or defaulted ones do.

The database must be migrated, hold the chart of accounts, and have no customers or loans yet.
"""

from __future__ import annotations

import calendar
import functools
import queue
import random
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import psycopg
from sqlalchemy.engine import URL, make_url

from db.errors import AstrofinError
from db.passwords import hash_password
from db.seed import demo_product_rows

Progress = Callable[[str, float], None]

FIRST_NAMES_FEMALE = (
    "Achieng", "Adhiambo", "Akinyi", "Amina", "Anyango", "Atieno", "Auma", "Awino", "Beatrice", "Chebet",
    "Cherono", "Esther", "Faith", "Fatuma", "Grace", "Halima", "Jane", "Jepkosgei", "Joyce", "Judith", "Kerubo",
    "Lilian", "Lucy", "Mariam", "Mercy", "Moraa", "Mwanaisha", "Nafula", "Nakato", "Naliaka", "Nanjala",
    "Neema", "Njeri", "Nyambura", "Nyokabi", "Rehema", "Rose", "Salma", "Wairimu", "Wambui", "Wangari",
    "Wanjiku", "Wanjiru", "Zawadi", "Zuhura", "Agnès", "Béatrice", "Zoë",
)
FIRST_NAMES_MALE = (
    "Abdi", "Baraka", "Brian", "Charles", "Daniel", "David", "Dennis", "Emmanuel", "Hassan", "Ibrahim",
    "Isaac", "James", "John", "Joseph", "Juma", "Kamau", "Kevin", "Kibet", "Kiprono", "Kipchoge", "Mohamed",
    "Mwangi", "Ochieng", "Odhiambo", "Omondi", "Onyango", "Otieno", "Patrick", "Peter", "Samuel", "Simiyu",
    "Stephen", "Tumaini", "Wafula", "Wekesa", "Josué", "Noël",
)
# Surnames from stems and endings, so a full surname is shared by a few hundred customers in a million,
# as in a real register, not by tens of thousands.
SURNAME_STEMS = (
    "Wanj", "Kam", "Mw", "Ot", "Och", "Odh", "Kipr", "Chep", "Wek", "Waf", "Mut", "Ndu", "Nyam", "Kar",
    "Kib", "Mak", "Mus", "Nji", "Ong", "Okel", "Ssem", "Nab", "Habim", "Uwim", "Mugis", "Kimar", "Mre",
    "Ach", "Ndung", "Gich", "Kiman", "Mbu", "Rut", "Kos", "Lang", "Sang", "Tan", "Wer", "Bar", "Mwak",
)
SURNAME_ENDINGS = (
    "iru", "au", "angi", "ieno", "ieng", "iambo", "ono", "oge", "esa", "ula", "ua", "unge", "ura", "anja",
    "ete", "ena", "oka", "uki", "ande", "o", "ala", "ana", "ire", "ago", "ima", "ungu", "ari", "iti", "eri",
    "ayo",
)
TOWNS = ("Nairobi", "Mombasa", "Kisumu", "Nakuru", "Eldoret", "Thika", "Machakos", "Kitale", "Malindi",
         "Garissa", "Kakamega", "Nyeri", "Meru", "Kericho", "Bungoma", "Arusha", "Moshi", "Kampala", "Jinja",
         "Kigali")
OCCUPATIONS = ("Tailor", "Market vendor", "Dairy farmer", "Shopkeeper", "Boda boda rider", "Mechanic",
               "Hairdresser", "Tea farmer", "Fishmonger", "Welder", "Teacher", "Charcoal seller", "Caterer",
               "Carpenter", "Poultry farmer", "Matatu driver", "Phone repairer", "Seamstress")
PURPOSES = ("Stock for the shop", "Dairy cow", "Sewing machine", "School fees", "Motorcycle", "Seeds and fertiliser",
            "Salon equipment", "Fishing nets", "Poultry house", "Working capital")

# (frequency, terms, weight)
PRODUCTS = (("monthly", (6, 9, 12, 18), 70), ("biweekly", (6, 12), 10), ("weekly", (12, 16, 26), 20))
RATES = (Decimal("18.0000"), Decimal("24.0000"), Decimal("30.0000"), Decimal("36.0000"))
PERIOD_DAYS = {"weekly": 7, "biweekly": 14, "monthly": 30}
# Arrears of active loans: (weight, low, high) days the borrower stopped paying before today.
ARREARS = ((86, 0, 0), (6, 1, 30), (2, 31, 60), (2, 61, 90), (4, 91, 420))
STAFF_OFFICERS = 25
BRANCHES = 20
# Kenyan towns for the branches the seed adds: (code, name).
BRANCH_TOWNS = (("NRB", "Nairobi"), ("MSA", "Mombasa"), ("KSM", "Kisumu"), ("NKU", "Nakuru"), ("ELD", "Eldoret"),
                ("THK", "Thika"), ("MLD", "Malindi"), ("KTL", "Kitale"), ("GRS", "Garissa"), ("KKG", "Kakamega"),
                ("NYR", "Nyeri"), ("MRU", "Meru"), ("EMB", "Embu"), ("KRC", "Kericho"), ("NVS", "Naivasha"),
                ("MCK", "Machakos"), ("KTU", "Kitui"), ("BNG", "Bungoma"), ("VOI", "Voi"), ("LMU", "Lamu"))


@dataclass
class ScaleReport:
    customers: int = 0
    loans: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    par30: Decimal = Decimal("0")
    portfolio: Decimal = Decimal("0")
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    members: int = 0
    """Loans put in a group (the last statement of the groups step)."""

    def summary(self) -> str:
        statuses = ", ".join(f"{count} {status}" for status, count in sorted(self.by_status.items()))
        rows = ", ".join(f"{count} {table}" for table, count in self.rows.items())
        return (f"{self.customers} customers, {self.loans} loans ({statuses}); {rows}; "
                f"PAR30 {self.par30} %; Loan Portfolio {self.portfolio:,}; in {self.seconds:.1f} s")


def add_months(day: date, months: int) -> date:
    """PostgreSQL's date + interval 'n months': the same day, or the month's last day when shorter."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(first: date, frequency: str, k: int) -> date:
    """ledger_due_date: installment k counted from the first date, never chained."""
    if frequency == "monthly":
        return add_months(first, k - 1)
    return first + timedelta(days=(7 if frequency == "weekly" else 14) * (k - 1))


def _copy_text(value: object) -> str:
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


def _copy_lines(rows: Iterable[tuple[object, ...]]) -> bytes:
    out: list[str] = []
    for row in rows:
        line = "\t".join(["\\N" if v is None else str(v) for v in row])
        # Escape only a row that needs it: one whose text holds a backslash (beyond its NULL markers), a tab
        # or a line break.
        if (line.count("\\") != row.count(None) or line.count("\t") != len(row) - 1 or "\n" in line
                or "\r" in line):
            line = "\t".join(_copy_text(v) for v in row)
        out.append(line)
    out.append("")
    return "\n".join(out).encode("utf-8")


@functools.lru_cache(maxsize=65_536)
def _due_dates(first: date, frequency: str, term: int) -> tuple[date, ...]:
    return tuple(due_date(first, frequency, k) for k in range(1, term + 1))


@dataclass(frozen=True)
class _Product:
    """A loan product as the scale seed matches terms to it."""

    id: int
    interest_method: str
    repayment_frequency: str
    principal_min: Decimal | None
    principal_max: Decimal | None
    rate_min: Decimal | None
    rate_max: Decimal | None
    term_min: int | None
    term_max: int | None
    fee_percent: Decimal
    fee_flat: Decimal

    def fee(self, principal: Decimal) -> Decimal:
        return (principal * self.fee_percent / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) + self.fee_flat

    def takes(self, principal: Decimal, rate: Decimal, method: str, term: int, frequency: str) -> bool:
        return (method == self.interest_method and frequency == self.repayment_frequency
                and (self.principal_min is None or principal >= self.principal_min)
                and (self.principal_max is None or principal <= self.principal_max)
                and (self.rate_min is None or rate >= self.rate_min)
                and (self.rate_max is None or rate <= self.rate_max)
                and (self.term_min is None or term >= self.term_min)
                and (self.term_max is None or term <= self.term_max)
                and self.fee(principal) < principal)


def _catalogue(cur: psycopg.Cursor[tuple[object, ...]]) -> list[_Product]:
    """The demo loan products (added when missing), then every active product by code."""
    for row in demo_product_rows():
        cur.execute("INSERT INTO loan_products (code, name, interest_method, repayment_frequency, principal_min, "
                    "principal_max, rate_min, rate_max, rate_default, term_min, term_max, term_default, fee_percent, "
                    "fee_flat, penalty_method, penalty_value, penalty_grace_days, penalty_interval_days, penalty_cap) "
                    "SELECT %(code)s, %(name)s, %(interest_method)s, %(repayment_frequency)s, %(principal_min)s, "
                    "%(principal_max)s, %(rate_min)s, %(rate_max)s, %(rate_default)s, %(term_min)s, %(term_max)s, "
                    "%(term_default)s, %(fee_percent)s, %(fee_flat)s, %(penalty_method)s, %(penalty_value)s, "
                    "%(penalty_grace_days)s, %(penalty_interval_days)s, %(penalty_cap)s "
                    "WHERE NOT EXISTS (SELECT 1 FROM loan_products WHERE code = %(code)s)", row)
    cur.execute("SELECT id, interest_method, repayment_frequency, principal_min, principal_max, rate_min, rate_max, "
                "term_min, term_max, fee_percent, fee_flat FROM loan_products WHERE is_active ORDER BY code")
    return [_Product(*row) for row in cur.fetchall()]  # type: ignore[arg-type]


class _Plan:
    """Draws customers and loans from one random generator, so a seed and a day give the same book."""

    def __init__(self, customers: int, seed: int, today: date) -> None:
        self.n = customers
        self.rng = random.Random(seed)
        self.today = today
        self.products: dict[tuple[Decimal, Decimal, str, int, str], int] = {}
        self.by_status: dict[str, int] = {}
        self.catalogue: list[_Product] = []
        """The active loan products, by code; a loan goes under the first its terms fit."""
        self.fits: dict[tuple[Decimal, Decimal, str, int, str], tuple[int | None, Decimal]] = {}

    def fit(self, key: tuple[Decimal, Decimal, str, int, str]) -> tuple[int | None, Decimal]:
        """The product these terms fit (or None) and its fee, as loans_check_product and loan_product_fee."""
        found = self.fits.get(key)
        if found is None:
            principal, rate, method, term, frequency = key
            found = (None, Decimal("0.00"))
            for product in self.catalogue:
                if product.takes(principal, rate, method, term, frequency):
                    found = (product.id, product.fee(principal))
                    break
            self.fits[key] = found
        return found

    def customer_rows(self, start: int, stop: int, officer_ids: list[int]) -> list[tuple[object, ...]]:
        rng = self.rng
        rows: list[tuple[object, ...]] = []
        for i in range(start, stop):
            female = rng.random() < 0.62
            first = rng.choice(FIRST_NAMES_FEMALE if female else FIRST_NAMES_MALE)
            last = rng.choice(SURNAME_STEMS) + rng.choice(SURNAME_ENDINGS)
            # Bijections of i: unique national IDs and phone numbers without a lookup.
            national_id = str(10_000_000 + (i * 7_919 + 1_234_567) % 89_999_989)
            phone = f"+2547{(i * 1_048_573 + 12_345_678) % 100_000_000:08d}" if rng.random() < 0.97 else None
            email = f"{first.lower()}.{last.lower()}{i}@example.co.ke".encode("ascii", "ignore").decode() \
                if rng.random() < 0.2 else None
            dob = date(1950 + rng.randrange(55), 1 + rng.randrange(12), 1 + rng.randrange(28))
            town = rng.choice(TOWNS)
            rows.append((i, f"C-{i:06d}", first, last, national_id, phone, email, dob,
                         "female" if female else "male", f"P.O. Box {100 + i % 9_000}, {town}",
                         rng.choice(OCCUPATIONS), "active" if rng.random() < 0.98 else "inactive",
                         rng.choice(officer_ids)))
        return rows

    def _product(self) -> tuple[Decimal, Decimal, str, int, str]:
        rng = self.rng
        frequency, terms, _ = rng.choices(PRODUCTS, weights=[p[2] for p in PRODUCTS])[0]
        term = rng.choice(terms)
        # Most loans are small: 5,000 to 50,000 in steps of 1,000, some up to 300,000 in steps of 10,000.
        if rng.random() < 0.85:
            principal = Decimal(1_000 * rng.randint(5, 50))
        else:
            principal = Decimal(10_000 * rng.randint(6, 30))
        rate = rng.choice(RATES)
        method = "declining_balance" if rng.random() < 0.7 else "flat"
        return principal.quantize(Decimal("0.01")), rate, method, term, frequency

    def product_id(self, key: tuple[Decimal, Decimal, str, int, str]) -> int:
        if key not in self.products:
            self.products[key] = len(self.products) + 1
        return self.products[key]

    def loans_for(self, customer_id: int, loan_id: int, officer: int, staff: dict[str, int],
                  second: bool) -> tuple[object, ...]:
        """One loan as (loans columns …, plan columns …); see _LOAN_COLUMNS and _PLAN_COLUMNS."""
        rng = self.rng
        today = self.today
        key = self._product()
        principal, rate, method, term, frequency = key
        period = PERIOD_DAYS[frequency]
        span = period * term
        draw = rng.random()
        if second:  # an earlier loan of a returning customer: mostly repaid
            status = "closed" if draw < 0.9 else "written_off"
        elif draw < 0.02:
            status = "pending"
        elif draw < 0.035:
            status = "approved"
        elif draw < 0.06:
            status = "rejected"
        elif draw < 0.22:
            status = "closed"
        elif draw < 0.235:
            status = "written_off"
        else:
            status = "active"
        paid = 0
        partial = False
        lag = rng.randint(-3, 4)
        disbursed: date | None = None
        first: date | None = None
        closed_on: date | None = None
        written_off_on: date | None = None
        if status in ("pending", "approved", "rejected"):
            applied = today - timedelta(days=rng.randint(0, 30))
        else:
            if status == "active":
                disbursed = today - timedelta(days=rng.randint(1, span + 30))
            else:
                disbursed = today - timedelta(days=span + rng.randint(30, 900))
            applied = disbursed - timedelta(days=rng.randint(1, 14))
            first = due_date(disbursed, frequency, 2)
            dues = _due_dates(first, frequency, term)
            if status == "closed":
                paid = term
                closed_on = min(today, max(disbursed, dues[-1] + timedelta(days=lag)))
            elif status == "written_off":
                paid = rng.randrange(term)
                written_off_on = min(today, dues[paid] + timedelta(days=180 + rng.randint(0, 90)))
            else:
                weight_total = sum(a[0] for a in ARREARS)
                pick = rng.uniform(0, weight_total)
                low, high = ARREARS[-1][1], ARREARS[-1][2]
                for weight, band_low, band_high in ARREARS:
                    pick -= weight
                    if pick <= 0:
                        low, high = band_low, band_high
                        break
                stopped = today - timedelta(days=rng.randint(low, high))
                paid = sum(1 for d in dues if d < stopped)
                if high == 0 and paid < term and rng.random() < 0.08:
                    paid += 1  # paid the next installment early
                if paid >= term:
                    paid = term - 1  # still owes its last installment: active, current
                partial = rng.random() < 0.12
                if dues[paid] < today and today - dues[paid] > timedelta(days=90):
                    status = "defaulted"
        self.by_status[status] = self.by_status.get(status, 0) + 1
        supervisor, cashier = staff["supervisor"], staff["cashier"]
        approved = status not in ("pending", "rejected")
        moment = applied + timedelta(days=1)
        partial_on = None
        if partial and first is not None and disbursed is not None:
            partial_on = min(today, max(disbursed, due_date(first, frequency, paid + 1) - timedelta(days=3)))
        return (
            loan_id, f"L-{loan_id:06d}", customer_id, principal, rate, method, term, frequency, status,
            rng.choice(PURPOSES), applied,
            supervisor if approved else None, f"{moment} 10:00:00+00" if approved else None,
            supervisor if status == "rejected" else None, f"{moment} 10:00:00+00" if status == "rejected" else None,
            "Insufficient repayment capacity" if status == "rejected" else None,
            disbursed, first, f"{closed_on} 12:00:00+00" if closed_on else None,
            f"{written_off_on} 12:00:00+00" if written_off_on else None,
            officer, officer, cashier if disbursed else None, supervisor if written_off_on else None,
            "Uncollectable after 180 days in arrears" if written_off_on else None,
            # plan
            self.product_id(key), paid, partial_on, lag, written_off_on, *self.fit(key),
        )


_CUSTOMER_COLUMNS = ("id", "customer_number", "first_name", "last_name", "national_id", "phone", "email",
                     "date_of_birth", "gender", "address", "occupation", "status", "created_by")
_LOAN_COLUMNS = ("id", "loan_number", "customer_id", "principal_amount", "interest_rate", "interest_method", "term",
                 "repayment_frequency", "status", "purpose", "application_date", "approved_by", "approved_at",
                 "rejected_by", "rejected_at", "rejection_reason", "disbursement_date", "first_repayment_date",
                 "closed_at", "written_off_at", "loan_officer_id", "created_by", "disbursed_by", "written_off_by",
                 "write_off_reason")
_PLAN_COLUMNS = ("product_id", "paid_count", "partial_on", "lag", "written_off_on", "loan_product_id", "fee_amount")
assert len(_LOAN_COLUMNS) + len(_PLAN_COLUMNS) == 32

_BIG_TABLES = ("customers", "loans", "payment_schedules", "transactions", "journal_entries", "journal_entry_details")

# What a chunk COPYs, table by table in this order (created_at/updated_at take their defaults).
_COPIES = (
    ("customers", (*_CUSTOMER_COLUMNS, "branch_id")),
    ("loans", (*_LOAN_COLUMNS, "principal_outstanding", "oldest_unpaid_due_date", "product_id", "fee_amount",
               "branch_id")),
    ("payment_schedules", ("branch_id", "id", "loan_id", "installment_number", "due_date", "principal_due",
                           "interest_due", "penalty_due", "total_due", "principal_paid", "interest_paid",
                           "penalty_paid", "total_paid", "status", "paid_date")),
    ("transactions", ("branch_id", "id", "loan_id", "transaction_type", "amount", "principal_amount",
                      "interest_amount", "transaction_date", "receipt_number", "notes", "created_by", "fee_amount")),
    ("journal_entries", ("branch_id", "id", "entry_number", "entry_date", "description", "transaction_id",
                         "created_by")),
    ("journal_entry_details", ("id", "journal_entry_id", "account_id", "debit", "credit", "description")),
)
assert tuple(table for table, _ in _COPIES) == _BIG_TABLES

# Staging tables of the session; temp_buffers must be set before the first one is touched.
_STAGING = """
CREATE TEMP TABLE scale_indexes (name text, definition text) ON COMMIT DROP;
CREATE TEMP TABLE scale_keys (relation text, name text, definition text) ON COMMIT DROP;
CREATE TEMP TABLE scale_triggers (relation text, name text, definition text, enabled "char") ON COMMIT DROP
"""

# A fresh book: the big tables (and sms_histories, which refers to two of them) are emptied in this
# transaction, so PostgreSQL writes them without WAL under wal_level = minimal and COPY can FREEZE; their
# secondary indexes are dropped and built once after the load, and so are the keys no foreign key refers to
# and no per-range check reads by (DEFERRED_KEYS: a key built once from sorted rows costs a fraction of
# keeping it row by row); the other primary keys and unique constraints stay.
# The statement-level INSERT triggers with a transition table (audit, schedule summary) are dropped for the
# load and created again before commit (the table is locked by the TRUNCATE, so no other session sees them
# missing): session_replication_role keeps them from firing, but PostgreSQL still copies every inserted
# row into their transition table.
DEFERRED_KEYS = (
    "customers_customer_number_key",
    "loans_loan_number_key",
    "payment_schedules_pkey",
    "payment_schedules_loan_id_installment_number_key",
    "journal_entries_entry_number_key",
    "journal_entry_details_pkey",
)
_FRESH = """
TRUNCATE customers, loans, payment_schedules, transactions, journal_entries, journal_entry_details, sms_histories,
         customer_transfers, till_sessions, loan_charges, loan_reschedules, payment_schedule_history,
         collection_sheet_lines, collection_sheets, group_members, groups, mobile_money_receipts,
         mobile_money_statements;
INSERT INTO scale_indexes (name, definition)
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
  FROM pg_index i
 WHERE i.indrelid = ANY (ARRAY['customers', 'loans', 'payment_schedules', 'transactions', 'journal_entries',
                               'journal_entry_details']::regclass[])
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT name FROM scale_indexes LOOP EXECUTE format('DROP INDEX %s', r.name); END LOOP; END $$;
INSERT INTO scale_keys (relation, name, definition)
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
  FROM pg_constraint c
 WHERE c.conname = ANY (%(deferred_keys)s)
   AND c.conrelid = ANY (ARRAY['customers', 'loans', 'payment_schedules', 'transactions', 'journal_entries',
                               'journal_entry_details']::regclass[])
   AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid);
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT relation, name FROM scale_keys LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.relation, r.name); END LOOP; END $$;
INSERT INTO scale_triggers (relation, name, definition, enabled)
SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
  FROM pg_trigger t
 WHERE NOT t.tgisinternal AND t.tgnewtable IS NOT NULL AND (t.tgtype & 4) <> 0
   AND t.tgrelid = ANY (ARRAY['customers', 'loans', 'payment_schedules', 'transactions', 'journal_entries',
                              'journal_entry_details']::regclass[]);
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT relation, name FROM scale_triggers LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.name, r.relation); END LOOP; END $$
"""

_REBUILD_INDEXES = """
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT relation, name, definition FROM scale_keys LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.relation, r.name, r.definition); END LOOP; FOR r IN
    SELECT definition FROM scale_indexes LOOP EXECUTE r.definition; END LOOP; END $$
"""

_RESTORE_TRIGGERS = """
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT relation, name, definition, enabled FROM scale_triggers LOOP
        EXECUTE r.definition; IF r.enabled <> 'O' THEN EXECUTE format('ALTER TABLE %s %s TRIGGER %I', r.relation,
            CASE r.enabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' ELSE 'ENABLE ALWAYS' END,
            r.name); END IF; END LOOP; END $$
"""

# Where the numbers drawn from sequences start: the next value of each (the tables are empty, the sequences
# need not be at their start).
# About half of the customers in groups, set-based after the load (0023). Every customer with a weekly or biweekly
# loan joins a group of their branch meeting weekly on the weekday of that loan's first due date (so every due date
# of their weekly and biweekly loans is a meeting day, and those loans become group loans): twelve members a group,
# four groups a center (a center's sheet: about forty loans still in play). Other customers, picked evenly, fill
# groups of twenty without group loans (their loans stay individual) until half the customers are members. A
# meeting weekday's cycle is anchored at its first date in 2000.
_GROUPS = """
CREATE TEMP TABLE scale_members ON COMMIT DROP AS
WITH picked AS (
    SELECT DISTINCT ON (l.customer_id) l.customer_id, l.branch_id,
           extract(isodow FROM l.first_repayment_date)::integer AS dow, true AS with_loans, l.application_date
      FROM loans l
     WHERE l.repayment_frequency IN ('weekly', 'biweekly') AND l.first_repayment_date IS NOT NULL
     ORDER BY l.customer_id, l.id
), others AS (
    SELECT c.id AS customer_id, c.branch_id, 1 + mod(c.id, 6)::integer AS dow, false AS with_loans,
           c.created_at::date AS application_date,
           row_number() OVER (ORDER BY mod(c.id * 7919, 1000003), c.id) AS k
      FROM customers c
     WHERE NOT EXISTS (SELECT 1 FROM picked p WHERE p.customer_id = c.id)
)
SELECT m.*, row_number() OVER (PARTITION BY m.branch_id, m.dow, m.with_loans ORDER BY m.customer_id) - 1 AS rank
  FROM (SELECT customer_id, branch_id, dow, with_loans, application_date FROM picked
        UNION ALL
        SELECT customer_id, branch_id, dow, with_loans, application_date FROM others
         WHERE k <= (SELECT count(*) FROM customers) / 2 - (SELECT count(*) FROM picked)) m;
CREATE TEMP TABLE scale_groups ON COMMIT DROP AS
SELECT nextval(pg_get_serial_sequence('groups', 'id')) AS id, k.*, NULL::bigint AS parent_id
  FROM (SELECT DISTINCT m.branch_id, m.dow, m.with_loans, m.rank / CASE WHEN m.with_loans THEN 12 ELSE 20 END AS n
          FROM scale_members m) k;
CREATE TEMP TABLE scale_centers ON COMMIT DROP AS
SELECT nextval(pg_get_serial_sequence('groups', 'id')) AS id, k.*
  FROM (SELECT DISTINCT g.branch_id, g.dow, g.n / 4 AS c FROM scale_groups g WHERE g.with_loans) k;
UPDATE scale_groups g SET parent_id = c.id FROM scale_centers c
 WHERE g.with_loans AND c.branch_id = g.branch_id AND c.dow = g.dow AND c.c = g.n / 4;
INSERT INTO groups (id, name, kind, parent_id, branch_id, loan_officer_id, meeting_weekday, meeting_frequency,
                    first_meeting_date, meeting_place, created_by)
SELECT x.id, x.name, x.kind, x.parent_id, x.branch_id,
       coalesce((SELECT min(u.id) FROM users u WHERE u.branch_id = x.branch_id AND u.role = 'loan_officer'),
                (SELECT min(u.id) FROM users u WHERE u.role = 'loan_officer')),
       x.dow, 'weekly', date '2000-01-02' + x.dow, 'Market hall', NULL
  FROM (SELECT c.id, 'Center ' || c.dow || '-' || c.c AS name, 'center' AS kind, NULL::bigint AS parent_id,
               c.branch_id, c.dow FROM scale_centers c
        UNION ALL
        SELECT g.id, CASE WHEN g.with_loans THEN 'Borrowers ' ELSE 'Savers ' END || g.dow || '-' || g.n, 'group',
               g.parent_id, g.branch_id, g.dow FROM scale_groups g) x
 ORDER BY x.parent_id NULLS FIRST, x.id;
INSERT INTO group_members (group_id, customer_id, branch_id, role, joined_on)
SELECT g.id, m.customer_id, m.branch_id,
       CASE mod(m.rank, CASE WHEN m.with_loans THEN 12 ELSE 20 END) WHEN 0 THEN 'chair' WHEN 1 THEN 'secretary'
                                                                 WHEN 2 THEN 'treasurer' ELSE 'member' END,
       least(m.application_date, current_date)
  FROM scale_members m JOIN scale_groups g ON g.branch_id = m.branch_id AND g.dow = m.dow
   AND g.with_loans = m.with_loans AND g.n = m.rank / CASE WHEN m.with_loans THEN 12 ELSE 20 END;
UPDATE loans l SET group_id = g.id
  FROM scale_members m JOIN scale_groups g ON g.branch_id = m.branch_id AND g.dow = m.dow
   AND g.with_loans AND g.n = m.rank / 12
 WHERE m.with_loans AND l.customer_id = m.customer_id AND l.repayment_frequency IN ('weekly', 'biweekly')
   AND extract(isodow FROM coalesce(l.first_repayment_date, date '2000-01-02' + m.dow)) = m.dow
"""

_NEXT_NUMBERS = """
SELECT (SELECT COALESCE(s.last_value + s.increment_by, s.start_value) FROM pg_sequences s
         WHERE s.schemaname = 'public' AND s.sequencename = 'journal_entry_number_seq'),
       (SELECT COALESCE(s.last_value + s.increment_by, s.start_value) FROM pg_sequences s
         WHERE format('%I.%I', s.schemaname, s.sequencename) = pg_get_serial_sequence('payment_schedules', 'id')),
       (SELECT COALESCE(s.last_value + s.increment_by, s.start_value) FROM pg_sequences s
         WHERE format('%I.%I', s.schemaname, s.sequencename) = pg_get_serial_sequence('journal_entry_details', 'id'))
"""

# Each branch's next receipt number, from its own sequence.
_NEXT_RECEIPTS = """
SELECT b.id, b.code, COALESCE(s.last_value + s.increment_by, s.start_value) FROM branches b
  JOIN pg_sequences s ON s.schemaname = 'public' AND s.sequencename = b.receipt_sequence::text
 WHERE b.id = ANY (%(ids)s)
"""

# Each product's schedule once, from the ledger's own math (the first date does not change the amounts), with
# the halves a partial payment pays (interest first); read by the drawing thread on its own connection.
_TEMPLATES = """
SELECT p.id, r.installment_number, r.principal_due::text, r.interest_due::text, r.total_due::text,
       least(round(r.total_due / 2, 2), r.interest_due)::text,
       (round(r.total_due / 2, 2) - least(round(r.total_due / 2, 2), r.interest_due))::text
FROM unnest(%(ids)s::integer[], %(principals)s::numeric[], %(rates)s::numeric[], %(methods)s::text[],
            %(terms)s::integer[], %(frequencies)s::text[]) AS p(id, principal, rate, method, term, frequency)
CROSS JOIN LATERAL ledger_schedule_rows(p.principal::numeric(14,2), p.rate::numeric(7,4), p.method, p.term,
                                        p.frequency, DATE '2001-01-31') r
ORDER BY 1, 2
"""

_PAR_TOTALS = "SELECT loan_arrears_rebuild()"

_SEQUENCES = """
SELECT setval('customer_number_seq', %(customers)s);
SELECT setval('loan_number_seq', GREATEST((SELECT max(id) FROM loans), 1));
SELECT setval(pg_get_serial_sequence('customers', 'id'), %(customers)s);
SELECT setval(pg_get_serial_sequence('loans', 'id'), GREATEST((SELECT max(id) FROM loans), 1));
SELECT setval(pg_get_serial_sequence('transactions', 'id'), GREATEST(%(t_base)s, 1));
SELECT setval(pg_get_serial_sequence('journal_entries', 'id'), GREATEST(%(t_base)s, 1));
SELECT setval('journal_entry_number_seq', %(entry_last)s) WHERE %(entry_last)s >= %(entry_first)s;
SELECT setval(pg_get_serial_sequence('payment_schedules', 'id'), %(schedule_last)s)
 WHERE %(schedule_last)s >= %(schedule_first)s;
SELECT setval(pg_get_serial_sequence('journal_entry_details', 'id'), %(line_last)s)
 WHERE %(line_last)s >= %(line_first)s
"""


# The ledger's invariants over the whole book, checked once after the indexes are built (the aggregates then
# walk the entry and schedule indexes in order instead of hashing a million groups) and before the commit.
# Each query returns one row of numbers that must all be zero, one per meaning. The walk over the journal
# lines that balances each entry also sums the Loan Portfolio (1200) lines, and that sum is compared with the
# loans' principal_outstanding; the next check holds each loan's principal_outstanding to its own schedule, so
# the two together say that Loan Portfolio equals the principal still owed on the schedules of the loans not
# written off, with one pass over the lines and one over the schedules.
CHECKS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("journal entries that do not balance, have fewer than two lines, or lines without their entry",
      "Loan Portfolio (1200) minus the principal_outstanding of the loans not written off"), """
        SELECT count(*) FILTER (WHERE g.n IS NULL OR e.id IS NULL OR g.n < 2 OR g.balance <> 0),
               abs(COALESCE(sum(g.portfolio), 0) - (SELECT COALESCE(sum(l.principal_outstanding), 0) FROM loans l
                                                     WHERE l.status <> 'written_off'))
        FROM (SELECT d.journal_entry_id, count(*) AS n, sum(d.debit - d.credit) AS balance,
                     sum(d.debit - d.credit) FILTER (
                         WHERE d.account_id = (SELECT a.id FROM chart_of_accounts a WHERE a.account_code = '1200')
                     ) AS portfolio
                FROM journal_entry_details d GROUP BY d.journal_entry_id) g
        FULL JOIN journal_entries e ON e.id = g.journal_entry_id"""),
    (("loans whose summary columns (principal still owed, oldest unpaid due date) disagree with their schedule",),
     """
        SELECT count(*) FROM loans l
        LEFT JOIN (SELECT ps.loan_id, sum(ps.principal_due - ps.principal_paid) AS owed,
                          min(ps.due_date) FILTER (WHERE ps.status <> 'paid') AS oldest
                   FROM payment_schedules ps GROUP BY ps.loan_id) s
               ON s.loan_id = l.id
        WHERE l.principal_outstanding <> COALESCE(s.owed, 0) OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest"""),
    (("closed loans that still owe, or active/defaulted loans that owe nothing",), """
        SELECT count(*) FROM loans l
        WHERE (l.status = 'closed' AND l.oldest_unpaid_due_date IS NOT NULL)
           OR (l.status IN ('active', 'defaulted') AND l.oldest_unpaid_due_date IS NULL)"""),
)


def _libpq(url: URL | str) -> str:
    sa_url = make_url(url)
    return sa_url.set(drivername="postgresql").render_as_string(hide_password=False)


def _branches(cur: psycopg.Cursor[tuple[object, ...]]) -> list[int]:
    """BRANCHES active branches under the head office: those there are, then new ones from BRANCH_TOWNS."""
    cur.execute("SELECT id FROM branches WHERE parent_id IS NOT NULL AND is_active ORDER BY id")
    ids = [int(str(row[0])) for row in cur.fetchall()][:BRANCHES]
    cur.execute("SELECT id FROM branches WHERE parent_id IS NULL")
    root = cur.fetchone()
    assert root is not None
    for prefix, town in BRANCH_TOWNS:
        if len(ids) >= BRANCHES:
            break
        code = f"{prefix}01"
        cur.execute("SELECT id FROM branches WHERE code = %s", (code,))
        row = cur.fetchone()
        if row is None:
            cur.execute("INSERT INTO branches (code, name, parent_id) VALUES (%s, %s, %s) RETURNING id",
                        (code, f"{town} (synthetic)", root[0]))
            row = cur.fetchone()
        assert row is not None
        if int(str(row[0])) not in ids:
            ids.append(int(str(row[0])))
    return ids


def _staff(cur: psycopg.Cursor[tuple[object, ...]]) -> tuple[dict[str, int], list[int]]:
    """Reuse a supervisor and a cashier when there are some; add the loan officers of the synthetic book."""
    hashed = hash_password(secrets.token_urlsafe(32))
    staff: dict[str, int] = {}
    for role in ("supervisor", "cashier"):
        cur.execute("SELECT id FROM users WHERE role = %s AND is_active ORDER BY id LIMIT 1", (role,))
        row = cur.fetchone()
        if row is None:
            cur.execute("INSERT INTO users (username, password_hash, full_name, role) VALUES (%s, %s, %s, %s) "
                        "RETURNING id", (f"scale.{role}", hashed, f"Scale {role.title()}", role))
            row = cur.fetchone()
        assert row is not None
        staff[role] = int(str(row[0]))
    officers: list[int] = []
    for n in range(1, STAFF_OFFICERS + 1):
        cur.execute("SELECT id FROM users WHERE lower(username) = %s", (f"scale.officer{n:02d}",))
        row = cur.fetchone()
        if row is None:
            cur.execute("INSERT INTO users (username, password_hash, full_name, role) VALUES (%s, %s, %s, %s) "
                        "RETURNING id",
                        (f"scale.officer{n:02d}", hashed, f"Officer {n:02d} (synthetic)", "loan_officer"))
            row = cur.fetchone()
        assert row is not None
        officers.append(int(str(row[0])))
    return staff, officers


@dataclass(frozen=True)
class _Installment:
    """One installment of a product's schedule, with the COPY text its rows and payments need."""
    paid: str  # amounts due and paid, and the status, of a paid installment, before its paid date
    partial: str  # … and of a half-paid installment, with its (empty) paid date and the line's end
    pending: str  # … and of an installment not paid yet
    full_pay: tuple[str, tuple[str, ...]]  # a payment of it: its transaction's amounts, its journal lines
    half_pay: tuple[str, tuple[str, ...]]
    through: Decimal  # principal due on installments 1..k
    half_principal: Decimal


def _payment(amount: str, principal: str, interest: str, accounts: dict[str, int]) -> tuple[str, tuple[str, ...]]:
    """A repayment's transaction columns from amount to interest, and its journal lines from the account on."""
    lines = [f"\t{accounts['1000']}\t{amount}\t0\tCash received\n"]
    if Decimal(principal) > 0:
        lines.append(f"\t{accounts['1200']}\t0\t{principal}\tPrincipal repaid\n")
    if Decimal(interest) > 0:
        lines.append(f"\t{accounts['4000']}\t0\t{interest}\tInterest received\n")
    return f"\trepayment\t{amount}\t{principal}\t{interest}\t", tuple(lines)


def _installments(rows: list[tuple[str, str, str, str, str]], accounts: dict[str, int]) -> list[_Installment]:
    out: list[_Installment] = []
    through = Decimal("0")
    for principal, interest, total, half_interest, half_principal in rows:
        through += Decimal(principal)
        half_i, half_p = Decimal(half_interest), Decimal(half_principal)
        half_total = str(half_p + half_i)
        out.append(_Installment(
            paid=f"{principal}\t{interest}\t0\t{total}\t{principal}\t{interest}\t0\t{total}\tpaid\t",
            partial=f"{principal}\t{interest}\t0\t{total}\t{half_principal}\t{half_interest}\t0\t{half_total}\t"
                    "partial\t\\N\n",
            pending=f"{principal}\t{interest}\t0\t{total}\t0\t0\t0\t0\tpending\t\\N\n",
            full_pay=_payment(total, principal, interest, accounts),
            half_pay=_payment(half_total, half_principal, half_interest, accounts),
            through=through, half_principal=half_p))
    return out


@dataclass
class _Numbers:
    """The next id or number each table's rows take; the book continues where the previous chunk stopped."""
    transaction: int  # ids so far (the first transaction is 1, as journal entries follow transactions)
    entry: int
    schedule: int
    line: int
    receipts: dict[int, int] = field(default_factory=dict)  # branch id -> its next receipt number
    codes: dict[int, str] = field(default_factory=dict)  # branch id -> code


@dataclass
class _Chunk:
    copies: list[bytes]  # in _COPIES order
    last_customer: int


class _Book:
    """Derives each loan's summary columns, schedule, transactions and journal from the plan, as COPY text.

    The same rules the SQL of the ledger applies: the schedule from the product's template (the ledger's
    schedule math) laid on the loan's due dates; installments paid whole in order, then half of the next one
    (interest first) for a partial payment; one journal entry per transaction with its lines by docs/database.md's
    table. A range of the plan numbers its transactions disbursements first, then repayments (by loan and
    installment), then write-offs; the range is handed over in pieces, each in id order: the first carries the
    range's disbursements, every piece its loans' repayments, the last the write-offs.
    """

    def __init__(self, today: date, staff: dict[str, int], accounts: dict[str, int], numbers: _Numbers,
                 templates: Callable[[list[tuple[int, tuple[Decimal, Decimal, str, int, str]]]],
                                     dict[int, list[tuple[str, str, str, str, str]]]],
                 branches: list[int]) -> None:
        self.today = today
        self.branches = branches
        self.cashier = staff["cashier"]
        self.accounts = accounts
        self.a1000, self.a1200, self.a5000 = (accounts[c] for c in ("1000", "1200", "5000"))
        self.numbers = numbers
        self.fetch = templates
        self.templates: dict[int, list[_Installment]] = {}
        self.dues: dict[tuple[date, str], list[tuple[date, str]]] = {}
        self.lags = {lag: timedelta(days=lag) for lag in range(-10, 11)}
        self.written_off: list[tuple[int, str, str, str, object, object, int]] = []

    def branch_of(self, customer: object) -> int:
        """Customers go to the branches in turn; everything of a customer's follows them."""
        return self.branches[(int(str(customer)) - 1) % len(self.branches)]

    def _dues(self, first: date, frequency: str) -> list[tuple[date, str]]:
        key = (first, frequency)
        found = self.dues.get(key)
        if found is None:
            longest = max(max(terms) for freq, terms, _ in PRODUCTS if freq == frequency)
            found = [(d, d.isoformat()) for d in (due_date(first, frequency, k) for k in range(1, longest + 1))]
            self.dues[key] = found
        return found

    def learn(self, products: list[tuple[int, tuple[Decimal, Decimal, str, int, str]]]) -> None:
        if products:
            for pid, rows in self.fetch(products).items():
                self.templates[pid] = _installments(rows, self.accounts)

    def pieces(self, customers: list[tuple[object, ...]], loans: list[list[tuple[object, ...]]],
               load: int) -> Iterator[_Chunk]:
        """A range of the plan: its customers, and each customer's loans, in `load`-customer pieces."""
        txns: list[str] = []
        entries: list[str] = []
        lines: list[str] = []
        self._disbursements([loan for mine in loans for loan in mine], txns, entries, lines)
        for part in range(0, len(customers), load):
            last = part + load >= len(customers)
            chunk = self._piece(customers[part:part + load], [loan for mine in loans[part:part + load]
                                                               for loan in mine], txns, entries, lines, last)
            txns, entries, lines = [], [], []
            yield chunk

    def _disbursements(self, loans: list[tuple[object, ...]], txns: list[str], entries: list[str],
                       lines: list[str]) -> None:
        n = self.numbers
        tid, entry, did = n.transaction, n.entry, n.line
        for row in loans:
            day = row[16]
            if not isinstance(day, date):
                continue
            lid, number, amount, by, fee = row[0], row[1], row[3], row[22], row[31]
            branch = self.branch_of(row[2])
            assert isinstance(amount, Decimal) and isinstance(fee, Decimal)
            tid += 1
            txns.append(f"{branch}\t{tid}\t{lid}\tdisbursement\t{amount}\t{amount}\t0\t{day}\t\\N\t\\N\t{by}\t{fee}\n")
            entries.append(f"{branch}\t{tid}\tJE-{entry:07d}\t{day}\tDisbursement of loan {number}\t{tid}\t{by}\n")
            lines.append(f"{did}\t{tid}\t{self.a1200}\t{amount}\t0\tPrincipal disbursed\n"
                         f"{did + 1}\t{tid}\t{self.a1000}\t0\t{amount - fee}\tCash paid out\n")
            did += 2
            if fee:  # the processing fee stays in the till as income, as create_journal_entry posts it
                lines.append(f"{did}\t{tid}\t{self.accounts['4100']}\t0\t{fee}\tProcessing fee\n")
                did += 1
            entry += 1
        n.transaction, n.entry, n.line = tid, entry, did

    def _write_offs(self, txns: list[str], entries: list[str], lines: list[str]) -> None:
        n = self.numbers
        tid, entry, did = n.transaction, n.entry, n.line
        for lid, number, amount, day, reason, by, branch in self.written_off:
            tid += 1
            txns.append(f"{branch}\t{tid}\t{lid}\twrite_off\t{amount}\t{amount}\t0\t{day}\t\\N\t{_copy_text(reason)}\t"
                        f"{by}\t0\n")
            entries.append(f"{branch}\t{tid}\tJE-{entry:07d}\t{day}\tWrite-off of loan {number}\t{tid}\t{by}\n")
            lines.append(f"{did}\t{tid}\t{self.a5000}\t{amount}\t0\tPrincipal written off\n"
                         f"{did + 1}\t{tid}\t{self.a1200}\t0\t{amount}\tPrincipal written off\n")
            entry += 1
            did += 2
        self.written_off = []
        n.transaction, n.entry, n.line = tid, entry, did

    def _piece(self, customers: list[tuple[object, ...]], loans: list[tuple[object, ...]], txns: list[str],
               entries: list[str], lines: list[str], closing: bool) -> _Chunk:
        today, cashier, n = self.today, self.cashier, self.numbers
        loan_rows: list[tuple[object, ...]] = []
        schedule: list[str] = []
        tid, receipts, entry, did, sid = n.transaction, n.receipts, n.entry, n.line, n.schedule
        for row in loans:
            branch = self.branch_of(row[2])
            code, b = n.codes[branch], f"{branch}\t"
            lid, number, principal, term, frequency = row[0], row[1], row[3], row[6], row[7]
            disbursement, first = row[16], row[17]
            pid, paid, partial_on, lag, written_off_on = row[25:30]
            assert isinstance(lid, int) and isinstance(number, str) and isinstance(principal, Decimal)
            assert isinstance(term, int) and isinstance(frequency, str) and isinstance(pid, int)
            assert isinstance(paid, int) and isinstance(lag, int)
            product_columns = row[30:32]
            if not isinstance(disbursement, date) or not isinstance(first, date):
                loan_rows.append((*row[:25], "0", None, *product_columns, branch))
                continue
            plan = self.templates[pid]
            dues = self._dues(first, frequency)
            owed = principal - (plan[paid - 1].through if paid else 0)
            if partial_on is not None:
                owed -= plan[paid].half_principal
            loan_rows.append((*row[:25], owed, dues[paid][1] if paid < term else None, *product_columns, branch))
            shift = self.lags[lag]
            for k in range(term):
                inst, (due, due_text) = plan[k], dues[k]
                if k < paid:
                    day = min(today, max(disbursement, due + shift)).isoformat()
                    schedule.append(f"{b}{sid}\t{lid}\t{k + 1}\t{due_text}\t{inst.paid}{day}\n")
                    columns, tails = inst.full_pay
                elif k == paid and partial_on is not None:
                    schedule.append(f"{b}{sid}\t{lid}\t{k + 1}\t{due_text}\t{inst.partial}")
                    assert isinstance(partial_on, date)
                    day = partial_on.isoformat()
                    columns, tails = inst.half_pay
                else:
                    schedule.append(f"{b}{sid}\t{lid}\t{k + 1}\t{due_text}\t{inst.pending}")
                    sid += 1
                    continue
                sid += 1
                tid += 1
                t, r = str(tid), f"{code}-R-{receipts[branch]:06d}"
                txns.append(f"{b}{t}\t{lid}{columns}{day}\t{r}\t\\N\t{cashier}\t0\n")
                entries.append(f"{b}{t}\tJE-{entry:07d}\t{day}\tRepayment {r} on loan {number}\t{t}\t{cashier}\n")
                for tail in tails:
                    lines.append(f"{did}\t{t}{tail}")
                    did += 1
                receipts[branch] += 1
                entry += 1
            if row[8] == "written_off" and owed > 0:
                assert isinstance(written_off_on, date)
                self.written_off.append((lid, number, str(owed), written_off_on.isoformat(), row[24], row[23],
                                         branch))
        n.transaction, n.entry, n.schedule, n.line = tid, entry, sid, did
        if closing:
            self._write_offs(txns, entries, lines)
        branched = [(*c, self.branch_of(c[0])) for c in customers]
        return _Chunk([_copy_lines(branched), _copy_lines(loan_rows), "".join(schedule).encode(),
                       "".join(txns).encode(), "".join(entries).encode(), "".join(lines).encode()],
                      int(str(customers[-1][0])))


def _template_reader(url: URL | str) -> tuple[psycopg.Connection[tuple[object, ...]], Callable[
        [list[tuple[int, tuple[Decimal, Decimal, str, int, str]]]], dict[int, list[tuple[str, str, str, str, str]]]]]:
    """A connection of the drawing thread's own that runs the ledger's schedule math on new products."""
    conn = psycopg.connect(_libpq(url), autocommit=True)

    def fetch(products: list[tuple[int, tuple[Decimal, Decimal, str, int, str]]]
              ) -> dict[int, list[tuple[str, str, str, str, str]]]:
        out: dict[int, list[tuple[str, str, str, str, str]]] = {}
        params = {"ids": [p[0] for p in products], "principals": [p[1][0] for p in products],
                  "rates": [p[1][1] for p in products], "methods": [p[1][2] for p in products],
                  "terms": [p[1][3] for p in products], "frequencies": [p[1][4] for p in products]}
        with conn.cursor() as cur:
            _run(cur, _TEMPLATES, params)
            rows = cur.fetchall()
        for pid, _k, principal, interest, total, half_interest, half_principal in rows:
            out.setdefault(int(str(pid)), []).append(
                (str(principal), str(interest), str(total), str(half_interest), str(half_principal)))
        return out

    return conn, fetch


def _chunks(plan: _Plan, officers: list[int], staff: dict[str, int], batch: int, book: _Book,
            load: int) -> Iterator[_Chunk]:
    """The book a range of `batch` customers at a time, drawn in order from the plan's one random generator
    (the range decides the order of the draws and of the transaction ids, so it is part of what a seed
    means), handed to the loader in pieces of `load` customers so that it starts early."""
    loan_id = 0
    products_known = 0
    for start in range(1, plan.n + 1, batch):
        stop = min(plan.n + 1, start + batch)
        rows = plan.customer_rows(start, stop, officers)
        loans: list[list[tuple[object, ...]]] = []
        for row in rows:
            customer_id, officer = int(str(row[0])), int(str(row[-1]))
            mine: list[tuple[object, ...]] = []
            if plan.rng.random() < 0.2:
                loan_id += 1
                mine.append(plan.loans_for(customer_id, loan_id, officer, staff, second=True))
            loan_id += 1
            mine.append(plan.loans_for(customer_id, loan_id, officer, staff, second=False))
            loans.append(mine)
        book.learn([(pid, key) for key, pid in plan.products.items() if pid > products_known])
        products_known = len(plan.products)
        yield from book.pieces(rows, loans, load)


def _ahead(items: Iterator[_Chunk], stop: threading.Event) -> Iterator[_Chunk]:
    """Draw the next chunk in a thread while the server loads the current one (the two cores both work)."""
    box: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)

    def hand(kind: str, value: object) -> None:
        while not stop.is_set():
            try:
                box.put((kind, value), timeout=0.5)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for item in items:
                hand("item", item)
                if stop.is_set():
                    return
            hand("end", None)
        except BaseException as error:  # handed to the loading thread, which raises it
            hand("error", error)

    threading.Thread(target=produce, name="scale-seed-plan", daemon=True).start()
    while True:
        kind, value = box.get()
        if kind == "end":
            return
        if kind == "error":
            assert isinstance(value, BaseException)
            raise value
        assert isinstance(value, _Chunk)
        yield value


def _run(cur: psycopg.Cursor[tuple[object, ...]], sql: str, params: dict[str, object]) -> int:
    """Run a constant's statements in order; the rows the last one wrote."""
    written = 0
    for statement in (s for s in sql.split(";\n") if s.strip()):
        cur.execute(statement, params if "%(" in statement else None)  # type: ignore[arg-type]
        written = cur.rowcount
    return written


def seed_scale(url: URL | str, customers: int, *, random_seed: int = 1, today: date | None = None,
               progress: Progress | None = None, batch: int = 50_000, load: int = 10_000) -> ScaleReport:
    """Load a synthetic portfolio of `customers` customers in one transaction; see the module's notes."""
    if customers < 1:
        raise AstrofinError("--scale needs at least 1 customer")
    today = today or date.today()
    say = progress or (lambda _message, _fraction: None)
    report = ScaleReport(customers=customers)
    report.rows = dict.fromkeys(("payment_schedules", "transactions", "journal_entries", "journal_entry_details"), 0)
    started = time.perf_counter()
    spent: dict[str, float] = {}

    def timed(step: str, sql: str, params: dict[str, object]) -> int:
        lap = time.perf_counter()
        written = _run(cur, sql, params)
        spent[step] = spent.get(step, 0.0) + time.perf_counter() - lap
        return written

    plan = _Plan(customers, random_seed, today)
    stop = threading.Event()
    with psycopg.connect(_libpq(url), autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("SET LOCAL temp_buffers = '1GB'")
        cur.execute("SET LOCAL synchronous_commit = off")
        # At least 1GB to sort the keys and indexes built after the load; a server configured with more
        # (the benchmark's) keeps its own: the biggest builds take fewer merge passes.
        cur.execute("SELECT set_config('maintenance_work_mem', CASE WHEN pg_size_bytes(current_setting("
                    "'maintenance_work_mem')) < pg_size_bytes('1GB') THEN '1GB' ELSE current_setting("
                    "'maintenance_work_mem') END, true)")
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM loans), "
                    "(SELECT count(*) FROM chart_of_accounts WHERE account_code IN ('1000', '1200', '4000', '5000')), "
                    "(SELECT count(*) FROM transactions), (SELECT count(*) FROM journal_entries), "
                    "(SELECT count(*) FROM sms_histories), (SELECT count(*) FROM till_sessions)")
        existing = cur.fetchone()
        assert existing is not None
        if existing[0] or existing[1] or existing[3] or existing[4] or existing[5] or existing[6]:
            raise AstrofinError(
                f"scale seeding needs a book with no customers, loans, transactions, journal entries, SMS or till "
                f"sessions; this "
                f"one has {existing[0]} customers and {existing[1]} loans (start from a fresh database: astrofin db "
                "migrate --reset, then astrofin db seed, then --scale)")
        if existing[2] != 4:
            raise AstrofinError("the chart of accounts is missing; run `astrofin db seed` first")
        staff, officers = _staff(cur)
        branches = _branches(cur)
        # The officers work in the branches in turn.
        cur.execute("UPDATE users u SET branch_id = (%(b)s::bigint[])[(o.n - 1) %% cardinality(%(b)s::bigint[]) + 1] "
                    "FROM unnest(%(o)s::bigint[]) WITH ORDINALITY AS o(id, n) WHERE u.id = o.id",
                    {"b": branches, "o": officers})
        plan.catalogue = _catalogue(cur)
        cur.execute("SELECT account_code, id FROM chart_of_accounts WHERE account_code IN ('1000', '1200', '4000', "
                    "'4100', '5000')")
        accounts = {str(code): int(str(pk)) for code, pk in cur.fetchall()}
        # Triggers (audit, journal balance, the summary columns) and foreign-key checks are off for this
        # session's load only; the invariants are checked below, range by range, before commit.
        cur.execute("SET LOCAL session_replication_role = replica")
        _run(cur, _STAGING, {})
        _run(cur, _FRESH, {"deferred_keys": list(DEFERRED_KEYS)})
        _run(cur, _NEXT_NUMBERS, {})
        nexts = cur.fetchone()
        assert nexts is not None
        entry_first, schedule_first, line_first = (int(str(v)) for v in nexts)
        numbers = _Numbers(0, entry_first, schedule_first, line_first)
        _run(cur, _NEXT_RECEIPTS, {"ids": branches})
        for branch, code, first in cur.fetchall():
            numbers.receipts[int(str(branch))] = int(str(first))
            numbers.codes[int(str(branch))] = str(code)
        receipts_first = dict(numbers.receipts)
        firsts = {"entry_first": numbers.entry, "schedule_first": numbers.schedule, "line_first": numbers.line}
        reader, fetch = _template_reader(url)
        book = _Book(today, staff, accounts, numbers, fetch, branches)
        say(f"Customers 0 of {customers:,} …", 0.0)
        # The drawing thread holds the GIL while this one waits to hand COPY its next buffer (128 kB); at
        # Python's default switch interval (5 ms) every buffer could wait that long: the load took 112 s at
        # 1,000,000 customers, 83 s at 0.5 ms and 75 s at 0.1 ms, where the drawing thread sets the pace.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0001)
        try:
            waited = time.perf_counter()
            for chunk in _ahead(_chunks(plan, officers, staff, batch, book, load), stop):
                spent["waiting for the plan"] = spent.get("waiting for the plan", 0.0) + time.perf_counter() - waited
                for (table, columns), data in zip(_COPIES, chunk.copies, strict=True):
                    lap = time.perf_counter()
                    # Fixed table and column names (_COPIES).
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FREEZE)") as copy:
                        copy.write(data)
                    spent[f"{table} copied"] = spent.get(f"{table} copied", 0.0) + time.perf_counter() - lap
                    if table in report.rows:
                        report.rows[table] += data.count(b"\n")
                say(f"Customers {chunk.last_customer:,} of {customers:,} …", 0.8 * chunk.last_customer / customers)
                waited = time.perf_counter()
        finally:
            sys.setswitchinterval(interval)
            stop.set()
            reader.close()
        report.loans = sum(plan.by_status.values())
        report.by_status = dict(plan.by_status)
        say("Building the indexes …", 0.8)
        timed("indexes built", _REBUILD_INDEXES, {})
        timed("triggers restored", _RESTORE_TRIGGERS, {})
        say("Checking the ledger's invariants …", 0.85)
        lap = time.perf_counter()
        cur.execute("SET LOCAL enable_hashagg = off")
        for meanings, sql in CHECKS:
            cur.execute(sql)
            found = cur.fetchone()
            assert found is not None
            for meaning, value in zip(meanings, found, strict=True):
                if value != 0:
                    raise AstrofinError(f"scale seed check failed, nothing was written: {meaning}: {value}")
        cur.execute("RESET enable_hashagg")
        spent["invariant checks"] = time.perf_counter() - lap
        say("Putting half of the customers in groups …", 0.87)
        report.members = timed("groups", _GROUPS, {})
        # Sequences are not transactional: they move only once the checks hold.
        timed("sequences", _SEQUENCES, {
            "customers": customers, "t_base": numbers.transaction, **firsts,
            "entry_last": numbers.entry - 1, "schedule_last": numbers.schedule - 1, "line_last": numbers.line - 1})
        for branch, last in numbers.receipts.items():
            if last > receipts_first[branch]:
                cur.execute("SELECT setval(receipt_sequence, %s) FROM branches WHERE id = %s", (last - 1, branch))
        cur.execute("SET LOCAL session_replication_role = origin")
        # The loans went in without their triggers: PAR's running totals are computed from them once.
        timed("PAR totals", _PAR_TOTALS, {})
        cur.execute("SELECT calculate_par(30, %s), (SELECT COALESCE(sum(l.principal_outstanding), 0) FROM loans l "
                    "WHERE l.status <> 'written_off')", (today,))
        figures = cur.fetchone()
        assert figures is not None
        report.par30 = Decimal(str(figures[0]))
        report.portfolio = Decimal(str(figures[1]))
        say("Committing …", 0.9)
        lap = time.perf_counter()
        conn.commit()
        spent["commit"] = time.perf_counter() - lap
    say("Analyzing …", 0.92)
    lap = time.perf_counter()
    _vacuum(url)
    spent["vacuum analyze"] = time.perf_counter() - lap
    report.timings = spent
    report.seconds = time.perf_counter() - started
    say(f"Scale seed done in {report.seconds:.1f} s", 1.0)
    return report


def _vacuum(url: URL | str) -> None:
    """VACUUM (ANALYZE) the loaded tables, two sessions at a time (sets the visibility map for index-only scans)."""
    work: queue.Queue[str] = queue.Queue()
    for table in ("journal_entry_details", "payment_schedules", "transactions", "journal_entries", "loans",
                  "customers"):
        work.put(table)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with psycopg.connect(_libpq(url), autocommit=True) as conn:
                while True:
                    try:
                        table = work.get_nowait()
                    except queue.Empty:
                        return
                    if table in _BIG_TABLES:  # fixed names
                        conn.execute(f"VACUUM (ANALYZE) {table}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
