"""What an import reports: each row's outcome, the counts by outcome, and where the report file was written."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

Progress = Callable[[int, int], None]
"""Called as rows are done: (rows done, rows in the file). The total may grow while a file is still being read."""


def no_progress(_done: int, _total: int) -> None:
    """A progress callback for callers that show none."""


@dataclass(frozen=True)
class RowOutcome:
    """One row's result. `line` is the row's line number in the file (the header is line 1 of its table)."""

    line: int
    status: str
    """A word for the report and the summary: e.g. posted, suspense, already imported, refused, skipped."""
    reason: str = ""
    """For a refused row: what is wrong and how to fix it, in the words of a message beside a field."""
    reference: str = ""
    """The row's key: a receipt number, a national ID, a loan number."""
    amount: Decimal | None = None


@dataclass
class ImportSummary:
    """The counts by outcome and the money by outcome, kept as rows are done."""

    kind: str
    dry_run: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    amounts: dict[str, Decimal] = field(default_factory=dict)
    report_path: Path | None = None

    def add(self, outcome: RowOutcome) -> None:
        self.counts[outcome.status] += 1
        if outcome.amount is not None:
            self.amounts[outcome.status] = self.amounts.get(outcome.status, Decimal("0.00")) + outcome.amount

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        """The summary as lines for a terminal: one per outcome, with its amount where rows carry money."""
        plural = "" if self.rows == 1 else "s"
        dry = " (dry run: nothing written)" if self.dry_run else ""
        out = [f"{self.kind}: {self.rows:,} row{plural}{dry}"]
        for status, count in sorted(self.counts.items(), key=lambda item: (-item[1], item[0])):
            money = f", {self.amounts[status]:,.2f}" if status in self.amounts else ""
            out.append(f"  {status}: {count:,}{money}")
        if self.report_path is not None:
            out.append(f"  report: {self.report_path}")
        return out


def report_path_for(source: Path) -> Path:
    """The report beside its input: statement.csv → statement.report.csv."""
    return source.with_name(f"{source.stem}.report.csv")


REPORT_COLUMNS = ("line", "status", "reference", "amount", "reason")


def write_report(path: Path, outcomes: Iterable[RowOutcome]) -> None:
    """Each row's result, one per line, in the order of the input."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for outcome in outcomes:
            writer.writerow((outcome.line, outcome.status, outcome.reference,
                             "" if outcome.amount is None else f"{outcome.amount:.2f}", outcome.reason))
