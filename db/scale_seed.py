"""`astrofin db seed --scale N`: a synthetic portfolio of N customers for measuring the system at size.

What it writes, reproducibly for a given random seed and day:
- N customers (COPY) with East African names, unique national IDs and E.164 phone numbers;
- about 1.2 loans per customer (COPY) in every status: pending, approved, rejected, active, defaulted,
  closed and written off, from staff loan officers created for the purpose (sign-in disabled: their password
  hash is of a random secret nobody holds);
- for every disbursed loan: its schedule from the ledger's own schedule math (`ledger_schedule_rows`, run
  once per distinct product and laid on each loan's dates in SQL, exactly as generate_payment_schedule
  does), its disbursement transaction, one repayment per paid installment (an installment is paid whole, in
  order, as record_loan_payment allocates it), a partial payment on some, a write-off transaction for
  written-off loans, and one balanced journal entry per transaction by domain.md's table;
- the loans' summary columns (principal still owed, oldest unpaid due date).
Arrears are drawn so that PAR30 lands between 5 and 15 %; loans more than 90 days late are `defaulted`.

Speed: the load session runs with `session_replication_role = replica`, which skips triggers (the audit
log of a synthetic load is noise: no audit rows are written for seeded data, as for a restore) and
foreign-key checks, and with `synchronous_commit = off`. It empties the big tables in its own transaction
(they must be empty already), so under `wal_level = minimal` (the benchmark's server) their rows skip the WAL
and customers are COPYed FROZEN; it drops their secondary indexes, and the keys nothing refers to and no check
reads by, and builds them once after the load. The
book is drawn a range of customers at a time in a second thread while the server loads the previous range,
and each range's schedules, transactions and journal are derived in SQL from its plan.

Because the deferred journal balance trigger is skipped too, the loader checks the ledger's invariants
itself (CHECKS) on every range it wrote, in the same transaction, and rolls everything back if one fails:
every journal entry has two lines or more and balances; the Loan Portfolio account (1200) equals the
principal still owed on the schedules of loans not written off, and equals the sum of loans'
principal_outstanding; every loan's summary columns match its schedule. The tables were empty, so the ranges
together are the whole book; CHECKS with FULL_BOOK checks it at once.

The database must be migrated, hold the chart of accounts, and have no customers or loans yet.
"""

from __future__ import annotations

import calendar
import io
import queue
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import psycopg
from sqlalchemy.engine import URL, make_url

from db.errors import AstrofinError
from db.passwords import hash_password

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
    out = io.StringIO()
    for row in rows:
        out.write("\t".join(_copy_text(v) for v in row))
        out.write("\n")
    return out.getvalue().encode("utf-8")


class _Plan:
    """Draws customers and loans from one random generator, so a seed and a day give the same book."""

    def __init__(self, customers: int, seed: int, today: date) -> None:
        self.n = customers
        self.rng = random.Random(seed)
        self.today = today
        self.products: dict[tuple[Decimal, Decimal, str, int, str], int] = {}
        self.by_status: dict[str, int] = {}

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
            dues = [due_date(first, frequency, k) for k in range(1, term + 1)]
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
            self.product_id(key), paid, partial_on, lag, written_off_on,
        )


_CUSTOMER_COLUMNS = ("id", "customer_number", "first_name", "last_name", "national_id", "phone", "email",
                     "date_of_birth", "gender", "address", "occupation", "status", "created_by")
_LOAN_COLUMNS = ("id", "loan_number", "customer_id", "principal_amount", "interest_rate", "interest_method", "term",
                 "repayment_frequency", "status", "purpose", "application_date", "approved_by", "approved_at",
                 "rejected_by", "rejected_at", "rejection_reason", "disbursement_date", "first_repayment_date",
                 "closed_at", "written_off_at", "loan_officer_id", "created_by", "disbursed_by", "written_off_by",
                 "write_off_reason")
_PLAN_COLUMNS = ("product_id", "paid_count", "partial_on", "lag", "written_off_on")

_BIG_TABLES = ("customers", "loans", "payment_schedules", "transactions", "journal_entries", "journal_entry_details")

