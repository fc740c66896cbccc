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
log of a synthetic load is noise, and per-row triggers would triple the work) and foreign-key checks, and
with `synchronous_commit = off`. Because the deferred journal balance trigger is skipped too, the loader
checks the ledger's invariants itself at the end, in the same transaction, and rolls everything back if one
fails: every journal entry has two lines or more and balances; the Loan Portfolio account (1200) equals the
principal still owed on the schedules of loans not written off, and equals the sum of loans'
principal_outstanding; every loan's summary columns match its schedule.

The database must be migrated, hold the chart of accounts, and have no customers or loans yet.
"""

from __future__ import annotations

import calendar
import io
import random
import secrets
import time
from collections.abc import Callable, Iterable
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
"""
assert len(_LOAN_COLUMNS) + len(_PLAN_COLUMNS) == 30

# Each product's schedule once, from the ledger's own math (the first date does not change the amounts).
_TEMPLATES = """
CREATE TEMP TABLE scale_template ON COMMIT DROP AS
SELECT p.id AS product_id, r.installment_number AS k, r.principal_due, r.interest_due, r.total_due,
       sum(r.principal_due) OVER (PARTITION BY p.id ORDER BY r.installment_number) AS principal_through,
       least(round(r.total_due / 2, 2), r.interest_due) AS partial_interest,
       round(r.total_due / 2, 2) - least(round(r.total_due / 2, 2), r.interest_due) AS partial_principal
FROM scale_products p
CROSS JOIN LATERAL ledger_schedule_rows(p.principal, p.rate, p.method, p.term, p.frequency, DATE '2001-01-31') r;
CREATE INDEX ON scale_template (product_id, k);
ANALYZE scale_template;
ANALYZE scale_loans;
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
       CASE WHEN t.k <= s.paid_count
            THEN least(%(today)s::date, greatest(s.disbursement_date, d.due + s.lag)) END
FROM scale_loans s
JOIN scale_template t ON t.product_id = s.product_id
CROSS JOIN LATERAL (SELECT {_DUE} AS due) d
CROSS JOIN LATERAL (SELECT t.k = s.paid_count + 1 AND s.partial_on IS NOT NULL AS part) p
WHERE s.disbursement_date IS NOT NULL
ORDER BY s.id, t.k
"""  # noqa: S608 (fixed fragments)

# Disbursements, then repayments (one per paid installment, then the partial payments), then write-offs.
_TRANSACTIONS = """
INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, transaction_date, created_by)
SELECT s.id, 'disbursement', s.principal_amount, s.principal_amount, s.disbursement_date, s.disbursed_by
FROM scale_loans s WHERE s.disbursement_date IS NOT NULL ORDER BY s.id;

INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, interest_amount, transaction_date,
                          receipt_number, created_by)
SELECT ps.loan_id, 'repayment', ps.total_paid, ps.principal_paid, ps.interest_paid,
       COALESCE(ps.paid_date, s.partial_on),
       scale_padded_number('R-', nextval('receipt_number_seq'), 6), %(cashier)s
FROM payment_schedules ps
JOIN scale_loans s ON s.id = ps.loan_id
WHERE ps.total_paid > 0
ORDER BY ps.loan_id, ps.installment_number;

INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, transaction_date, notes, created_by)
SELECT l.id, 'write_off', l.principal_outstanding, l.principal_outstanding, s.written_off_on, l.write_off_reason,
       l.written_off_by
FROM loans l JOIN scale_loans s ON s.id = l.id
WHERE l.status = 'written_off' AND l.principal_outstanding > 0
ORDER BY l.id;
"""

