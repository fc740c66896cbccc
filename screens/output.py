"""What leaves the app as files or paper: receipts and exports, private to the person's account.

Files are written with mode 0600 in folders with mode 0700 under the platformdirs data folder. A configured
printer command (ASTROFIN_PRINTER_COMMAND, e.g. `lp -d counter`) is split into an argv list and run without
a shell, the receipt on its standard input.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import textwrap
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path

from db.errors import AstrofinError
from db.paths import data_dir
from db.repositories.payments import DisbursementReceipt, Receipt
from db.repositories.tills import TillSheet, TillSheetLine
from widgets.dates import format_date
from widgets.money import format_money
from widgets.payment_method import paid_by

PRINTER_ENV = "ASTROFIN_PRINTER_COMMAND"
PRINT_TIMEOUT = 30
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class OutputError(AstrofinError):
    """A receipt or export could not be written or printed; the message says why."""


def private_folder(name: str) -> Path:
    folder = data_dir() / name
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def write_private(path: Path, text: str) -> Path:
    """Write (or replace) a file only its owner may read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            fd = -1
            handle.write(text)
    finally:
        if fd >= 0:
            os.close(fd)
    return path


def safe_name(raw: str) -> str:
    return _SAFE_NAME.sub("_", raw)[:80] or "unnamed"


RECOVERY_NOTE = "Recovery on written-off loan"
LOAN_CLOSED_NOTE = "*** Loan closed: paid in full ***"


def receipt_text(receipt: Receipt | DisbursementReceipt, currency: str = "KES", branch: str = "AstroFinance") -> str:
    """The receipt as printed: 40 columns, plain text (a payment's, or a disbursement's)."""
    width = 40

    def line(label: str, value: str) -> str:
        return f"{label:<14}{value:>{width - 14}}"

    if isinstance(receipt, DisbursementReceipt):
        return "\n".join(_disbursement_lines(receipt, currency, branch, width, line)) + "\n"

    money = {name: format_money(getattr(receipt, name), currency)
             for name in ("amount", "penalty", "interest", "principal", "balance_after")}
    lines = [
        f"{branch} — payment receipt".center(width),
        "=" * width,
        line("Receipt", receipt.receipt_number),
        line("Date", format_date(receipt.payment_date)),
        f"Customer {receipt.customer_name} ({receipt.customer_number})",
        line("Loan", receipt.loan_number),
        "-" * width,
        line("Amount paid", money["amount"]),
        *((line("  penalty", money["penalty"]),
           line("  interest", money["interest"]),
           line("  principal", money["principal"]),
           "-" * width,
           line("Balance after", money["balance_after"])) if receipt.kind != "recovery" else
          ("-" * width, RECOVERY_NOTE.center(width))),
        *((LOAN_CLOSED_NOTE.center(width),) if receipt.loan_closed else ()),
        *paid_by_lines(receipt.payment_method, receipt.payment_reference, receipt.till_code, width),
        line("Cashier", receipt.cashier or "—"),
    ]
    if receipt.reversed:
        lines.append("*** THIS PAYMENT WAS REVERSED ***".center(width))
    return "\n".join(lines) + "\n"


def _disbursement_lines(receipt: DisbursementReceipt, currency: str, branch: str, width: int,
                        line: Callable[[str, str], str]) -> list[str]:
    lines = [
        f"{branch} — disbursement receipt".center(width),
        "=" * width,
        line("Loan", receipt.loan_number),
        line("Date", format_date(receipt.disbursement_date)),
        f"Customer {receipt.customer_name} ({receipt.customer_number})",
    ]
    if receipt.product:
        lines.append(f"Product {receipt.product}"[:width])
    lines += [
        "-" * width,
        line("Principal", format_money(receipt.principal, currency)),
        line("Processing fee", format_money(receipt.fee, currency)),
        "-" * width,
        line("Cash paid out" if receipt.payment_method == "cash" else "Paid out",
             format_money(receipt.cash_paid_out, currency)),
        *paid_by_lines(receipt.payment_method, receipt.payment_reference, receipt.till_code, width),
    ]
    if receipt.first_due_date is not None:
        lines.append(line("First due", format_date(receipt.first_due_date)))
    lines += [line("Disbursed by", receipt.cashier or "—"), "", "Received by " + "." * (width - 12)]
    return lines


SHEET_KINDS = {"float": "opening float", "payout": "paid out", "reversal": "reversal", "return": "to the vault"}
STATUS_WORDS = {"open": "Open", "pending_approval": "Waiting for approval", "closed": "Closed"}


def over_short(difference: Decimal | None) -> tuple[str, str]:
    """('Short', '50.00'), ('Over', '20.00') or ('Over/short', '0.00'); ('Over/short', '—') before the count."""
    if difference is None:
        return "Over/short", "—"
    if difference < 0:
        return "Short", format_money(-difference)
    if difference > 0:
        return "Over", format_money(difference)
    return "Over/short", format_money(difference)


def _sheet_line(item: TillSheetLine, width: int) -> str:
    """`09:10 NRB01-R-000123 L-000045  1,200.00`: time, receipt (or what moved), loan, cash in (out negative)."""
    what = (item.receipt_number if item.kind == "receipt" and item.receipt_number
            else SHEET_KINDS.get(item.kind, item.kind))
    amount = item.cash_in - item.cash_out
    money = format_money(amount) if amount >= 0 else "-" + format_money(-amount)
    left = f"{item.at.astimezone():%H:%M} {what[:14]:<14} {(item.loan_number or '')[:8]:<8}"
    return f"{left}{money:>{width - len(left)}}"


