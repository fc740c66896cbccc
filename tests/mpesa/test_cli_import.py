"""`astrofin import mpesa` on statements as they arrive in the wild, through the command's entry point: a BOM, CRLF,
thousands separators, quoted commas, failed and reversed rows, withdrawals, blank lines, a truncated last line; the
same file twice; a dry run; an unknown user; a file without the columns it needs."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from astrofin_tui.cli import main
from tests.cli_env import cli_env
from tests.groups.book import GroupBook
from tests.mpesa.helpers import balance, loan_number, owed, scalar
from tests.mpesa.statements import WHEN_DMY, row, write
from tests.reliability.faultlib import ledger_problems


@pytest.fixture
def env_for(db_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    env = cli_env(db_url)
    for key in ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.delenv("ASTROFIN_ENV", raising=False)


def _report(path: Path) -> dict[str, tuple[str, str]]:
    with path.with_name(f"{path.stem}.report.csv").open(encoding="utf-8") as handle:
        out: dict[str, tuple[str, str]] = {}
        for r in csv.DictReader(handle):
            out.setdefault(r["reference"] or r["line"], (r["status"], r["reason"]))
        return out


def _wild(tmp_path: Path, engine: Engine, book: GroupBook) -> Path:
    first, second = loan_number(engine, book.nrb.loans[0]), loan_number(engine, book.msa.loans[0])
    rows = [
        row("RKW1", "1,000.00", first.lower().replace("-", " - ")),
        "",
        row("RKW2", "250.50", second, details="Pay Bill from 254700000000 - MARY, JANE Acc. {account}",
            party="254700000000 - MARY, JANE", when=WHEN_DMY),
        row("RKW3", "300.00", first, status="Failed"),
        row("RKW4", "400.00", first, status="Reversed"),
        row("RKW5", "", first, withdrawn="-5,000.00"),
        row("RKW6", "75.00", "NOBODY 1"),
        row("RKW1", "1,000.00", first),
    ]
    return write(tmp_path / "statement.csv", rows, bom=True, crlf=True, tail="RKW7,2026-11-30 10:0")


def test_a_wild_statement_imported_twice_posts_each_receipt_once(env_for: None, book: GroupBook, engine: Engine,
                                                                 tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = _wild(tmp_path, engine, book)
    before = owed(engine, book.nrb.loans[0])
    assert main(["import", "mpesa", str(path)]) == 0
    out = capsys.readouterr()
    assert "M-Pesa statement: 8 rows" in out.out and "posted: 2, 1,250.50" in out.out
    assert "suspense: 1, 75.00" in out.out and "report:" in out.out
    report = _report(path)
    assert report["RKW1"][0] == "posted" and report["RKW2"][0] == "posted"
    assert report["RKW3"] == ("skipped", "status Failed: not posted")
    assert report["RKW4"] == ("skipped", "status Reversed: not posted")
    assert report["RKW5"] == ("skipped", "a withdrawal, not a repayment")
    assert report["RKW6"] == ("suspense", 'no loan, customer or national ID "NOBODY1"')
    assert report["RKW7"] == ("refused", "the last line is cut short: export the statement again")
    assert owed(engine, book.nrb.loans[0]) == before - Decimal("1000.00")
    assert scalar(engine, "SELECT payer_name FROM mobile_money_receipts WHERE receipt_number = 'RKW2'") == "MARY, JANE"
    assert scalar(engine, "SELECT received_by FROM mobile_money_receipts LIMIT 1") == scalar(
        engine, "SELECT id FROM users WHERE username = 'mpesa'")
    with engine.connect() as conn:
        rec = conn.execute(text("SELECT statement_total, posted, suspense, refused, balanced "
                                "FROM mobile_money_statement_reconciliation((SELECT max(id) FROM "
                                "mobile_money_statements))")).one()
    assert tuple(rec) == (Decimal("1325.50"), Decimal("1250.50"), Decimal("75.00"), Decimal("0.00"), True)
    # The same file again: nothing doubled.
    assert main(["import", "mpesa", str(path)]) == 0
    again = capsys.readouterr().out
    assert "already imported: 3, 1,325.50" in again and "posted" not in again.split("report:")[0].split("rows")[1]
    assert scalar(engine, "SELECT count(*) FROM transactions WHERE payment_method = 'mobile_money'") == 2
    assert scalar(engine, "SELECT count(*) FROM mobile_money_statements") == 1
    assert balance(engine, "2100") == Decimal("-75.00")
    assert ledger_problems(engine) == []


def test_a_dry_run_writes_nothing_to_the_books(env_for: None, book: GroupBook, engine: Engine, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = _wild(tmp_path, engine, book)
    assert main(["import", "mpesa", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "(dry run: nothing written)" in out and "posted: 2" in out and "suspense: 1" in out
    assert scalar(engine, "SELECT count(*) FROM mobile_money_receipts") == 0
    assert scalar(engine, "SELECT count(*) FROM mobile_money_statements") == 0


def test_refusals_are_one_line(env_for: None, book: GroupBook, engine: Engine, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    path = _wild(tmp_path, engine, book)
    assert main(["import", "mpesa", str(path), "--as", "nobody.here"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "there is no staff member 'nobody.here'" in err
    assert main(["import", "mpesa", str(path), "--as", book.nrb.staff["officer"].username]) == 1
    assert "is a loan officer" in capsys.readouterr().err
    cut = write(tmp_path / "cut.csv", [row("RKX1", "10.00", "L-1")],
                header="Receipt No.,Completion Time,Transaction Status,Paid In")
    assert main(["import", "mpesa", str(cut)]) == 1
    err = capsys.readouterr().err
    assert err == ("astrofin: cut.csv lacks the columns Details, Other Party Info, A/C No.: export the full "
                   "statement from the portal\n")
    assert main(["import", "mpesa", str(tmp_path / "missing.csv")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert scalar(engine, "SELECT count(*) FROM mobile_money_receipts") == 0
    assert scalar(engine, "SELECT count(*) FROM mobile_money_statements") == 0