# One entry per transaction, with the transaction's id (the book was empty), and its lines by domain.md.
_JOURNAL = """
INSERT INTO journal_entries (id, entry_number, entry_date, description, transaction_id, created_by)
SELECT t.id, scale_padded_number('JE-', nextval('journal_entry_number_seq'), 7), t.transaction_date,
       CASE t.transaction_type
           WHEN 'disbursement' THEN 'Disbursement of loan ' || l.loan_number
           WHEN 'repayment' THEN 'Repayment ' || t.receipt_number || ' on loan ' || l.loan_number
           ELSE 'Write-off of loan ' || l.loan_number END,
       t.id, t.created_by
FROM transactions t JOIN loans l ON l.id = t.loan_id
ORDER BY t.id;

INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit, description)
SELECT t.id, a.id, line.debit, line.credit, line.description
FROM transactions t
CROSS JOIN LATERAL (VALUES
    (1, CASE t.transaction_type WHEN 'disbursement' THEN '1200' WHEN 'repayment' THEN '1000' ELSE '5000' END,
        t.amount, 0::numeric,
        CASE t.transaction_type WHEN 'disbursement' THEN 'Principal disbursed' WHEN 'repayment' THEN 'Cash received'
             ELSE 'Principal written off' END),
    (2, CASE t.transaction_type WHEN 'disbursement' THEN '1000' ELSE '1200' END,
        0::numeric, CASE WHEN t.transaction_type = 'repayment' THEN t.principal_amount ELSE t.amount END,
        CASE t.transaction_type WHEN 'disbursement' THEN 'Cash paid out' WHEN 'repayment' THEN 'Principal repaid'
             ELSE 'Principal written off' END),
    (3, '4000', 0::numeric, CASE WHEN t.transaction_type = 'repayment' THEN t.interest_amount ELSE 0 END,
        'Interest received')
) AS line(n, code, debit, credit, description)
JOIN chart_of_accounts a ON a.account_code = line.code
WHERE line.debit > 0 OR line.credit > 0
ORDER BY t.id, line.n;
"""

_SEQUENCES = """
SELECT setval('customer_number_seq', %(customers)s);
SELECT setval('loan_number_seq', GREATEST((SELECT max(id) FROM loans), 1));
SELECT setval(pg_get_serial_sequence('customers', 'id'), %(customers)s);
SELECT setval(pg_get_serial_sequence('loans', 'id'), GREATEST((SELECT max(id) FROM loans), 1));
SELECT setval(pg_get_serial_sequence('journal_entries', 'id'),
              GREATEST((SELECT max(id) FROM journal_entries), 1));
"""

# Each returns one row of counts that must all be zero, with what it means.
CHECKS = (
    ("journal entries that do not balance or have fewer than two lines", """
        SELECT count(*) FROM (
            SELECT e.id FROM journal_entries e
            LEFT JOIN journal_entry_details d ON d.journal_entry_id = e.id
            GROUP BY e.id HAVING count(d.id) < 2 OR sum(d.debit) <> sum(d.credit)) bad"""),
    ("Loan Portfolio (1200) minus the principal still owed on the schedules of loans not written off", """
        SELECT (SELECT COALESCE(sum(d.debit - d.credit), 0) FROM journal_entry_details d
                JOIN chart_of_accounts a ON a.id = d.account_id WHERE a.account_code = '1200')
             - (SELECT COALESCE(sum(ps.principal_due - ps.principal_paid), 0) FROM payment_schedules ps
                JOIN loans l ON l.id = ps.loan_id WHERE l.status <> 'written_off')"""),
    ("Loan Portfolio (1200) minus the loans' principal_outstanding (not written off)", """
        SELECT (SELECT COALESCE(sum(d.debit - d.credit), 0) FROM journal_entry_details d
                JOIN chart_of_accounts a ON a.id = d.account_id WHERE a.account_code = '1200')
             - (SELECT COALESCE(sum(l.principal_outstanding), 0) FROM loans l WHERE l.status <> 'written_off')"""),
    ("loans whose summary columns disagree with their schedule", """
        SELECT count(*) FROM loans l
        LEFT JOIN (SELECT ps.loan_id, sum(ps.principal_due - ps.principal_paid) AS owed,
                          min(ps.due_date) FILTER (WHERE ps.status <> 'paid') AS oldest
                   FROM payment_schedules ps GROUP BY ps.loan_id) s ON s.loan_id = l.id
        WHERE l.principal_outstanding <> COALESCE(s.owed, 0)
           OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest"""),
    ("closed loans that still owe, or active/defaulted loans that owe nothing", """
        SELECT count(*) FROM loans l
        WHERE (l.status = 'closed' AND l.oldest_unpaid_due_date IS NOT NULL)
           OR (l.status IN ('active', 'defaulted') AND l.oldest_unpaid_due_date IS NULL)"""),
)


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