# Staging tables of the session; temp_buffers must be set before the first one is touched.
_STAGING = """
CREATE TEMP TABLE scale_loans (
    id bigint, loan_number text, customer_id bigint, principal_amount numeric(14,2), interest_rate numeric(7,4),
    interest_method text, term integer, repayment_frequency text, status text, purpose text,
    application_date date, approved_by bigint, approved_at timestamptz, rejected_by bigint,
    rejected_at timestamptz, rejection_reason text, disbursement_date date, first_repayment_date date,
    closed_at timestamptz, written_off_at timestamptz, loan_officer_id bigint, created_by bigint,
    disbursed_by bigint, written_off_by bigint, write_off_reason text,
    product_id integer, paid_count integer, partial_on date, lag integer, written_off_on date
) ON COMMIT DROP;
CREATE TEMP TABLE scale_products (
    id integer PRIMARY KEY, principal numeric(14,2), rate numeric(7,4), method text, term integer, frequency text
) ON COMMIT DROP;
CREATE TEMP TABLE scale_template (
    product_id integer, k integer, principal_due numeric(14,2), interest_due numeric(14,2), total_due numeric(14,2),
    principal_through numeric(14,2), partial_interest numeric(14,2), partial_principal numeric(14,2),
    PRIMARY KEY (product_id, k)
) ON COMMIT DROP;
CREATE TEMP TABLE scale_txn (
    id bigint, loan_id bigint, kind text, amount numeric(14,2), principal numeric(14,2), interest numeric(14,2),
    day date, receipt text, notes text, created_by bigint, loan_number text
) ON COMMIT DROP;
CREATE TEMP TABLE scale_indexes (name text, definition text) ON COMMIT DROP;
CREATE TEMP TABLE scale_keys (relation text, name text, definition text) ON COMMIT DROP
"""
assert len(_LOAN_COLUMNS) + len(_PLAN_COLUMNS) == 30

# A fresh book: the big tables (and sms_histories, which refers to two of them) are emptied in this
# transaction, so PostgreSQL writes them without WAL under wal_level = minimal and COPY can FREEZE; their
# secondary indexes are dropped and built once after the load, and so are the keys no foreign key refers to
# and no per-range check reads by (DEFERRED_KEYS: a key built once from sorted rows costs a fraction of
# keeping it row by row); the other primary keys and unique constraints stay.
DEFERRED_KEYS = ("payment_schedules_pkey", "journal_entries_entry_number_key")
_FRESH = """
TRUNCATE customers, loans, payment_schedules, transactions, journal_entries, journal_entry_details, sms_histories;
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
   AND c.conrelid = ANY (ARRAY['payment_schedules', 'journal_entries']::regclass[])
   AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid);
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT relation, name FROM scale_keys LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.relation, r.name); END LOOP; END $$
"""

_REBUILD_INDEXES = """
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT relation, name, definition FROM scale_keys LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.relation, r.name, r.definition); END LOOP; FOR r IN
    SELECT definition FROM scale_indexes LOOP EXECUTE r.definition; END LOOP; END $$
"""

# Each product's schedule once, from the ledger's own math (the first date does not change the amounts).
_TEMPLATES = """
INSERT INTO scale_template
SELECT p.id AS product_id, r.installment_number AS k, r.principal_due, r.interest_due, r.total_due,
       sum(r.principal_due) OVER (PARTITION BY p.id ORDER BY r.installment_number) AS principal_through,
       least(round(r.total_due / 2, 2), r.interest_due) AS partial_interest,
       round(r.total_due / 2, 2) - least(round(r.total_due / 2, 2), r.interest_due) AS partial_principal
FROM scale_products p
CROSS JOIN LATERAL ledger_schedule_rows(p.principal, p.rate, p.method, p.term, p.frequency, DATE '2001-01-31') r
WHERE p.id > %(products_from)s;
ANALYZE scale_template;
ANALYZE scale_loans
"""

_DUE = """CASE s.repayment_frequency
             WHEN 'monthly' THEN (s.first_repayment_date + make_interval(months => t.k - 1))::date
             WHEN 'weekly' THEN s.first_repayment_date + 7 * (t.k - 1)
             ELSE s.first_repayment_date + 14 * (t.k - 1) END"""

