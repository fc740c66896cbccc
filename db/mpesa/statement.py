"""The M-Pesa org portal's statement, as the portal exports it, read row by row (streamed, never whole).

The file opens with a few lines about the account (`Account Holder:`, `Short Code:`, `Time Period:`,
`Operator:` …), then the table: a header row with columns such as `Receipt No.`, `Completion Time`, `Initiation
Time`, `Details`, `Transaction Status`, `Paid In`, `Withdrawn`, `Balance`, `Balance Confirmed`, `Reason Type`,
`Other Party Info` (`254712345678 - JOHN DOE`), `Linked Transaction ID`, `A/C No.`. The header is found by its
columns, in any case and spacing; a UTF-8 byte-order mark, Windows line endings, quoted fields with commas,
thousands separators (`1,500.00`) and blank lines are read as they come. Every row comes out as a StatementRow (a
completed payment in) or a RefusedRow (`skipped`: not a repayment, e.g. a failed or reversed transaction, a
withdrawal, a receipt already in the file; `refused`: something wrong with the row, said so a person can fix it).
A file without the columns it needs is refused whole (StatementRefused, one line naming them).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from db.errors import AstrofinError

# Column keys: the header's text lower-cased with everything but letters and digits removed.
RECEIPT, COMPLETED, INITIATED, DETAILS, STATUS = "receiptno", "completiontime", "initiationtime", "details", \
    "transactionstatus"
PAID_IN, WITHDRAWN, BALANCE, OTHER_PARTY, ACCOUNT = "paidin", "withdrawn", "balance", "otherpartyinfo", "acno"
REQUIRED = {RECEIPT: "Receipt No.", COMPLETED: "Completion Time", DETAILS: "Details", STATUS: "Transaction Status",
            PAID_IN: "Paid In", OTHER_PARTY: "Other Party Info", ACCOUNT: "A/C No."}
KNOWN = {*REQUIRED, INITIATED, WITHDRAWN, BALANCE, "balanceconfirmed", "reasontype", "linkedtransactionid"}
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d-%m-%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%d-%m-%Y %H:%M", "%Y/%m/%d %H:%M:%S")
RECEIPT_FORMAT = re.compile(r"^[A-Z0-9]{1,40}$")
MAX_AMOUNT = Decimal("999999999999.99")


class StatementRefused(AstrofinError):
    """The whole file is refused: its message is one line saying what to do."""


@dataclass(frozen=True)
class StatementRow:
    """A completed payment in, as the portal wrote it."""

    line: int
    receipt_number: str
    completed_at: datetime
    paid_in: Decimal
    details: str
    status: str
    payer_phone: str | None
    payer_name: str | None
    account: str
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefusedRow:
    """A row that is not posted: `status` is "skipped" (not a repayment) or "refused" (something wrong in it)."""

    line: int
    status: str
    reason: str
    reference: str = ""
    amount: Decimal | None = None


def column_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def parse_amount(text: str) -> Decimal | None:
    """'1,500.00' → Decimal('1500.00'); '' → None; ValueError with a person's words for anything else."""
    cleaned = text.strip().replace(",", "").replace(" ", "")
    if cleaned.upper().startswith("KES"):
        cleaned = cleaned[3:]
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f'"{text.strip()}" is not an amount') from None
    if not value.is_finite():
        raise ValueError(f'"{text.strip()}" is not an amount')
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f'"{text.strip()}" has more than two decimals')
    return value.quantize(Decimal("0.01"))


def parse_time(text: str) -> datetime:
    value = text.strip()
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    raise ValueError(f'the completion time "{value}" is not a date and time like 2026-11-30 14:05:12')


def split_party(text: str) -> tuple[str | None, str | None]:
    """'254712345678 - JOHN DOE' → ('254712345678', 'JOHN DOE')."""
    value = text.strip()
    if not value:
        return None, None
    phone, sep, name = value.partition(" - ")
    if not sep:
        return (value, None) if re.fullmatch(r"[0-9*+ ]{6,20}", value) else (None, value)
    return phone.strip() or None, name.strip() or None


class _Lines:
    """The file's lines for csv.reader, remembering whether the last one read ended with a line break."""

    def __init__(self, handle: object) -> None:
        self.handle = handle
        self.ended = True

    def __iter__(self) -> Iterator[str]:
        for line in self.handle:  # type: ignore[attr-defined]
            self.ended = line.endswith(("\n", "\r"))
            yield line


