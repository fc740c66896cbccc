"""`astrofin import …` from a shell: the template, an import as a named user with its summary and report, and the
file refusals as one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from astrofin_tui.cli import main
from tests.cli_env import cli_env
from tests.imports.conftest import ImportBook
from tests.imports.files import report


@pytest.fixture
def env_for(db_url, monkeypatch):  # type: ignore[no-untyped-def]
    env = cli_env(db_url)
    for key in ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER"):
        monkeypatch.setenv(key, env[key])
    return env


def test_template_then_import_then_rerun(env_for, book: ImportBook, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "people.csv"
    assert main(["import", "template", "customers", "--output", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {path}" in out and "national_id" in out and "required" in out
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1].replace("NRB01", "IMP01"),
                               lines[1].replace("12345678", "87654321").replace("NRB01", "IMP01").replace(
                                   "0712 345 678", "12"), ""]))
    assert main(["import", "customers", str(path), "--as", "supervisor_imp", "--dry-run"]) == 3
    out = capsys.readouterr().out
    assert "dry run" in out and "would import: 1" in out and "refused: 1" in out
    assert main(["import", "customers", str(path), "--as", "supervisor_imp"]) == 3
    out = capsys.readouterr().out
    assert "imported: 1" in out and f"report: {tmp_path / 'people.report.csv'}" in out
    assert report(path)[3][0] == "refused" and "Kenyan" in report(path)[3][2]
    assert main(["import", "customers", str(path), "--as", "supervisor_imp"]) == 3
    assert "already imported: 1" in capsys.readouterr().out
    with book.owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers WHERE national_id = '12345678'")).scalar() == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--as", "nobody"], "no user named 'nobody'"),
    (["--as", "cashier_imp"], "may not import"),
])
def test_who_imports(env_for, book: ImportBook, tmp_path: Path, capsys, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.csv"
    main(["import", "template", "customers", "--output", str(path)])
    capsys.readouterr()
    assert main(["import", "customers", str(path), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_columns_are_one_line(env_for, book: ImportBook, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "r.csv"
    path.write_text("reference,loan,amount\nR1,L-000001,10\n")
    assert main(["import", "repayments", str(path), "--as", "admin_imp"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"astrofin: {path} lacks the columns date, method (see `astrofin import template repayments`)"
    assert main(["import", "repayments", str(tmp_path / "none.csv"), "--as", "admin_imp"]) == 1
    assert "no file" in capsys.readouterr().err