_LOANS = f"""
INSERT INTO loans ({", ".join(_LOAN_COLUMNS)}, principal_outstanding, oldest_unpaid_due_date)
SELECT {", ".join("s." + c for c in _LOAN_COLUMNS)},
       CASE WHEN s.disbursement_date IS NULL THEN 0
            ELSE s.principal_amount - COALESCE(done.principal_through, 0)
                 - CASE WHEN s.partial_on IS NOT NULL THEN nxt.partial_principal ELSE 0 END END,
       CASE WHEN s.disbursement_date IS NOT NULL AND s.paid_count < s.term
            THEN {_DUE.replace("t.k", "(s.paid_count + 1)")} END
FROM scale_loans s
LEFT JOIN scale_template done ON done.product_id = s.product_id AND done.k = s.paid_count
LEFT JOIN scale_template nxt ON nxt.product_id = s.product_id AND nxt.k = s.paid_count + 1
ORDER BY s.id
"""  # noqa: S608 (fixed column lists)

_PAID_ON = "least(%(today)s::date, greatest(s.disbursement_date, d.due + s.lag))"

_SCHEDULES = f"""
INSERT INTO payment_schedules (loan_id, installment_number, due_date, principal_due, interest_due, penalty_due,
                               total_due, principal_paid, interest_paid, penalty_paid, total_paid, status, paid_date)
SELECT s.id, t.k, d.due, t.principal_due, t.interest_due, 0, t.total_due,
       CASE WHEN t.k <= s.paid_count THEN t.principal_due WHEN p.part THEN t.partial_principal ELSE 0 END,
       CASE WHEN t.k <= s.paid_count THEN t.interest_due WHEN p.part THEN t.partial_interest ELSE 0 END,
       0,
       CASE WHEN t.k <= s.paid_count THEN t.total_due
            WHEN p.part THEN t.partial_principal + t.partial_interest ELSE 0 END,
       CASE WHEN t.k <= s.paid_count THEN 'paid' WHEN p.part THEN 'partial' ELSE 'pending' END,
       CASE WHEN t.k <= s.paid_count THEN {_PAID_ON} END
FROM scale_loans s
JOIN scale_template t ON t.product_id = s.product_id
CROSS JOIN LATERAL (SELECT {_DUE} AS due) d
CROSS JOIN LATERAL (SELECT t.k = s.paid_count + 1 AND s.partial_on IS NOT NULL AS part) p
WHERE s.disbursement_date IS NOT NULL
ORDER BY s.id, t.k
"""  # noqa: S608 (fixed fragments)

# The chunk's transactions, derived once from the plan (not read back from the schedule): disbursements,
# then repayments (one per paid installment, then the partial payments), then write-offs; ids follow on.
_TRANSACTIONS = f"""
TRUNCATE scale_txn;
INSERT INTO scale_txn (id, loan_id, kind, amount, principal, interest, day, receipt, notes, created_by, loan_number)
SELECT %(t_base)s + row_number() OVER (ORDER BY x.grp, x.loan_id, x.k), x.loan_id, x.kind, x.amount, x.principal,
       x.interest, x.day,
       CASE WHEN x.kind = 'repayment' THEN scale_padded_number('R-', nextval('receipt_number_seq'), 6) END,
       x.notes, x.created_by, x.loan_number
FROM (
    SELECT 1 AS grp, s.id AS loan_id, 0 AS k, 'disbursement' AS kind, s.principal_amount AS amount,
           s.principal_amount AS principal, 0::numeric AS interest, s.disbursement_date AS day, NULL::text AS notes,
           s.disbursed_by AS created_by, s.loan_number
      FROM scale_loans s WHERE s.disbursement_date IS NOT NULL
    UNION ALL
    SELECT 2, s.id, t.k, 'repayment',
           CASE WHEN t.k <= s.paid_count THEN t.total_due ELSE t.partial_principal + t.partial_interest END,
           CASE WHEN t.k <= s.paid_count THEN t.principal_due ELSE t.partial_principal END,
           CASE WHEN t.k <= s.paid_count THEN t.interest_due ELSE t.partial_interest END,
           CASE WHEN t.k <= s.paid_count THEN {_PAID_ON} ELSE s.partial_on END,
           NULL, %(cashier)s, s.loan_number
      FROM scale_loans s
      JOIN scale_template t ON t.product_id = s.product_id
       AND (t.k <= s.paid_count OR (t.k = s.paid_count + 1 AND s.partial_on IS NOT NULL))
      CROSS JOIN LATERAL (SELECT {_DUE} AS due) d
     WHERE s.disbursement_date IS NOT NULL
    UNION ALL
    SELECT 3, l.id, 0, 'write_off', l.principal_outstanding, l.principal_outstanding, 0, s.written_off_on,
           l.write_off_reason, l.written_off_by, l.loan_number
      FROM scale_loans s JOIN loans l ON l.id = s.id
     WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.status = 'written_off' AND l.principal_outstanding > 0
) x;
INSERT INTO transactions (id, loan_id, transaction_type, amount, principal_amount, interest_amount, transaction_date,
                          receipt_number, notes, created_by)
SELECT t.id, t.loan_id, t.kind, t.amount, t.principal, t.interest, t.day, t.receipt, t.notes, t.created_by
FROM scale_txn t ORDER BY t.id
"""  # noqa: S608 (fixed fragments)

