"""Customers from the template: the good rows in, each bad row reported with its reason, a rerun adds nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from db.errors import AstrofinError
from db.imports.book import TEMPLATES, import_book, template_notes, write_template
from tests.imports.conftest import ImportBook
from tests.imports.files import report, write_csv

HEADER = [c.name for c in TEMPLATES["customers"]]
FUTURE = (date.today() + timedelta(days=3)).isoformat()


def good(n: int) -> list[object]:
    return [f"ID{n:05d}", "Amina", f"Wanjiru{n}", f"0712 {n:03d} {n:03d}", "", "1985-03-14", "F", "Kibera",
            "Trader", "IMP01"]


# line in the file (the header is line 1) -> (row, a word the reason must hold)
BAD: dict[str, tuple[list[object], str]] = {
    "bad phone": (["B1", "Amina", "Phone", "12345", "", "", "", "", "", "IMP01"], "Kenyan number"),
    "duplicate in the file": (["M1", "Amina", "Twice", "", "", "", "", "", "", "IMP01"], "more than once"),
    "already in the book": (["OTHER-1", "Amina", "Other", "", "", "", "", "", "", "IMP01"], "already in the book"),
    "unknown branch": (["B4", "Amina", "Branch", "", "", "", "", "", "", "ZZZ99"], "unknown branch"),
    "another's branch": (["B5", "Amina", "Branch", "", "", "", "", "", "", "OTH01"], "unknown branch"),
    "born in the future": (["B6", "Amina", "Future", "", "", FUTURE, "", "", "", "IMP01"], "in the future"),
    "too young": (["B7", "Amina", "Young", "", "", (date.today() - timedelta(days=3650)).isoformat(), "", "", "",
                   "IMP01"], "18 years"),
    "blank last name": (["B8", "Amina", "", "", "", "", "", "", "", "IMP01"], "last name"),
    "blank national ID": (["", "Amina", "Noid", "", "", "", "", "", "", "IMP01"], "national id is missing"),
    "not a date": (["B10", "Amina", "Date", "", "", "14th March", "", "", "", "IMP01"], "not a date"),
    "bad gender": (["B11", "Amina", "Gender", "", "", "", "yes", "", "", "IMP01"], "gender"),
    "extra value": (["B12", "Amina", "Extra", "", "", "", "", "", "", "IMP01", "surplus"], "extra"),
    "missing value": (["B13", "Amina", "Short"], "missing"),
    "bad email": (["B14", "Amina", "Mail", "", "not-an-email", "", "", "", "", "IMP01"], "email"),
    "control characters": (["B15", "Amina\x07", "Bell", "", "", "", "", "", "", "IMP01"], "control"),
}


def _file(tmp_path: Path) -> tuple[Path, dict[int, str], int]:
    rows: list[list[object]] = []
    expect: dict[int, str] = {}
    n = 0
    # Names with markup and SQL are kept as typed.
    rows.append(["M1", "<b>Bold</b>", "Robert'); DROP TABLE customers;--", "", "", "", "", "", "", "imp01"])
    for _name, (row, word) in BAD.items():
        rows.append(row)
        expect[len(rows) + 1] = word
    while len(rows) < 100:
        n += 1
        rows.append(good(n))
    good_rows = 100 - len(BAD)
    return write_csv(tmp_path / "customers.csv", HEADER, rows), expect, good_rows


def test_good_rows_in_bad_rows_reported_rerun_adds_nothing(tmp_path: Path, book: ImportBook) -> None:
    path, expect, good_rows = _file(tmp_path)
    admin = book.staff["admin"]
    summary = import_book(book.app, admin, "customers", path)
    assert summary.counts == {"imported": good_rows, "refused": len(BAD)}, summary.lines()
    lines = report(path)
    assert len(lines) == 100
    for line, word in expect.items():
        status, _ref, reason = lines[line]
        assert status == "refused" and word.lower() in reason.lower(), (line, reason)
    with book.owner.connect() as conn:
        imported = conn.execute(text("SELECT count(*) FROM customers WHERE branch_id = :b"),
                                {"b": book.branch}).scalar()
        assert imported == good_rows
        marked = conn.execute(text("SELECT first_name, last_name, phone, gender FROM customers "
                                   "WHERE national_id = 'M1'")).one()
        assert tuple(marked) == ("<b>Bold</b>", "Robert'); DROP TABLE customers;--", None, None)
        assert conn.execute(text("SELECT phone, gender, created_by FROM customers WHERE national_id = 'ID00002'"))\
            .one() == ("+254712002002", "female", admin.user_id)
        assert conn.execute(text("SELECT count(*) FROM import_rows WHERE kind = 'customers'")).scalar() == good_rows
        audited = conn.execute(text("SELECT count(*) FROM audit_logs WHERE table_name = 'customers' "
                                    "AND changed_by = :u"), {"u": admin.user_id}).scalar()
        assert audited == good_rows

    again = import_book(book.app, admin, "customers", path)
    assert again.counts == {"already imported": good_rows, "refused": len(BAD)}
    with book.owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers WHERE branch_id = :b"),
                            {"b": book.branch}).scalar() == good_rows


def test_dry_run_writes_nothing(tmp_path: Path, book: ImportBook) -> None:
    path, _expect, good_rows = _file(tmp_path)
    summary = import_book(book.app, book.staff["supervisor"], "customers", path, dry_run=True)
    assert summary.counts == {"would import": good_rows, "refused": len(BAD)}
    assert "dry run" in summary.lines()[0]
    with book.owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers WHERE branch_id = :b"),
                            {"b": book.branch}).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM import_rows")).scalar() == 0
    assert report(path)[3][0] == "refused"


def test_a_row_the_database_refuses_writes_nothing_and_the_rest_go_on(tmp_path: Path, book: ImportBook) -> None:
    # A national ID taken between the validation pass and the writing pass: the database's unique key judges.
    # 250 rows: three batches over two connections, the failing row in the second.
    path = write_csv(tmp_path / "race.csv", HEADER, [good(n) for n in range(1, 251)])
    from db.imports import book as module

    real = module._validate

    def validate_then_take(*args: object, **kwargs: object) -> object:
        plan = real(*args, **kwargs)  # type: ignore[arg-type]
        with book.owner.begin() as conn:
            conn.execute(text("INSERT INTO customers (first_name, last_name, national_id, branch_id) "
                              "VALUES ('Quick', 'Other', 'ID00150', :b)"), {"b": book.other})
        return plan

    module._validate = validate_then_take  # type: ignore[assignment]
    try:
        summary = import_book(book.app, book.staff["admin"], "customers", path)
    finally:
        module._validate = real
    assert summary.counts == {"imported": 249, "refused": 1}
    status, _ref, reason = report(path)[151]
    assert status == "refused" and "already has national ID" in reason
    with book.owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM import_rows WHERE key = 'ID00150'")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM customers WHERE branch_id = :b"),
                            {"b": book.branch}).scalar() == 249


@pytest.mark.parametrize(("header", "message"), [
    (HEADER[:-1], "lacks the column branch"),
    ([*HEADER, "nickname"], "nickname"),
    (["a", "b"], "not a customers template"),
])
def test_wrong_columns_refuse_the_whole_file(tmp_path: Path, book: ImportBook, header: list[str],
                                             message: str) -> None:
    path = write_csv(tmp_path / "cols.csv", header, [["x"] * len(header)])
    with pytest.raises(AstrofinError, match=message):
        import_book(book.app, book.staff["admin"], "customers", path)
    assert not (tmp_path / "cols.report.csv").exists()


def test_files_that_are_not_templates(tmp_path: Path, book: ImportBook) -> None:
    admin = book.staff["admin"]
    with pytest.raises(AstrofinError, match="no file"):
        import_book(book.app, admin, "customers", tmp_path / "missing.csv")
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    with pytest.raises(AstrofinError, match="not a"):
        import_book(book.app, admin, "customers", binary)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(AstrofinError, match="empty"):
        import_book(book.app, admin, "customers", empty)


def test_only_importers_import(tmp_path: Path, book: ImportBook) -> None:
    path = write_csv(tmp_path / "c.csv", HEADER, [good(1)])
    for role in ("cashier", "officer"):
        with pytest.raises(AstrofinError, match="may not import"):
            import_book(book.app, book.staff[role], "customers", path)
    summary = import_book(book.app, book.staff["accountant"], "customers", path)
    assert summary.counts == {"imported": 1}


def test_template_is_a_header_and_an_example(tmp_path: Path, book: ImportBook) -> None:
    path = tmp_path / "t.csv"
    write_template("customers", path)
    lines = path.read_text().splitlines()
    assert lines[0].split(",") == HEADER and len(lines) == 2
    assert all(not line.startswith("#") for line in lines)
    assert len(template_notes("customers")) == len(HEADER)
    # The example row itself imports.
    summary = import_book(book.app, book.staff["admin"], "customers", path)
    assert summary.counts == {"refused": 1}  # its branch NRB01 is not the test book's
    assert "NRB01" in report(path)[2][2]
