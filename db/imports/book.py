"""Bulk import of a book from CSV templates: customers, loans (with their state) and repayments.

`write_template(kind, path)` writes a template (a header row and one example row); `template_notes(kind)` says
what each column takes. `import_book(engine, actor, kind, path)` reads a filled template twice, streaming:

1. the validation pass checks every row before anything is written (the app's field rules of db/validation.py,
   the product ranges, the branches, products and officers that exist, duplicates in the file and in the book,
   the keys imported before) and keeps only the refused rows' reasons;
2. the writing pass sends each remaining row to its database function (import_customer, import_loan,
   import_repayment of migrations/sql/0025_bulk_import.sql) in a transaction of its own, which also records the
   row's key in import_rows: a row the database refuses writes nothing and the next row goes on; running the
   same file again reports the rows done as "already imported" and writes nothing for them.

The report (db/imports/outcome.py) is written beside the input, one line per row in the file's order.
"""

from __future__ import annotations

import csv
import hashlib
import queue
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, text

from db.engine import Actor, unit_of_work
from db.errors import AstrofinError, Refused, first_line
from db.imports.outcome import (
    ImportSummary,
    Progress,
    RowOutcome,
    no_progress,
    report_path_for,
    write_report,
)
from db.validation import CustomerInput, customer_problems

KINDS = ("customers", "loans", "repayments")

IMPORTED = "imported"
ALREADY = "already imported"
REFUSED = "refused"
WOULD = "would import"
"""A good row of a dry run."""

CHUNK = 1000
"""Rows looked up in the database at once by the validation pass (keys done, national IDs, loans, customers)."""

DATE_FORMS = ("%Y-%m-%d", "%d/%m/%Y")


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    example: str
    note: str


TEMPLATES: dict[str, tuple[Column, ...]] = {
    "customers": (
        Column("national_id", True, "12345678", "the row's key: letters, digits or '-', up to 30; unique in the book"),
        Column("first_name", True, "Amina", "as typed, up to 100 characters"),
        Column("last_name", True, "Wanjiru", "as typed, up to 100 characters"),
        Column("phone", False, "0712 345 678", "a Kenyan number as usually written, or +country code and number"),
        Column("email", False, "", "name@example.com, or empty"),
        Column("date_of_birth", False, "1985-03-14", "YYYY-MM-DD or DD/MM/YYYY; at least 18 years ago"),
        Column("gender", False, "female", "female, male or other (F, M), or empty"),
        Column("address", False, "Kibera, Nairobi", "up to 500 characters"),
        Column("occupation", False, "Trader", "up to 100 characters"),
        Column("branch", True, "NRB01", "the code of one of your branches"),
    ),
    "loans": (
        Column("loan_ref", True, "OLD-2024-0042", "the row's key: the old system's loan number, up to 100 characters"),
        Column("customer", True, "12345678", "the customer's national ID or customer number (C-000042)"),
        Column("product", True, "BIASHARA", "the code of a loan product; its method and frequency apply"),
        Column("branch", True, "NRB01", "the customer's branch, by code"),
        Column("principal", True, "50000.00", "the amount lent, inside the product's range"),
        Column("interest_rate", False, "24", "yearly percent; empty: the product's usual rate"),
        Column("term", False, "12", "installments; empty: the product's usual term"),
        Column("application_date", True, "2026-01-10", "YYYY-MM-DD or DD/MM/YYYY, not in the future"),
        Column("disbursement_date", False, "2026-01-15",
               "empty: not yet disbursed (imported as an application waiting for approval)"),
        Column("repaid", False, "12000.00", "what was repaid before the import (disbursed loans); empty: 0"),
        Column("officer", True, "officer1", "the username of the loan officer (or supervisor) in charge"),
    ),
    "repayments": (
        Column("reference", True, "QJK8H2L9PA", "the row's key: the receipt, M-Pesa code or bank reference"),
        Column("loan", True, "OLD-2024-0042", "a loan number (L-000042) or the loan_ref of an imported loan"),
        Column("amount", True, "4500.00", "more than 0, at most two decimals"),
        Column("date", True, "2026-02-15", "YYYY-MM-DD or DD/MM/YYYY, not in the future"),
        Column("method", True, "mobile_money", "cash, mobile_money or bank"),
    ),
}
KEY_COLUMN = {"customers": "national_id", "loans": "loan_ref", "repayments": "reference"}