# One entry per transaction, with the transaction's id (the book was empty), and its lines by domain.md.
_JOURNAL = """
INSERT INTO journal_entries (id, entry_number, entry_date, description, transaction_id, created_by)
SELECT t.id, scale_padded_number('JE-', nextval('journal_entry_number_seq'), 7), t.day,
       CASE t.kind
           WHEN 'disbursement' THEN 'Disbursement of loan ' || t.loan_number
           WHEN 'repayment' THEN 'Repayment ' || t.receipt || ' on loan ' || t.loan_number
           ELSE 'Write-off of loan ' || t.loan_number END,
       t.id, t.created_by
FROM scale_txn t
ORDER BY t.id;
INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit, description)
SELECT t.id, a.id, line.debit, line.credit, line.description
FROM scale_txn t
CROSS JOIN LATERAL (VALUES
    (1, CASE t.kind WHEN 'disbursement' THEN '1200' WHEN 'repayment' THEN '1000' ELSE '5000' END,
        t.amount, 0::numeric,
        CASE t.kind WHEN 'disbursement' THEN 'Principal disbursed' WHEN 'repayment' THEN 'Cash received'
             ELSE 'Principal written off' END),
    (2, CASE t.kind WHEN 'disbursement' THEN '1000' ELSE '1200' END,
        0::numeric, CASE WHEN t.kind = 'repayment' THEN t.principal ELSE t.amount END,
        CASE t.kind WHEN 'disbursement' THEN 'Cash paid out' WHEN 'repayment' THEN 'Principal repaid'
             ELSE 'Principal written off' END),
    (3, '4000', 0::numeric, CASE WHEN t.kind = 'repayment' THEN t.interest ELSE 0 END, 'Interest received')
) AS line(n, code, debit, credit, description)
JOIN chart_of_accounts a ON a.account_code = line.code
WHERE line.debit > 0 OR line.credit > 0
ORDER BY t.id, line.n
"""

_SEQUENCES = """
SELECT setval('customer_number_seq', %(customers)s);
SELECT setval('loan_number_seq', GREATEST((SELECT max(id) FROM loans), 1));
SELECT setval(pg_get_serial_sequence('customers', 'id'), %(customers)s);
SELECT setval(pg_get_serial_sequence('loans', 'id'), GREATEST((SELECT max(id) FROM loans), 1));
SELECT setval(pg_get_serial_sequence('transactions', 'id'), GREATEST(%(t_base)s, 1));
SELECT setval(pg_get_serial_sequence('journal_entries', 'id'), GREATEST(%(t_base)s, 1))
"""

