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
from collections.abc import Callable, Mapping
from pathlib import Path

from db.errors import AstrofinError
from db.paths import data_dir
from db.repositories.payments import DisbursementReceipt, Receipt
from widgets.dates import format_date
from widgets.money import format_money

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
        line("  penalty", money["penalty"]),
        line("  interest", money["interest"]),
        line("  principal", money["principal"]),
        "-" * width,
        line("Balance after", money["balance_after"]),
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
        line("Cash paid out", format_money(receipt.cash_paid_out, currency)),
    ]
    if receipt.first_due_date is not None:
        lines.append(line("First due", format_date(receipt.first_due_date)))
    lines += [line("Disbursed by", receipt.cashier or "—"), "", "Received by " + "." * (width - 12)]
    return lines


def print_receipt(receipt: Receipt | DisbursementReceipt, currency: str = "KES", *,
                  env: Mapping[str, str] | None = None) -> str:
    """Send the receipt to the configured printer command, or save it as a text file; says where it went."""
    text = receipt_text(receipt, currency)
    command = (os.environ if env is None else env).get(PRINTER_ENV, "").strip()
    if command:
        return _to_printer(shlex.split(command), text)
    name = (receipt.receipt_number if isinstance(receipt, Receipt)
            else f"{receipt.loan_number}-disbursement-{receipt.transaction_id}")
    path = private_folder("receipts") / f"{safe_name(name)}.txt"
    try:
        write_private(path, text)
    except OSError as exc:
        raise OutputError(f"could not save the receipt to {path}: {exc.strerror}") from exc
    return f"Receipt saved to {path}"


def _to_printer(argv: list[str], text: str) -> str:
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
        raise OutputError(f"the printer refused the receipt (exit {done.returncode})"
                          + (f": {detail[0][:120]}" if detail else ""))
    return f"Receipt sent to the printer ({argv[0]})"