# --- errors a person can cause with the file ------------------------------------------------------------------

class ImportFileError(AstrofinError):
    """The file as a whole is refused (missing, not CSV, wrong columns): nothing was written."""


def _check_kind(kind: str) -> tuple[Column, ...]:
    if kind not in TEMPLATES:
        raise ImportFileError(f"unknown import {kind!r}: choose {', '.join(KINDS)}")
    return TEMPLATES[kind]


# --- templates ------------------------------------------------------------------------------------------------

def write_template(kind: str, path: Path) -> None:
    """The template of a kind: its header and one example row, nothing else (CSV has no comments)."""
    columns = _check_kind(kind)
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.name for c in columns])
        writer.writerow([c.example for c in columns])


def template_notes(kind: str) -> list[str]:
    """What each column of the template takes, one line per column, for the command line to print."""
    columns = _check_kind(kind)
    width = max(len(c.name) for c in columns)
    return [f"{c.name.ljust(width)}  {'required' if c.required else 'optional'}: {c.note}" for c in columns]


# --- reading the file -----------------------------------------------------------------------------------------

@dataclass
class _Row:
    line: int
    values: dict[str, str]
    problem: str = ""


def _open_rows(kind: str, path: Path) -> Iterator[_Row]:
    """The rows of the file with their line numbers; blank lines skipped; the header checked first."""
    columns = _check_kind(kind)
    names = [c.name for c in columns]
    try:
        handle = Path(path).open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportFileError(f"no file {path}") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path} is a folder, not a CSV file") from None
    except PermissionError:
        raise ImportFileError(f"cannot read {path}: permission denied") from None
    with handle:
        try:
            reader = csv.reader(handle, strict=True)
            header: list[str] | None = None
            for record in reader:
                if not any(cell.strip() for cell in record):
                    continue
                if header is None:
                    header = [cell.strip().lower() for cell in record]
                    _check_header(kind, path, header, names)
                    continue
                row = _Row(reader.line_num, {})
                if len(record) != len(header):
                    row.problem = (f"this row has {len(record)} values and the header {len(header)} columns: "
                                   f"{'an extra' if len(record) > len(header) else 'a missing'} value or comma?")
                row.values = {name: cell.strip() for name, cell in zip(header, record, strict=False)}
                yield row
            if header is None:
                raise ImportFileError(f"{path} is empty: start from `astrofin import template {kind}`")
        except UnicodeDecodeError:
            raise ImportFileError(f"{path} is not a CSV text file (not UTF-8): save it as CSV UTF-8") from None
        except csv.Error as exc:
            raise ImportFileError(f"{path} is not a readable CSV file: {exc}") from None


