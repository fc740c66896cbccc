"""bench --only mpesa: an M-Pesa org portal statement of 100,000 rows imported and posted against the seeded book
(70 % loan numbers of active loans, 10 % customer numbers of customers with one, 10 % national IDs, 10 % unknown
references), as the head office's M-Pesa service user, through `import_statement` (the command's path). Target: at
least 1,000 rows a second at 1,000,000 customers."""

from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

ROWS = 100_000
HEADER = ("Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,Withdrawn,Balance,"
          "Balance Confirmed,Reason Type,Other Party Info,Linked Transaction ID,A/C No.")


def write_statement(engine: Engine, path: Path, rows: int = ROWS, seed: int = 1) -> None:
    """The statement: references drawn from the book's active loans (one active loan per customer for the customer
    number and national ID rows), small amounts so that a loan paid many times still owes."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        loans = conn.execute(text(
            "SELECT l.loan_number, c.customer_number, c.national_id FROM loans l JOIN customers c "
            "ON c.id = l.customer_id WHERE l.status IN ('active', 'defaulted') AND NOT EXISTS "
            "(SELECT 1 FROM loans o WHERE o.customer_id = l.customer_id AND o.id <> l.id "
            " AND o.status IN ('active', 'defaulted')) ORDER BY l.id LIMIT 200000")).all()
    when = datetime.now().replace(microsecond=0) - timedelta(hours=2)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Account Holder:,ASTRO MICROFINANCE LTD\r\nShort Code:,600000\r\n\r\n" + HEADER + "\r\n")
        for i in range(rows):
            loan = loans[rng.randrange(len(loans))]
            pick = rng.random()
            account = (loan.loan_number if pick < 0.7 else loan.customer_number if pick < 0.8
                       else (loan.national_id or loan.loan_number) if pick < 0.9 else f"UNKNOWN{i}")
            amount = rng.choice((50, 100, 150, 200, 250))
            stamp = (when + timedelta(milliseconds=i * 10)).strftime("%Y-%m-%d %H:%M:%S")
            out.write(f"BNCH{i:07d},{stamp},{stamp},Pay Bill Online,Completed,\"{amount:,}.00\",,\"1,000,000.00\","
                      f"true,Pay Bill,2547{i % 100_000_000:08d} - PAYER {i},,{account}\r\n")


def run_mpesa(bench: Any, engine: Engine, actor: Any) -> None:
    from db.mpesa.statement_import import WORKERS, import_statement

    workers = int(os.environ.get("ASTROFIN_BENCH_MPESA_WORKERS") or WORKERS)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "statement.csv"
        started = time.perf_counter()
        write_statement(engine, path)
        written = time.perf_counter() - started
        started = time.perf_counter()
        summary = import_statement(engine, actor, path, workers=workers)
        seconds = time.perf_counter() - started
    rate = summary.rows / seconds if seconds else 0.0
    counts = ", ".join(f"{status} {count:,}" for status, count in sorted(summary.counts.items()))
    bench.add(f"M-Pesa statement of {summary.rows:,} rows imported and posted ({workers} posting sessions)",
              f"{rate:,.0f} rows/s ({seconds:.1f} s; {counts}; file written in {written:.1f} s)",
              "≥ 1,000 rows/s", rate >= 1_000)