# The ledger's invariants over a range of the book: loans lo..hi, the journal entries (= transactions)
# t_lo..t_hi and the journal lines after d_lo. The loader checks each range it wrote before it commits
# (the tables were empty, so the ranges together are the whole book); FULL_BOOK checks the whole book.
# Each returns one count that must be zero, with what it means.
CHECKS = (
    ("journal entries that do not balance, have fewer than two lines, or lines outside their entry", """
        SELECT count(*) FILTER (WHERE g.n < 2 OR g.dr <> g.cr OR g.journal_entry_id NOT BETWEEN %(t_lo)s AND %(t_hi)s)
             + abs((SELECT count(*) FROM journal_entries e WHERE e.id BETWEEN %(t_lo)s AND %(t_hi)s) - count(*))
        FROM (SELECT d.journal_entry_id, count(*) AS n, sum(d.debit) AS dr, sum(d.credit) AS cr
                FROM journal_entry_details d WHERE d.id > %(d_lo)s GROUP BY d.journal_entry_id) g"""),
    ("Loan Portfolio (1200) minus the principal still owed on the schedules of loans not written off", """
        SELECT (SELECT COALESCE(sum(d.debit - d.credit), 0) FROM journal_entry_details d
                 WHERE d.id > %(d_lo)s
                   AND d.account_id = (SELECT a.id FROM chart_of_accounts a WHERE a.account_code = '1200'))
             - (SELECT COALESCE(sum(ps.principal_due - ps.principal_paid), 0) FROM payment_schedules ps
                JOIN loans l ON l.id = ps.loan_id
                WHERE ps.loan_id BETWEEN %(lo)s AND %(hi)s AND l.status <> 'written_off')"""),
    ("Loan Portfolio (1200) minus the loans' principal_outstanding (not written off)", """
        SELECT (SELECT COALESCE(sum(d.debit - d.credit), 0) FROM journal_entry_details d
                 WHERE d.id > %(d_lo)s
                   AND d.account_id = (SELECT a.id FROM chart_of_accounts a WHERE a.account_code = '1200'))
             - (SELECT COALESCE(sum(l.principal_outstanding), 0) FROM loans l
                 WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.status <> 'written_off')"""),
    ("loans whose summary columns disagree with their schedule", """
        SELECT count(*) FROM loans l
        LEFT JOIN (SELECT ps.loan_id, sum(ps.principal_due - ps.principal_paid) AS owed,
                          min(ps.due_date) FILTER (WHERE ps.status <> 'paid') AS oldest
                   FROM payment_schedules ps WHERE ps.loan_id BETWEEN %(lo)s AND %(hi)s GROUP BY ps.loan_id) s
               ON s.loan_id = l.id
        WHERE l.id BETWEEN %(lo)s AND %(hi)s
          AND (l.principal_outstanding <> COALESCE(s.owed, 0)
               OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest)"""),
    ("closed loans that still owe, or active/defaulted loans that owe nothing", """
        SELECT count(*) FROM loans l
        WHERE l.id BETWEEN %(lo)s AND %(hi)s
          AND ((l.status = 'closed' AND l.oldest_unpaid_due_date IS NOT NULL)
               OR (l.status IN ('active', 'defaulted') AND l.oldest_unpaid_due_date IS NULL))"""),
)
FULL_BOOK = {"lo": 0, "hi": 2**62, "t_lo": 0, "t_hi": 2**62, "d_lo": 0}


def _libpq(url: URL | str) -> str:
    sa_url = make_url(url)
    return sa_url.set(drivername="postgresql").render_as_string(hide_password=False)


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


@dataclass
class _Chunk:
    customers: bytes
    loans: bytes
    products: bytes
    first_loan: int
    last_loan: int
    last_customer: int
    products_upto: int


def _chunks(plan: _Plan, officers: list[int], staff: dict[str, int], batch: int) -> Iterator[_Chunk]:
    """The book a range of customers at a time, drawn in order from the plan's one random generator."""
    loan_id = 0
    products_sent = 0
    for start in range(1, plan.n + 1, batch):
        stop = min(plan.n + 1, start + batch)
        rows = plan.customer_rows(start, stop, officers)
        first_loan = loan_id + 1
        loans: list[tuple[object, ...]] = []
        for row in rows:
            customer_id, officer = int(str(row[0])), int(str(row[-1]))
            if plan.rng.random() < 0.2:
                loan_id += 1
                loans.append(plan.loans_for(customer_id, loan_id, officer, staff, second=True))
            loan_id += 1
            loans.append(plan.loans_for(customer_id, loan_id, officer, staff, second=False))
        new_products = [(pid, *key) for key, pid in plan.products.items() if pid > products_sent]
        products_sent = len(plan.products)
        yield _Chunk(_copy_lines(rows), _copy_lines(loans), _copy_lines(new_products), first_loan, loan_id, stop - 1,
                     products_sent)