def till_sheet_text(sheet: TillSheet, currency: str = "KES", branch: str = "AstroFinance") -> str:
    """The end-of-day till sheet as printed, 40 columns like a receipt: the session, every movement of cash,
    expected against counted with the count by denomination, and who counted and approved."""
    width = 40
    s = sheet.session

    def line(label: str, value: str) -> str:
        return f"{label:<14}{value:>{width - 14}}"

    lines = [
        f"{branch} — till sheet".center(width),
        "=" * width,
        line("Branch", s.branch_code),
        line("Till", f"{s.till_code} {s.till_name}"[:width - 14]),
        line("Cashier", s.cashier_name[:width - 14]),
        line("Date", format_date(s.business_date)),
        line("Opened", f"{s.opened_at.astimezone():%H:%M}"),
        line("Status", STATUS_WORDS.get(s.status, s.status)),
        "-" * width,
        f"{'Time':<5} {'Receipt':<14} {'Loan':<8}{'Cash':>{width - 29}}",
        *(_sheet_line(item, width) for item in sheet.lines),
        "-" * width,
        line("Opening float", format_money(s.opening_float, currency)),
        line("Cash in", format_money(s.cash_in, currency)),
        line("Cash out", format_money(s.cash_out, currency)),
        line("Expected", format_money(s.expected_cash, currency)),
        line("Counted", format_money(s.counted_cash, currency) if s.counted_cash is not None else "—"),
    ]
    if sheet.denominations:
        for key, value in sheet.denominations.items():
            if key == "other":
                if Decimal(str(value)):
                    lines.append(line("  other coins", format_money(Decimal(str(value)))))
            elif int(Decimal(str(value))):
                pieces = int(Decimal(str(value)))
                lines.append(line(f"  {key} x {pieces}", format_money(Decimal(key) * pieces)))
    label, amount = over_short(s.difference)
    lines += [line(label, f"{currency} {amount}" if amount != "—" else amount), "-" * width]
    if s.close_reason:
        lines += textwrap.wrap(f"Reason: {s.close_reason}", width, break_on_hyphens=False)
    lines += [line("Counted by", (s.counted_by_name or "—")[:width - 14]),
              line("Approved by", (s.approved_by_name or "—")[:width - 14])]
    if s.closed_at is not None:
        lines.append(line("Closed", f"{format_date(s.closed_at.astimezone().date())} "
                                    f"{s.closed_at.astimezone():%H:%M}"))
    lines += ["", "Cashier " + "." * (width - 8), "", "Supervisor " + "." * (width - 11)]
    return "\n".join(lines) + "\n"


def print_till_sheet(sheet: TillSheet, currency: str = "KES", *, env: Mapping[str, str] | None = None) -> str:
    s = sheet.session
    name = f"{s.branch_code}-{s.till_code}-{s.business_date.isoformat()}-till-sheet-{s.id}"
    return print_text(till_sheet_text(sheet, currency), name, what="Till sheet", env=env)


def paid_by_lines(method: str, reference: str | None, till_code: str | None, width: int = 40) -> list[str]:
    """'Paid by: Cash, till T1' or 'Paid by: M-Pesa, ref QK7ABC123', folded when a long reference needs it."""
    return textwrap.wrap(f"Paid by: {paid_by(method, reference, till_code)}", width, break_on_hyphens=False)


def print_receipt(receipt: Receipt | DisbursementReceipt, currency: str = "KES", *,
                  env: Mapping[str, str] | None = None) -> str:
    """Send the receipt to the configured printer command, or save it as a text file; says where it went."""
    name = (receipt.receipt_number if isinstance(receipt, Receipt)
            else f"{receipt.loan_number}-disbursement-{receipt.transaction_id}")
    return print_text(receipt_text(receipt, currency), name, env=env)


def print_text(text: str, name: str, *, what: str = "Receipt", env: Mapping[str, str] | None = None) -> str:
    """Send a receipt-like text to the configured printer command, or save it as `name`.txt in the receipts
    folder; says where it went."""
    command = (os.environ if env is None else env).get(PRINTER_ENV, "").strip()
    if command:
        return _to_printer(shlex.split(command), text, what)
    path = private_folder("receipts") / f"{safe_name(name)}.txt"
    try:
        write_private(path, text)
    except OSError as exc:
        raise OutputError(f"could not save the {what.lower()} to {path}: {exc.strerror}") from exc
    return f"{what} saved to {path}"


def _to_printer(argv: list[str], text: str, what: str = "Receipt") -> str:
    if not argv:
        raise OutputError(f"{PRINTER_ENV} is empty")
    try:
        done = subprocess.run(argv, input=text.encode("utf-8"), capture_output=True, timeout=PRINT_TIMEOUT,
                              check=False, shell=False)
    except FileNotFoundError:
        raise OutputError(f"the printer command {argv[0]!r} was not found; check {PRINTER_ENV}") from None
    except subprocess.TimeoutExpired:
        raise OutputError(f"the printer command did not finish within {PRINT_TIMEOUT} seconds") from None
    except OSError as exc:
        raise OutputError(f"the printer command could not run: {exc.strerror}") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OutputError(f"the printer refused the {what.lower()} (exit {done.returncode})"
                          + (f": {detail[0][:120]}" if detail else ""))
    return f"{what} sent to the printer ({argv[0]})"
