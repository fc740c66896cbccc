"""Reading the portal's statement: the header found by its columns, the wild files' quirks, each row's outcome."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from db.mpesa.statement import RefusedRow, StatementRefused, StatementRow, parse_statement
from tests.mpesa.statements import HEADER, row, write


def test_a_wild_statement_gives_every_row_its_outcome(tmp_path: Path) -> None:
    rows = [
        row("RKA1", "1,500.00", "L-000001"),
        "",
        row("RKA2", "200.00", "c 000 002", when="30/11/2026 09:00:01",
            details="Pay Bill from 254700000000 - MARY, JANE Acc. {account}", party="254700000000 - MARY, JANE"),
        row("RKA3", "300.00", "L-000003", status="Failed"),
        row("RKA4", "", "L-000004", withdrawn="-1,000.00", details="Business Payment to 254711111111"),
        row("RKA5", "400.00", "L-000005", status="Reversed"),
        row("RKA1", "1,500.00", "L-000001"),
        row("RKA6", "abc", "L-000006"),
        row("RKA7", "70.00", "L-000007", when="31-11-2026 10:00:00"),
        row("RKA8", "80.00", "L-000008", when="30-11-2026 10:00:00"),
    ]
    path = write(tmp_path / "wild.csv", rows, bom=True, crlf=True, tail="RKA9,2026-11-30 10:", final_newline=True)
    got = list(parse_statement(path))
    ok = [r for r in got if isinstance(r, StatementRow)]
    out = {r.reference or str(r.line): (r.status, r.reason) for r in got if isinstance(r, RefusedRow)}
    assert [(r.receipt_number, r.paid_in, r.account) for r in ok] == [
        ("RKA1", Decimal("1500.00"), "L-000001"), ("RKA2", Decimal("200.00"), "c 000 002"),
        ("RKA8", Decimal("80.00"), "L-000008")]
    assert ok[1].completed_at == datetime(2026, 11, 30, 9, 0, 1)
    assert (ok[1].payer_phone, ok[1].payer_name) == ("254700000000", "MARY, JANE")
    assert ok[0].line == 7  # after the four key/value lines, a blank line and the header
    assert ok[0].raw["Receipt No."] == "RKA1" and ok[0].raw["A/C No."] == "L-000001"
    assert out["RKA3"] == ("skipped", "status Failed: not posted")
    assert out["RKA4"] == ("skipped", "a withdrawal, not a repayment")
    assert out["RKA5"] == ("skipped", "status Reversed: not posted")
    assert out["RKA1"] == ("skipped", "receipt RKA1 appears again in the file (first on line 7)")
    assert out["RKA6"][0] == "refused" and '"abc" is not an amount' in out["RKA6"][1]
    assert out["RKA7"][0] == "refused" and "is not a date and time" in out["RKA7"][1]
    assert out["RKA9"] == ("refused", "the last line is cut short: export the statement again")
    assert len(got) == 10


def test_missing_columns_refuse_the_whole_file_in_one_line(tmp_path: Path) -> None:
    header = HEADER.replace("A/C No.", "Account").replace(",Details,", ",Description,")
    path = write(tmp_path / "cut.csv", [row("RKB1", "10.00", "L-1")], header=header)
    with pytest.raises(StatementRefused) as refused:
        list(parse_statement(path))
    assert str(refused.value) == ("cut.csv lacks the columns Details, A/C No.: export the full statement from the "
                                  "portal")


def test_the_header_is_found_in_any_case_and_spacing(tmp_path: Path) -> None:
    header = HEADER.upper().replace("RECEIPT NO.", " receipt  no ").replace(",", " ,")
    path = write(tmp_path / "odd.csv", [row("rkc1", "10.00", "L-1")], header=header, final_newline=False)
    assert [r.receipt_number for r in parse_statement(path) if isinstance(r, StatementRow)] == ["RKC1"]


def test_a_file_that_is_no_statement_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("hello,world\n1,2\n")
    with pytest.raises(StatementRefused, match="has no statement table"):
        list(parse_statement(path))
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\xff\xd8\xff\xe0" * 100)
    with pytest.raises(StatementRefused, match="not UTF-8 text"):
        list(parse_statement(binary))