def _ahead(items: Iterator[_Chunk]) -> Iterator[_Chunk]:
    """Draw the next chunk in a thread while the server loads the current one (the two cores both work)."""
    box: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)

    def produce() -> None:
        try:
            for item in items:
                box.put(("item", item))
            box.put(("end", None))
        except BaseException as error:  # handed to the loading thread, which raises it
            box.put(("error", error))

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
               progress: Progress | None = None, batch: int = 50_000) -> ScaleReport:
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
    with psycopg.connect(_libpq(url), autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("SET LOCAL temp_buffers = '1GB'")
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM loans), "
                    "(SELECT count(*) FROM chart_of_accounts WHERE account_code IN ('1000', '1200', '4000', '5000')), "
                    "(SELECT count(*) FROM transactions), (SELECT count(*) FROM journal_entries), "
                    "(SELECT count(*) FROM sms_histories)")
        existing = cur.fetchone()
        assert existing is not None
        if existing[0] or existing[1] or existing[3] or existing[4] or existing[5]:
            raise AstrofinError(
                f"scale seeding needs a book with no customers, loans, transactions, journal entries or SMS; this "
                f"one has {existing[0]} customers and {existing[1]} loans (start from a fresh database: astrofin db "
                "migrate --reset, then astrofin db seed, then --scale)")
        if existing[2] != 4:
            raise AstrofinError("the chart of accounts is missing; run `astrofin db seed` first")
        staff, officers = _staff(cur)
        # Triggers (audit, journal balance, the summary columns) and foreign-key checks are off for this
        # session's load only; the invariants are checked below, range by range, before commit.
        cur.execute("SET LOCAL session_replication_role = replica")
        _run(cur, _STAGING, {})
        _run(cur, _FRESH, {"deferred_keys": list(DEFERRED_KEYS)})
        params: dict[str, object] = {"today": today, "cashier": staff["cashier"], "customers": customers,
                                     "t_base": 0, "products_from": 0}
        lines = 0
        say(f"Customers 0 of {customers:,} …", 0.0)
        for chunk in _ahead(_chunks(plan, officers, staff, batch)):
            lap = time.perf_counter()
            with cur.copy(f"COPY customers ({', '.join(_CUSTOMER_COLUMNS)}) FROM STDIN WITH (FREEZE)") as copy:
                copy.write(chunk.customers)
            cur.execute("TRUNCATE scale_loans")
            with cur.copy(f"COPY scale_loans ({', '.join(_LOAN_COLUMNS + _PLAN_COLUMNS)}) FROM STDIN") as copy:
                copy.write(chunk.loans)
            with cur.copy("COPY scale_products (id, principal, rate, method, term, frequency) FROM STDIN") as copy:
                copy.write(chunk.products)
            spent["customers and staging copied"] = spent.get("customers and staging copied", 0.0) \
                + time.perf_counter() - lap
            params["lo"], params["hi"] = chunk.first_loan, chunk.last_loan
            timed("product schedules (ledger_schedule_rows)", _TEMPLATES, params)
            params["products_from"] = chunk.products_upto
            timed("loans", _LOANS, params)
            report.rows["payment_schedules"] += timed("payment schedules", _SCHEDULES, params)
            written = timed("transactions", _TRANSACTIONS, params)
            report.rows["transactions"] += written
            report.rows["journal_entries"] += written
            report.rows["journal_entry_details"] += timed("journal", _JOURNAL, params)
            base = int(str(params["t_base"]))
            ranges: dict[str, object] = {"lo": chunk.first_loan, "hi": chunk.last_loan, "t_lo": base + 1,
                                         "t_hi": base + written, "d_lo": lines}
            lap = time.perf_counter()
            for meaning, sql in CHECKS:
                _run(cur, sql, ranges)
                found = cur.fetchone()
                assert found is not None
                if found[0] != 0:
                    raise AstrofinError(f"scale seed check failed, nothing was written: {meaning}: {found[0]}")
            spent["invariant checks"] = spent.get("invariant checks", 0.0) + time.perf_counter() - lap
            params["t_base"] = int(str(params["t_base"])) + written
            cur.execute("SELECT COALESCE(max(id), 0) FROM journal_entry_details")
            top = cur.fetchone()
            lines = int(str(top[0])) if top else 0
            say(f"Customers {chunk.last_customer:,} of {customers:,} …", 0.8 * chunk.last_customer / customers)
        report.loans = sum(plan.by_status.values())
        report.by_status = dict(plan.by_status)
        timed("sequences", _SEQUENCES, params)
        say("Building the indexes …", 0.8)
        timed("indexes built", _REBUILD_INDEXES, params)
        cur.execute("SET LOCAL session_replication_role = origin")
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
