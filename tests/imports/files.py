"""CSV files for the import tests, written as people fill the templates (a spreadsheet's CSV)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


def report(path: Path) -> dict[int, tuple[str, str, str]]:
    """The report beside the input: line -> (status, reference, reason). Its rows are in the file's order."""
    with path.with_name(f"{path.stem}.report.csv").open(newline="", encoding="utf-8") as handle:
        rows = [(int(r["line"]), (r["status"], r["reference"], r["reason"])) for r in csv.DictReader(handle)]
    lines = [line for line, _ in rows]
    assert lines == sorted(lines) and len(set(lines)) == len(lines), "the report is not in the file's order"
    return dict(rows)