def seed_scale(url: URL | str, customers: int, *, random_seed: int = 1, today: date | None = None,
               progress: Progress | None = None, batch: int = 50_000) -> ScaleReport:
    """Load a synthetic portfolio of `customers` customers in one transaction; see the module's notes."""
    if customers < 1:
        raise AstrofinError("--scale needs at least 1 customer")
    today = today or date.today()
    say = progress or (lambda _message, _fraction: None)
    report = ScaleReport(customers=customers)
    started = time.perf_counter()
    lap = started

    def mark(step: str) -> None:
        nonlocal lap
        now = time.perf_counter()
        report.timings[step] = now - lap
        lap = now

    plan = _Plan(customers, random_seed, today)
    with psycopg.connect(_libpq(url), autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM loans), "
                    "(SELECT count(*) FROM chart_of_accounts WHERE account_code IN ('1000', '1200', '4000', '5000')), "
                    "(SELECT count(*) FROM transactions)")
        existing = cur.fetchone()
        assert existing is not None
        if existing[0] or existing[1] or existing[3]:
            raise AstrofinError(
                f"scale seeding needs a book with no customers, loans or transactions; this one has {existing[0]} "
                f"customers and {existing[1]} loans (start from a fresh database: astrofin db migrate --reset, "
                "then astrofin db seed, then --scale)")
        if existing[2] != 4:
            raise AstrofinError("the chart of accounts is missing; run `astrofin db seed` first")
        staff, officers = _staff(cur)
        # Triggers (audit, journal balance, the summary columns) and foreign-key checks are off for this
        # session's load only; the invariants are checked below before commit.
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(_STAGING)

        say(f"Customers 0 of {customers:,} …", 0.0)
        loan_id = 0
        for start in range(1, customers + 1, batch):
            stop = min(customers + 1, start + batch)
            rows = plan.customer_rows(start, stop, officers)
            loans: list[tuple[object, ...]] = []
            for row in rows:
                customer_id, officer = int(str(row[0])), int(str(row[-1]))
                if plan.rng.random() < 0.2:
                    loan_id += 1
                    loans.append(plan.loans_for(customer_id, loan_id, officer, staff, second=True))
                loan_id += 1
                loans.append(plan.loans_for(customer_id, loan_id, officer, staff, second=False))
            with cur.copy(f"COPY customers ({', '.join(_CUSTOMER_COLUMNS)}) FROM STDIN") as copy:
                copy.write(_copy_lines(rows))
            with cur.copy(f"COPY scale_loans ({', '.join(_LOAN_COLUMNS + _PLAN_COLUMNS)}) FROM STDIN") as copy:
                copy.write(_copy_lines(loans))
            say(f"Customers {stop - 1:,} of {customers:,} …", 0.25 * (stop - 1) / customers)
        report.loans = loan_id
        report.by_status = dict(plan.by_status)
        with cur.copy("COPY scale_products (id, principal, rate, method, term, frequency) FROM STDIN") as copy:
            copy.write(_copy_lines((pid, *key) for key, pid in plan.products.items()))
        mark("customers and loans generated and copied")

        steps = (
            ("Schedules of each product (ledger_schedule_rows)", _TEMPLATES, 0.27),
            ("Loans with their summary columns", _LOANS, 0.32),
            ("Payment schedules", _SCHEDULES, 0.55),
            ("Transactions", _TRANSACTIONS, 0.72),
            ("Journal entries", _JOURNAL, 0.9),
            ("Sequences", _SEQUENCES, 0.91),
        )
        params = {"today": today, "cashier": staff["cashier"], "customers": customers}
        for title, sql, fraction in steps:
            say(f"{title} …", fraction - 0.01)
            for statement in (s for s in sql.split(";\n") if s.strip()):
                cur.execute(statement, params if "%(" in statement else None)  # type: ignore[arg-type]
            mark(title)
        cur.execute("SET LOCAL session_replication_role = origin")

        say("Checking the ledger's invariants …", 0.92)
        for meaning, sql in CHECKS:
            cur.execute(sql)
            found = cur.fetchone()
            assert found is not None
            if found[0] != 0:
                raise AstrofinError(f"scale seed check failed, nothing was written: {meaning}: {found[0]}")
        mark("invariant checks")
        for table in ("payment_schedules", "transactions", "journal_entries", "journal_entry_details"):
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (names from the fixed tuple)
            counted = cur.fetchone()
            report.rows[table] = int(str(counted[0])) if counted else 0
        cur.execute("SELECT calculate_par(30, %s), (SELECT COALESCE(sum(l.principal_outstanding), 0) FROM loans l "
                    "WHERE l.status <> 'written_off')", (today,))
        figures = cur.fetchone()
        assert figures is not None
        report.par30 = Decimal(str(figures[0]))
        report.portfolio = Decimal(str(figures[1]))
        say("Committing …", 0.95)
        conn.commit()
        mark("commit")
    say("Analyzing …", 0.97)
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        for table in ("customers", "loans", "payment_schedules", "transactions", "journal_entries",
                      "journal_entry_details"):
            conn.execute(f"VACUUM (ANALYZE) {table}")  # fixed names; sets the visibility map for index-only scans
    mark("vacuum analyze")
    report.seconds = time.perf_counter() - started
    say(f"Scale seed done in {report.seconds:.1f} s", 1.0)
    return report