def parse_statement(path: Path | str) -> Iterator[StatementRow | RefusedRow]:
    """Every row of the statement's table in order, each a StatementRow or a RefusedRow. Raises StatementRefused for
    a file that cannot be read as a statement at all (before yielding anything when the header is the problem)."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise StatementRefused(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        lines = _Lines(handle)
        reader = csv.reader(lines)
        try:
            yield from _rows(reader, lines, path)
        except UnicodeDecodeError:
            raise StatementRefused(f"{path.name} is not UTF-8 text: export the statement again as CSV") from None
        except csv.Error as exc:
            raise StatementRefused(f"{path.name} is not a CSV file the portal wrote: {exc}") from None


def _rows(reader: Iterator[list[str]], lines: _Lines, path: Path) -> Iterator[StatementRow | RefusedRow]:
    columns: dict[str, int] | None = None
    labels: dict[int, str] = {}
    seen: dict[str, int] = {}
    pending: tuple[int, list[str]] | None = None
    line_num = 0
    for cells in reader:
        start = line_num + 1
        line_num = reader.line_num  # type: ignore[attr-defined]
        if columns is None:
            keys = [column_key(c) for c in cells]
            if RECEIPT in keys and len(set(keys) & KNOWN) >= 3:
                missing = [label for key, label in REQUIRED.items() if key not in keys]
                if missing:
                    raise StatementRefused(f"{path.name} lacks the column{'s' if len(missing) > 1 else ''} "
                                           f"{', '.join(missing)}: export the full statement from the portal")
                columns = {}
                for i, key in enumerate(keys):
                    columns.setdefault(key, i)
                labels = {i: (cells[i].strip() or key) for key, i in columns.items()}
            continue
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if pending is not None:
            yield _row(pending[0], pending[1], columns, labels, seen, last=False, complete=True)
        pending = (start, cells)
    if columns is None:
        raise StatementRefused(f"{path.name} has no statement table: no header row with "
                               f"{', '.join(REQUIRED.values())}")
    if pending is not None:
        yield _row(pending[0], pending[1], columns, labels, seen, last=True, complete=lines.ended)


def _row(line: int, cells: list[str], columns: dict[str, int], labels: dict[int, str], seen: dict[str, int], *,
         last: bool, complete: bool) -> StatementRow | RefusedRow:
    width = max(columns.values()) + 1

    def cell(key: str) -> str:
        i = columns.get(key)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    receipt = cell(RECEIPT).upper()
    runaway = bool(cells) and cells[-1].endswith(("\n", "\r"))  # a quote opened and never closed, to the end
    if last and ((not complete and len(cells) < width) or runaway):
        return RefusedRow(line, "refused", "the last line is cut short: export the statement again", receipt)
    if len(cells) < len(columns) and len(cells) < width:
        return RefusedRow(line, "refused", f"the row has {len(cells)} of the table's {width} columns", receipt)
    status = cell(STATUS)
    try:
        paid_in = parse_amount(cell(PAID_IN))
        withdrawn = parse_amount(cell(WITHDRAWN))
    except ValueError as exc:
        return RefusedRow(line, "refused", f"Paid In or Withdrawn: {exc}", receipt)
    if status.lower() != "completed":
        return RefusedRow(line, "skipped", f"status {status or 'missing'}: not posted", receipt, paid_in)
    if paid_in is None and withdrawn is not None:
        return RefusedRow(line, "skipped", "a withdrawal, not a repayment", receipt)
    if paid_in is None:
        return RefusedRow(line, "refused", "no amount in Paid In", receipt)
    if paid_in <= 0:
        if paid_in < 0:
            return RefusedRow(line, "skipped", "a withdrawal, not a repayment", receipt)
        return RefusedRow(line, "refused", "the amount paid in is 0.00", receipt)
    if paid_in > MAX_AMOUNT:
        return RefusedRow(line, "refused", f"the amount paid in {paid_in:,.2f} is too large", receipt, paid_in)
    if not receipt:
        return RefusedRow(line, "refused", "no receipt number in Receipt No.", "", paid_in)
    if not RECEIPT_FORMAT.match(receipt):
        return RefusedRow(line, "refused", f'the receipt number "{receipt[:50]}" is not one (letters and digits)',
                          receipt[:50], paid_in)
    try:
        completed = parse_time(cell(COMPLETED))
    except ValueError as exc:
        return RefusedRow(line, "refused", str(exc), receipt, paid_in)
    first = seen.get(receipt)
    if first is not None:
        return RefusedRow(line, "skipped", f"receipt {receipt} appears again in the file (first on line {first})",
                          receipt)
    seen[receipt] = line
    phone, name = split_party(cell(OTHER_PARTY))
    raw = {labels[i]: cells[i] for i in labels if i < len(cells) and cells[i] != ""}
    return StatementRow(line, receipt, completed, paid_in, cell(DETAILS), status, phone, name, cell(ACCOUNT), raw)