def _check_header(kind: str, path: Path, header: list[str], names: list[str]) -> None:
    if "\x00" in "".join(header):
        raise ImportFileError(f"{path} is not a CSV text file")
    missing = [n for n in names if n not in header]
    if missing and not set(header) & set(names):
        raise ImportFileError(f"{path} is not a {kind} template: its first line has none of the columns "
                              f"{', '.join(names)} (see `astrofin import template {kind}`)")
    if missing:
        raise ImportFileError(f"{path} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                              f"(see `astrofin import template {kind}`)")
    extra = [n for n in header if n not in names]
    if extra:
        raise ImportFileError(f"{path} has column{'s' if len(extra) > 1 else ''} the {kind} template does not: "
                              f"{', '.join(extra)}; remove or rename {'them' if len(extra) > 1 else 'it'}")
    doubled = sorted({n for n in header if header.count(n) > 1})
    if doubled:
        raise ImportFileError(f"{path} has the column{'s' if len(doubled) > 1 else ''} {', '.join(doubled)} "
                              "more than once")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- values ---------------------------------------------------------------------------------------------------

class _Bad(Exception):
    """A value of a row is refused: the message says which and how to fix it."""


_AMOUNT = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


def _amount(values: dict[str, str], name: str, *, required: bool = True) -> Decimal | None:
    raw = values.get(name, "").replace(" ", "")
    label = name.replace("_", " ")
    if not raw:
        if required:
            raise _Bad(f"the {label} is missing")
        return None
    if not _AMOUNT.match(raw):
        raise _Bad(f"the {label} {values[name]!r} is not a number; write it like 4500.00")
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        raise _Bad(f"the {label} {values[name]!r} is not a number; write it like 4500.00") from None
    if value != value.quantize(Decimal("0.01")):
        raise _Bad(f"the {label} {values[name]} has more than two decimals")
    if abs(value) > Decimal("999999999999.99"):
        raise _Bad(f"the {label} {values[name]} is too large")
    return value.quantize(Decimal("0.01"))


def _number(values: dict[str, str], name: str, *, whole: bool) -> Decimal | None:
    raw = values.get(name, "").strip().rstrip("%").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _Bad(f"the {name.replace('_', ' ')} {values[name]!r} is not a number") from None
    if not value.is_finite() or (whole and value != value.to_integral_value()):
        raise _Bad(f"the {name.replace('_', ' ')} {values[name]!r} is not a {'whole ' if whole else ''}number")
    return value


def _date(values: dict[str, str], name: str, today: date, *, required: bool = True) -> date | None:
    raw = values.get(name, "")
    label = name.replace("_", " ")
    if not raw:
        if required:
            raise _Bad(f"the {label} is missing")
        return None
    for form in DATE_FORMS:
        try:
            day = datetime.strptime(raw, form).date()
            break
        except ValueError:
            continue
    else:
        raise _Bad(f"the {label} {raw!r} is not a date: write YYYY-MM-DD or DD/MM/YYYY")
    if day > today:
        raise _Bad(f"the {label} {day.isoformat()} is in the future")
    return day


def _required(values: dict[str, str], *names: str) -> None:
    blank = [n.replace("_", " ") for n in names if not values.get(n)]
    if blank:
        raise _Bad(f"the {' and the '.join(blank)} {'is' if len(blank) == 1 else 'are'} missing")


_GENDERS = {"f": "female", "female": "female", "m": "male", "male": "male", "other": "other", "o": "other"}


# --- what the validation pass knows of the book -----------------------------------------------------------------

@dataclass
class _Book:
    """Reference data, read once, and what the lookups of each chunk found."""

    branches: dict[str, bool] = field(default_factory=dict)
    products: dict[str, Any] = field(default_factory=dict)
    officers: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    ids_taken: set[str] = field(default_factory=set)
    customers: dict[str, str] = field(default_factory=dict)
    """national ID or customer number → the customer's branch code."""
    loans: set[str] = field(default_factory=set)
    """loan numbers and imported loan_refs that exist (in the importer's branches)."""


def _load_book(engine: Engine, actor: Actor, kind: str) -> _Book:
    book = _Book()
    with unit_of_work(engine, actor) as session:
        try:
            session.execute(text("SELECT count(*) FROM import_keys_done(:k, ARRAY[]::text[], :u)"),
                            {"k": kind, "u": actor.user_id})
        except Exception as exc:  # the actor's role or state refused: one line
            raise Refused(f"{actor.username} may not import: {_db_message(exc)}") from None
        book.branches = dict(session.execute(text(
            "SELECT code, is_active FROM branches WHERE id = ANY (astrofin_branch_scope())")).tuples().all())
        if kind == "loans":
            book.products = {r.code: r for r in session.execute(text(
                "SELECT code, is_active, principal_min, principal_max, rate_min, rate_max, rate_default, term_min, "
                "term_max, term_default FROM loan_products"))}
            book.officers = set(session.execute(text(
                "SELECT lower(username) FROM users WHERE is_active AND role IN ('loan_officer', 'supervisor')"))
                .scalars())
    return book


def _lookup_chunk(engine: Engine, actor: Actor, kind: str, rows: list[_Row], book: _Book) -> None:
    """What the database knows of this chunk's keys and references."""
    keys = [r.values.get(KEY_COLUMN[kind], "") for r in rows]
    with unit_of_work(engine, actor) as session:
        book.done = set(session.execute(text("SELECT * FROM import_keys_done(:k, :keys, :u)"),
                                        {"k": kind, "keys": keys, "u": actor.user_id}).scalars())
        if kind == "customers":
            book.ids_taken = set(session.execute(text("SELECT * FROM import_national_ids_taken(:ids, :u)"),
                                                 {"ids": keys, "u": actor.user_id}).scalars())
        elif kind == "loans":
            wanted = [r.values.get("customer", "") for r in rows]
            book.customers = {}
            for national_id, number, branch in session.execute(text(
                    "SELECT c.national_id, c.customer_number, b.code FROM customers c "
                    "JOIN branches b ON b.id = c.branch_id "
                    "WHERE c.national_id = ANY (:w) OR c.customer_number = ANY (:u)"),
                    {"w": wanted, "u": [w.upper() for w in wanted]}):
                if national_id:
                    book.customers[national_id] = branch
                book.customers[number] = branch
        else:
            wanted = [r.values.get("loan", "") for r in rows]
            book.loans = set(session.execute(text(
                "SELECT loan_number FROM loans WHERE loan_number = ANY (:u)"),
                {"u": [w.upper() for w in wanted]}).scalars())
            book.loans |= set(session.execute(text("SELECT * FROM import_keys_done('loans', :w, :me)"),
                                              {"w": wanted, "me": actor.user_id}).scalars())


# --- each kind's row: checked, then turned into its function's arguments ------------------------------------------

def _customer_args(values: dict[str, str], today: date) -> tuple[Any, ...]:
    _required(values, "national_id", "first_name", "last_name", "branch")
    gender_raw = values.get("gender", "").lower()
    if gender_raw and gender_raw not in _GENDERS:
        raise _Bad("the gender is female, male or other (or F, M), or empty")
    data = CustomerInput(
        first_name=values["first_name"], last_name=values["last_name"], national_id=values["national_id"],
        phone=values.get("phone") or None, email=values.get("email") or None,
        date_of_birth=_date(values, "date_of_birth", today, required=False),
        gender=_GENDERS.get(gender_raw), address=values.get("address") or None,
        occupation=values.get("occupation") or None,
    ).cleaned()
    problems = customer_problems(data, today)
    if problems:
        raise _Bad("; ".join(f"{name.replace('_', ' ')}: {message}" for name, message in problems.items()))
    return (data.national_id, data.first_name, data.last_name, data.phone, data.email, data.date_of_birth,
            data.gender, data.address, data.occupation, values["branch"].upper())


def _loan_args(values: dict[str, str], today: date, book: _Book) -> tuple[Any, ...]:
    _required(values, "loan_ref", "customer", "product", "branch", "officer")
    product = book.products.get(values["product"].upper())
    if product is None:
        raise _Bad(f"unknown product {values['product']!r}: use the code of a loan product")
    principal = _amount(values, "principal")
    assert principal is not None
    if principal <= 0:
        raise _Bad("the principal must be more than 0")
    _within(principal, product.principal_min, product.principal_max, f"principal {principal:,.2f}", product.code,
            money=True)
    rate = _number(values, "interest_rate", whole=False)
    rate_used = rate if rate is not None else product.rate_default
    if rate_used is None:
        raise _Bad(f"the interest rate is missing and product {product.code} has no usual rate")
    _within(rate_used, product.rate_min, product.rate_max, f"interest rate {rate_used}%", product.code, unit="%")
    term = _number(values, "term", whole=True)
    term_used = term if term is not None else product.term_default
    if term_used is None:
        raise _Bad(f"the term is missing and product {product.code} has no usual term")
    _within(term_used, product.term_min, product.term_max, f"term {term_used}", product.code, unit=" installments")
    applied = _date(values, "application_date", today)
    disbursed = _date(values, "disbursement_date", today, required=False)
    assert applied is not None
    if disbursed is not None and disbursed < applied:
        raise _Bad(f"the disbursement date {disbursed} is before the application date {applied}")
    repaid = _amount(values, "repaid", required=False)
    if repaid is not None and repaid < 0:
        raise _Bad("the amount repaid cannot be negative")
    if disbursed is None and repaid:
        raise _Bad("a loan not yet disbursed has nothing repaid: give its disbursement date or clear repaid")
    customer = values["customer"]
    home = book.customers.get(customer) or book.customers.get(customer.upper())
    if home is None:
        raise _Bad(f"unknown customer {customer!r}: no customer of your branches has this national ID or number")
    if home != values["branch"].upper():
        raise _Bad(f"customer {customer} belongs to branch {home}, not {values['branch'].upper()}")
    if values["officer"].lower() not in book.officers:
        raise _Bad(f"unknown officer {values['officer']!r}: give the username of an active loan officer or "
                   "supervisor")
    return (values["loan_ref"], customer, product.code, values["branch"].upper(), principal, rate,
            None if term is None else int(term), applied, disbursed, repaid, values["officer"])


def _within(value: Any, low: Any, high: Any, what: str, product: str, *, money: bool = False, unit: str = "") -> None:
    """Refuse a value outside the product's range (either end may be open), naming it and the range."""
    if (low is not None and value < low) or (high is not None and value > high):
        raise _Bad(f"the {what} is outside product {product}'s range {_range(low, high, money=money)}{unit}")


def _range(low: Any, high: Any, *, money: bool = False) -> str:
    def show(v: Any) -> str:
        return f"{v:,.2f}" if money else f"{v.normalize() if isinstance(v, Decimal) else v}"
    if low is None:
        return f"up to {show(high)}"
    if high is None:
        return f"from {show(low)}"
    return f"{show(low)} to {show(high)}"


def _repayment_args(values: dict[str, str], today: date) -> tuple[Any, ...]:
    _required(values, "reference", "loan", "method")
    amount = _amount(values, "amount")
    assert amount is not None
    if amount <= 0:
        raise _Bad(f"the amount must be more than 0 (got {amount})")
    day = _date(values, "date", today)
    method = values["method"].lower().replace("-", "_").replace(" ", "_")
    if method == "mpesa":
        method = "mobile_money"
    if method not in ("cash", "mobile_money", "bank"):
        raise _Bad(f"the method is cash, mobile_money or bank (not {values['method']!r})")
    if len(values["reference"]) > 100:
        raise _Bad("the reference has at most 100 characters")
    return (values["reference"], values["loan"], amount, day, method)


# --- the writing pass -----------------------------------------------------------------------------------------

# One statement per row: the row's function, in a transaction of its own (autocommit).
CALLS = {
    "customers": "SELECT import_customer(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
    "loans": "SELECT import_loan(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
    "repayments": "SELECT import_repayment(%s, %s, %s, %s, %s, %s, %s)",
}


def _db_message(exc: BaseException) -> str:
    """What the database said, as one line a person can act on."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    state = getattr(orig, "sqlstate", None) or ""
    if state == "23505":
        constraint = getattr(diag, "constraint_name", "") or ""
        if "national_id" in constraint:
            return "this national ID is already registered (in a branch outside yours)"
        return f"already in the book ({constraint})"
    if state.startswith("23"):
        constraint = getattr(diag, "constraint_name", "") or ""
        return f"the database refused a value ({constraint or state})"
    primary = getattr(diag, "message_primary", None)
    return primary or first_line(exc)


@dataclass
class _Plan:
    kind: str
    path: Path
    refused: dict[int, str]
    done: set[int]
    rows: int


def _validate(engine: Engine, actor: Actor, kind: str, path: Path, today: date, progress: Progress) -> _Plan:
    """The first pass: every row checked, only the refused rows' reasons and the already imported lines kept."""
    book = _load_book(engine, actor, kind)
    key_column = KEY_COLUMN[kind]
    refused: dict[int, str] = {}
    done: set[int] = set()
    seen: set[str] = set()
    count = 0
    chunk: list[_Row] = []

    def check(rows: list[_Row]) -> None:
        _lookup_chunk(engine, actor, kind, [r for r in rows if not r.problem], book)
        for row in rows:
            key = row.values.get(key_column, "")
            if row.problem:
                refused[row.line] = row.problem
                continue
            if key and key in book.done and key not in seen:
                done.add(row.line)
                seen.add(key)
                continue
            try:
                if key in seen:
                    raise _Bad(f"{key_column.replace('_', ' ')} {key} is in the file more than once "
                               "(only the first of them is imported)")
                _args(kind, row.values, today, book)
                if kind == "customers" and key in book.ids_taken:
                    raise _Bad(f"a customer with national ID {key} is already in the book")
            except _Bad as bad:
                refused[row.line] = str(bad)
            if key:
                seen.add(key)

    for row in _open_rows(kind, path):
        count += 1
        chunk.append(row)
        if len(chunk) >= CHUNK:
            check(chunk)
            chunk = []
            progress(count, count)
    check(chunk)
    return _Plan(kind, path, refused, done, count)


def _args(kind: str, values: dict[str, str], today: date, book: _Book) -> tuple[Any, ...]:
    if kind == "customers":
        if not book.branches.get(values.get("branch", "").upper(), False):
            branch = values.get("branch", "")
            if branch.upper() in book.branches:
                raise _Bad(f"branch {branch.upper()} is deactivated")
            if branch:
                raise _Bad(f"unknown branch {branch!r}: give the code of one of your branches")
        return _customer_args(values, today)
    if kind == "loans":
        branch = values.get("branch", "")
        if branch and branch.upper() not in book.branches:
            raise _Bad(f"unknown branch {branch!r}: give the code of one of your branches")
        return _loan_args(values, today, book)
    args = _repayment_args(values, today)
    loan = values["loan"]
    if loan.upper() not in book.loans and loan not in book.loans:
        raise _Bad(f"unknown loan {loan!r}: give a loan number (L-000042) or the loan_ref of an imported loan")
    return args


def _amount_of(kind: str, args: tuple[Any, ...]) -> Decimal | None:
    if kind == "loans":
        return args[4]  # type: ignore[no-any-return]
    if kind == "repayments":
        return args[2]  # type: ignore[no-any-return]
    return None


WORKERS = {"customers": 2, "loans": 1, "repayments": 1}
"""Connections writing at once. Customers are independent of each other (duplicate keys never reach the writing
pass), so two connections share the work; loans and repayments go one at a time, in the file's order (two
repayments of one loan are allocated in their order)."""


def _outcomes(engine: Engine, actor: Actor, plan: _Plan, sha: str, today: date, dry_run: bool,
              summary: ImportSummary, progress: Progress) -> Iterator[RowOutcome]:
    """The second pass: each row's outcome in the file's order; the good rows written (unless a dry run)."""
    workers = 1 if dry_run else WORKERS[plan.kind]
    writers: queue.SimpleQueue[_Writer] = queue.SimpleQueue()
    opened: list[_Writer] = []
    rows: deque[_Pending] = deque()
    batch: list[_Pending] = []
    in_flight: deque[Future[None]] = deque()
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import") if not dry_run else None

    def write(pendings: list[_Pending]) -> None:
        writer = writers.get()
        try:
            writer.write(pendings)
        finally:
            writers.put(writer)

    def finished() -> Iterator[RowOutcome]:
        while rows and rows[0].outcome is not None:
            outcome = rows.popleft().outcome
            assert outcome is not None
            summary.add(outcome)
            yield outcome

    try:
        if executor is not None:
            for _ in range(workers):
                opened.append(_Writer(engine, actor, plan.kind, sha))
                writers.put(opened[-1])
        done = 0
        for row in _open_rows(plan.kind, plan.path):
            done += 1
            if done % 200 == 0 or done == plan.rows:
                progress(done, plan.rows)
            pending = _pending(plan, row, today, dry_run)
            rows.append(pending)
            if pending.outcome is None:
                batch.append(pending)
                if len(batch) >= _Writer.BATCH:
                    assert executor is not None
                    in_flight.append(executor.submit(write, batch))
                    batch = []
                    while len(in_flight) > workers:
                        in_flight.popleft().result()
            yield from finished()
        if batch:
            assert executor is not None
            in_flight.append(executor.submit(write, batch))
        while in_flight:
            in_flight.popleft().result()
        yield from finished()
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        for writer in opened:
            writer.close()


def _pending(plan: _Plan, row: _Row, today: date, dry_run: bool) -> _Pending:
    """A row of the writing pass: its outcome already known (refused, already imported, a dry run's), or its
    function's arguments."""
    key = row.values.get(KEY_COLUMN[plan.kind], "")
    if row.line in plan.refused:
        return _Pending(row.line, key, None, outcome=RowOutcome(row.line, REFUSED, plan.refused[row.line], key))
    if row.line in plan.done:
        return _Pending(row.line, key, None, outcome=RowOutcome(row.line, ALREADY, "", key))
    try:
        args = _parsed(plan.kind, row.values, today)
    except _Bad as bad:  # cannot happen after the first pass, unless the file changed between the passes
        return _Pending(row.line, key, None, outcome=RowOutcome(row.line, REFUSED, str(bad), key))
    amount = _amount_of(plan.kind, args)
    if dry_run:
        return _Pending(row.line, key, amount, outcome=RowOutcome(row.line, WOULD, "", key, amount))
    return _Pending(row.line, key, amount, args)


@dataclass
class _Pending:
    line: int
    key: str
    amount: Decimal | None
    args: tuple[Any, ...] = ()
    outcome: RowOutcome | None = None
    call: Any = None
    commit: Any = None


class _Writer:
    """Writes rows in pipeline mode: each row is BEGIN; the importer's settings; its function; COMMIT (a transaction
    of its own), and a batch of rows travels to the server and back in one round trip.

    Each row's transaction carries the importer's role and name itself (set_config(…, true), as a unit of work
    does), and nothing is prepared: behind PgBouncer in transaction pooling the rows of one batch share a server
    connection but the next batch may get another, and whatever a session-wide setting or a prepared statement
    left on a server connection would be the next staff member's (docs/scaling.md, section 2).

    When a row fails, the server skips the rest of the batch; the rows before it are committed, the failing row is
    refused with the database's message (its transaction rolled back: nothing of it written), and the rows after it
    are sent again.
    """

    BATCH = 100

    def __init__(self, engine: Engine, actor: Actor, kind: str, sha: str) -> None:
        self.actor = actor
        self.call = CALLS[kind]
        self.sha = sha
        self.settings = (str(actor.user_id), actor.db_role)
        self.sa_conn = engine.connect()
        self.raw = _import_connection(self.sa_conn)

    def write(self, batch: list[_Pending]) -> None:
        """Send the batch until every row of it has its outcome."""
        while True:
            unsent = [p for p in batch if p.outcome is None]
            if not unsent:
                return
            self._send(unsent)

    def _send(self, batch: list[_Pending]) -> None:
        if not batch:
            return
        error: psycopg.Error | None = None
        for pending in batch:
            pending.call = pending.commit = None
        try:
            with self.raw.pipeline() as pipeline:
                try:
                    for pending in batch:
                        self.raw.execute("BEGIN")
                        self.raw.execute(_ROW_SETTINGS, self.settings)
                        pending.call = self.raw.cursor()
                        pending.call.execute(self.call, (self.actor.user_id, self.sha, *pending.args))
                        pending.commit = self.raw.cursor()
                        pending.commit.execute("COMMIT")
                    pipeline.sync()
                except psycopg.OperationalError:
                    raise
                except psycopg.Error as exc:  # a row failed (raised while later rows were being queued, or at sync)
                    error = exc
                    try:
                        pipeline.sync()  # the Sync that ends the aborted stretch, so the pipeline can be used again
                    except psycopg.Error:
                        pass
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            error = error or exc
        if error is not None or self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            # A failed row's explicit transaction stays open, aborted, after the Sync: end it.
            self.raw.execute("ROLLBACK")
        for pending in batch:
            if pending.commit is not None and pending.commit.statusmessage == "COMMIT":
                result = pending.call.fetchone()
                status = ALREADY if result is None or result[0] is None else IMPORTED
                pending.outcome = RowOutcome(pending.line, status, "", pending.key, pending.amount)
                continue
            # The first row not committed is the one that failed; the rows after it were skipped: sent again.
            reason = _db_message(error) if error is not None else "not written (the database gave no reason)"
            pending.outcome = RowOutcome(pending.line, REFUSED, reason, pending.key, pending.amount)
            break

    def close(self) -> None:
        # The connection was switched to autocommit and may have been left in a pipeline's error: never reused.
        self.sa_conn.invalidate()
        self.sa_conn.close()


def _parsed(kind: str, values: dict[str, str], today: date) -> tuple[Any, ...]:
    """A row's arguments for the writing pass: the values parsed; the first pass checked them against the book."""
    if kind == "customers":
        return _customer_args(values, today)
    if kind == "repayments":
        return _repayment_args(values, today)
    return _loan_args_loose(values, today)


def _loan_args_loose(values: dict[str, str], today: date) -> tuple[Any, ...]:
    """A loan row's arguments for the writing pass (the first pass checked it against the book)."""
    term = _number(values, "term", whole=True)
    return (values["loan_ref"], values["customer"], values["product"].upper(), values["branch"].upper(),
            _amount(values, "principal"), _number(values, "interest_rate", whole=False),
            None if term is None else int(term), _date(values, "application_date", today),
            _date(values, "disbursement_date", today, required=False), _amount(values, "repaid", required=False),
            values["officer"])


_ROW_SETTINGS = ("SELECT set_config('astrofin.user_id', %s, true), set_config('role', %s, true), "
                 "set_config('synchronous_commit', 'off', true)")
"""The importer's name and role for one row's transaction, and synchronous_commit off for it alone: its commit
returns before its WAL reaches the disk. That is safe here: a crash can lose at most the last rows' commits, and a
lost row is not in import_rows either (the same transaction), so running the file again writes it. Set per
transaction, it never reaches another staff member's payment on a pooled server connection."""


def _import_connection(sa_conn: Any) -> psycopg.Connection[Any]:
    """A connection of its own for the writing pass, in autocommit: each row sends its own BEGIN and COMMIT."""
    sa_conn.commit()
    raw: psycopg.Connection[Any] = sa_conn.connection.driver_connection
    raw.autocommit = True
    return raw


def import_book(engine: Engine, actor: Actor, kind: str, path: Path | str, dry_run: bool = False,
                progress: Progress = no_progress, *, today: date | None = None) -> ImportSummary:
    """Import a filled template of `kind`; the report goes beside it. Errors of the file as a whole raise
    ImportFileError (nothing written); a refused row is reported and the others go on."""
    _check_kind(kind)
    source = Path(path)
    day = today or date.today()
    plan = _validate(engine, actor, kind, source, day, no_progress)
    sha = _sha256(source)
    summary = ImportSummary(kind, dry_run=dry_run)
    report = report_path_for(source)
    progress(0, plan.rows)
    write_report(report, _outcomes(engine, actor, plan, sha, day, dry_run, summary, progress))
    progress(plan.rows, plan.rows)
    summary.report_path = report
    return summary

