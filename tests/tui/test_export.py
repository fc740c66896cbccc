"""The one CSV export: cells a spreadsheet would run as formulas are written as text, an earlier file is never
overwritten, files are private, and a failed export leaves no half-written file."""

from __future__ import annotations

import csv
import stat
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from screens.export import csv_cell, export_csv, exports_folder


@pytest.mark.parametrize("raw", ["=HYPERLINK(\"http://x\")", "=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
                                 "\t=1+1", "\r=1+1", "-", "+254711000001"])
def test_a_cell_that_would_be_a_formula_is_written_as_text(raw: str) -> None:
    assert csv_cell(raw) == "'" + raw


@pytest.mark.parametrize(("value", "written"), [
    (Decimal("-12.50"), "-12.50"), ("-12.50", "-12.50"), ("-7", "-7"), (Decimal("1000.00"), "1000.00"), (3, "3"),
    (date(2026, 12, 6), "2026-12-06"), (None, ""), ("Wanjiku = Kamau", "Wanjiku = Kamau"), (True, "yes"),
])
def test_numbers_days_and_plain_text_are_kept_as_they_are(value: object, written: str) -> None:
    assert csv_cell(value) == written


def test_an_export_never_overwrites_an_earlier_one(tmp_path: Path) -> None:
    first = export_csv("journal", ["Entry"], [["JE-1"]], folder=tmp_path)
    second = export_csv("journal", ["Entry"], [["JE-2"]], folder=tmp_path)
    third = export_csv("journal", ["Entry"], [["JE-3"]], folder=tmp_path)
    assert [p.name for p in (first, second, third)] == ["journal.csv", "journal (2).csv", "journal (3).csv"]
    assert [list(csv.reader(p.open(encoding="utf-8")))[1] for p in (first, second, third)] == [
        ["JE-1"], ["JE-2"], ["JE-3"]]


def test_exports_are_private_and_guarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = export_csv("customers/../../etc", ["Name", "Amount"], [["=cmd|' /C calc'!A0", Decimal("-5.00")]])
    assert path.parent == exports_folder() == tmp_path / "data" / "astrofin" / "exports"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert list(csv.reader(path.open(encoding="utf-8"))) == [["Name", "Amount"], ["'=cmd|' /C calc'!A0", "-5.00"]]


def test_a_failed_export_leaves_no_file(tmp_path: Path) -> None:
    def rows() -> Iterator[list[object]]:
        yield ["first page"]
        raise ConnectionError("the database went away between pages")

    with pytest.raises(ConnectionError):
        export_csv("queue", ["Loan"], rows(), folder=tmp_path)
    assert list(tmp_path.iterdir()) == []
