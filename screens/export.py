"""CSV exports: the one writer every screen uses (accounting, reports, the overdue queue).

A file is opened in a spreadsheet by people, so a cell that would start a formula (`=`, `+`, `-`, `@`, a tab or
a carriage return) is written as text; a negative amount stays a number. A file is created, never replaced:
when the name is taken the new file gets a number (`journal (2).csv`), so an earlier export is never lost.
Files are readable by their owner only (they name customers and amounts), in the data folder's `exports`.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from db.paths import data_dir

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEGATIVE_NUMBER = re.compile(r"-\d+(\.\d+)?")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_COPIES = 10_000


def csv_cell(value: object) -> str:
    """A value as a spreadsheet will read it safely: days in ISO, amounts as they are, text never a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | int | Decimal):
        return str(value.isoformat() if isinstance(value, date) else value)
    text = str(value)
    if text[:1] in FORMULA_START and not _NEGATIVE_NUMBER.fullmatch(text):
        return "'" + text
    return text


def exports_folder() -> Path:
    """The data folder's `exports`, created readable by its owner only."""
    folder = data_dir() / "exports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def _create(folder: Path, base: str) -> tuple[Path, int]:
    """Create `base.csv` in `folder`, or `base (2).csv`, `base (3).csv`… when taken; never opens an existing file."""
    for copy in range(1, MAX_COPIES + 1):
        path = folder / (f"{base}.csv" if copy == 1 else f"{base} ({copy}).csv")
        try:
            return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
    raise FileExistsError(f"{MAX_COPIES} exports named {base} already exist in {folder}; move some away")


def export_csv(name: str, header: Sequence[str], rows: Iterable[Sequence[object]], *,
               folder: Path | None = None) -> Path:
    """Write `header` and `rows` to a new file `<name>.csv` (numbered when the name is taken); returns its path.

    `rows` may be a generator reading page after page; if it fails, the half-written file is removed.
    """
    base = _UNSAFE_NAME.sub("_", name).strip("._") or "export"
    path, fd = _create(folder if folder is not None else exports_folder(), base)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([csv_cell(title) for title in header])
            for row in rows:
                writer.writerow([csv_cell(value) for value in row])
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
