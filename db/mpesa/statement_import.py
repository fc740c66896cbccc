"""Importing an M-Pesa org portal statement: each row received into the inbox, then posted, with its outcome in
the report beside the input and the counts in the summary.

The file is read row by row (db/mpesa/statement.py) and sent in batches of BATCH rows: one round trip receives a
batch (mobile_money_receive_batch, committed), one more posts it (mobile_money_post_batch), each row in a
subtransaction of its own, so a refused row writes nothing of its own and the others go on. The statement is
recorded by the sha256 of its file: the same file again finds its record and its rows come out "already imported",
nothing doubled; a run that stopped half-way picks up where it stopped (a row received but not posted is posted).
A dry run parses, matches (read-only) and reports what would happen, writing nothing to the database.

Row outcomes: posted, suspense, already imported, skipped (a failed or reversed transaction, a withdrawal, a
receipt again in the file), refused (what is wrong with the row).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import chain
from pathlib import Path

from sqlalchemy import Engine

from db.engine import Actor
from db.imports.outcome import ImportSummary, Progress, RowOutcome, no_progress, report_path_for, write_report
from db.mpesa.statement import RefusedRow, StatementRow, parse_statement
from db.repositories.mobile_money import MobileMoneyReceipt, MobileMoneyRepository

BATCH = 500
KIND = "M-Pesa statement"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def count_lines(path: Path) -> int:
    """The file's lines: the progress bar's total (a few are header lines, so it is an upper bound)."""
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) + 1


def as_receipt(row: StatementRow) -> MobileMoneyReceipt:
    return MobileMoneyReceipt(row.receipt_number, row.completed_at, row.paid_in, row.payer_phone, row.payer_name,
                              row.account, None, row.raw, "statement")


@dataclass
class _Totals:
    paid_in: Decimal = Decimal("0.00")
    refused: Decimal = Decimal("0.00")
    rows: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def saw(self, row: StatementRow) -> None:
        self.first = row.completed_at if self.first is None else min(self.first, row.completed_at)
        self.last = row.completed_at if self.last is None else max(self.last, row.completed_at)


class _Run:
    def __init__(self, repo: MobileMoneyRepository, statement_id: int | None, summary: ImportSummary) -> None:
        self.repo = repo
        self.statement_id = statement_id
        self.summary = summary
        self.outcomes: list[RowOutcome | None] = []
        self.batch: list[tuple[int, StatementRow]] = []
        self.totals = _Totals()

    def done(self, outcome: RowOutcome, index: int | None = None) -> None:
        if index is None:
            self.outcomes.append(outcome)
        else:
            self.outcomes[index] = outcome
        self.summary.add(outcome)

    def refused(self, row: RefusedRow) -> None:
        self.totals.rows += 1
        if row.status == "refused" and row.amount is not None:
            self.totals.refused += row.amount
            self.totals.paid_in += row.amount
        self.done(RowOutcome(row.line, row.status, row.reason, row.reference, row.amount))

    def add(self, row: StatementRow) -> None:
        self.totals.rows += 1
        self.totals.saw(row)
        self.batch.append((len(self.outcomes), row))
        self.outcomes.append(None)

    def flush(self, dry_run: bool) -> None:
        if not self.batch:
            return
        rows = [row for _, row in self.batch]
        receipts = [as_receipt(row) for row in rows]
        if dry_run:
            for (index, row), preview in zip(self.batch, self.repo.preview(receipts), strict=True):
                self._counted(row, preview.status)
                self.done(RowOutcome(row.line, preview.status, preview.reason or _loan(preview.loan_number),
                                     row.receipt_number, row.paid_in), index)
            self.batch = []
            return
        received = self.repo.receive_batch(receipts, self.statement_id)
        ids = [r.receipt_id for r in received if r.receipt_id is not None]
        postings = {p.receipt_id: p for p in self.repo.post_batch(ids)} if ids else {}
        for (index, row), got in zip(self.batch, received, strict=True):
            if got.receipt_id is None:
                self.totals.refused += row.paid_in
                self.totals.paid_in += row.paid_in
                self.done(RowOutcome(row.line, "refused", got.error or "refused", row.receipt_number, row.paid_in),
                          index)
                continue
            posting = postings.get(got.receipt_id)
            mine = got.statement_id == self.statement_id
            if mine:
                self.totals.paid_in += row.paid_in
            if posting is None or posting.error is not None or posting.posting is None:
                error = posting.error if posting is not None else "not posted"
                self.done(RowOutcome(row.line, "refused", f"received, not posted: {error}", row.receipt_number,
                                     row.paid_in), index)
            elif posting.fresh:
                p = posting.posting
                self.done(RowOutcome(row.line, p.status, p.reason or _loan(p.loan_number), row.receipt_number,
                                     row.paid_in), index)
            else:
                where = "" if mine else " (from another statement or a callback)"
                self.done(RowOutcome(row.line, "already imported", f"{posting.posting.status}{where}",
                                     row.receipt_number, row.paid_in), index)
        self.batch = []

    def _counted(self, row: StatementRow, status: str) -> None:
        if status != "already imported":
            self.totals.paid_in += row.paid_in


def _loan(number: str | None) -> str:
    return f"loan {number}" if number else ""


def import_statement(engine: Engine, actor: Actor, path: Path | str, dry_run: bool = False,
                     progress: Progress = no_progress, batch: int = BATCH) -> ImportSummary:
    """Imports the statement at `path` as `actor`; returns the summary (its report written beside the input).
    Raises StatementRefused for a file that is not a statement, AstrofinError for a refusal of the database."""
    path = Path(path)
    summary = ImportSummary(KIND, dry_run=dry_run)
    repo = MobileMoneyRepository(engine, actor)
    rows = parse_statement(path)
    first = next(rows, None)  # the header is checked before anything is written
    statement_id = None
    if not dry_run:
        statement_id = repo.open_statement(path.name, file_sha256(path)).statement_id
    total = count_lines(path)
    run = _Run(repo, statement_id, summary)
    pending: list[StatementRow | RefusedRow] = [first] if first is not None else []
    for item in chain(pending, rows):
        if isinstance(item, RefusedRow):
            run.refused(item)
        else:
            run.add(item)
            if len(run.batch) >= batch:
                run.flush(dry_run)
                progress(len(run.outcomes), max(total, len(run.outcomes)))
    run.flush(dry_run)
    progress(len(run.outcomes), len(run.outcomes))
    if statement_id is not None:
        t = run.totals
        repo.close_statement(statement_id, t.rows, t.paid_in, t.refused, t.first, t.last)
    report = report_path_for(path)
    write_report(report, (o for o in run.outcomes if o is not None))
    summary.report_path = report
    return summary
