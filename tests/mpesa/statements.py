"""M-Pesa org portal statements as they arrive in the wild, written for the tests."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

YESTERDAY = date.today() - timedelta(days=1)
WHEN = f"{YESTERDAY:%Y-%m-%d} 14:05:12"
WHEN_DMY = f"{YESTERDAY:%d/%m/%Y} 09:00:01"

PREAMBLE = ["Account Holder:,ASTRO MICROFINANCE LTD", "Short Code:,600000",
            "Time Period:,From 01-11-2026 00:00:00 To 30-11-2026 23:59:59", "Operator:,ASTRO ADMIN", ""]
HEADER = ("Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,Withdrawn,Balance,"
          "Balance Confirmed,Reason Type,Other Party Info,Linked Transaction ID,A/C No.")


def row(receipt: str, paid_in: str, account: str, *, status: str = "Completed", withdrawn: str = "",
        when: str = WHEN, party: str = "254712345678 - JOHN DOE",
        details: str = "Pay Bill from 254712345678 - JOHN DOE Acc. {account}") -> str:
    def q(value: str) -> str:
        return f'"{value}"' if "," in value or '"' in value else value
    return ",".join(q(v) for v in (receipt, when, when, details.format(account=account), status, paid_in, withdrawn,
                                   "10,000.00", "true", "Pay Bill Online", party, "", account))


def write(path: Path, rows: list[str], *, bom: bool = False, crlf: bool = False, tail: str | None = None,
          header: str = HEADER, final_newline: bool = True) -> Path:
    nl = "\r\n" if crlf else "\n"
    text = nl.join([*PREAMBLE, header, *rows])
    if final_newline:
        text += nl
    if tail is not None:
        text += tail
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path
