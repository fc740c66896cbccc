"""maintenance, the scripts' help, and bad input: one clear line, a non-zero exit, never a traceback."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import create_engine, pool, text

from astrofin_tui.commands.database import _Progress
from db.scripts_common import BACKUP_NAME, TABLES

DESIGN_HELP = {
    "migrate": [
        "  -h, --help       Show this help message",
        "  -u, --user       Database user (default: postgres)",
        "  -d, --database   Database name (default: astrofinance)",
        "  -c, --create     Create database if it doesn't exist",
        "  -r, --reset      Reset database (drop and recreate)",
        "  -b, --backup     Backup database before migration",
    ],
    "seed": [
        "  -h, --help       Show this help message",
        "  -u, --user       Database user (default: postgres)",
        "  -d, --database   Database name (default: astrofinance)",
    ],
    "backup": [
        "  -h, --help           Show this help message",
        "  -u, --user           Database user (default: postgres)",
        "  -d, --database       Database name (default: astrofinance)",
        "  -o, --output-dir     Backup directory (default: ./backups)",
        "  -r, --retention-days Days to keep backups (default: 30)",
        "  -c, --retention-count Maximum number of backups to keep (default: 10)",
    ],
    "restore": [
        "  -h, --help           Show this help message",
        "  -u, --user           Database user (default: postgres)",
        "  -d, --database       Database name (default: astrofinance)",
        "  -c, --create         Create database if it doesn't exist",
        "  -r, --reset          Reset database (drop and recreate)",
        "  -l, --list           List available backups and exit",
    ],
    "maintenance": [
        "  -h, --help           Show this help message",
        "  -u, --user           Database user (default: postgres)",
        "  -d, --database       Database name (default: astrofinance)",
        "  -n, --no-backup      Skip backup before maintenance",
    ],
}
DESIGN_USAGE = {"migrate": "[options]", "seed": "[options]", "backup": "[options]",
                "restore": "[options] backup_file", "maintenance": "[options]"}


def _drop_optional_functions(url) -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP FUNCTION IF EXISTS perform_database_maintenance() CASCADE"))
        conn.execute(text("DROP FUNCTION IF EXISTS refresh_monthly_financial_summary() CASCADE"))
    engine.dispose()


def test_maintenance_no_backup_reports_skipped_steps_by_name(cli, db_url, backups):
    _drop_optional_functions(db_url)
    result = cli("db", "maintenance", "-n", "-d", db_url.database)
    assert result.code == 0, result.err
    assert "[1/7] Backup … skipped: switched off" in result.err
    assert "[2/7] VACUUM ANALYZE … done in" in result.err
    assert "[3/7] REINDEX … done in" in result.err
    assert "[4/7] Refresh materialized views … skipped: not installed" in result.err
    assert "[5/7] perform_database_maintenance() … skipped: not installed" in result.err
    assert "perform_database_maintenance(): skipped: not installed" in result.out
    for table in TABLES:
        assert f"  {table} " in result.out
    assert f"Database {db_url.database}:" in result.out
    assert not backups.exists()


def test_maintenance_backs_up_first_and_runs_installed_functions(cli, db_url, backups):
    engine = create_engine(db_url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE OR REPLACE FUNCTION perform_database_maintenance() RETURNS jsonb LANGUAGE sql "
            "AS $$ SELECT jsonb_build_object('par30', 1.25, 'marked_defaulted', 0) $$"))
        conn.execute(text(
            "CREATE OR REPLACE FUNCTION refresh_monthly_financial_summary() RETURNS void LANGUAGE sql AS $$ $$"))
    engine.dispose()
    result = cli("db", "maintenance", "-d", db_url.database)
    assert result.code == 0, result.err
    assert len([p for p in backups.iterdir() if BACKUP_NAME.match(p.name)]) == 1
    assert "[4/7] Refresh materialized views … done" in result.err
    assert '"par30": 1.25' in result.out


def test_maintenance_steps_switched_off_in_the_configuration(cli, db_url, monkeypatch):
    for variable in ("BACKUP_BEFORE_MAINTENANCE", "VACUUM_ENABLED", "REINDEX_ENABLED", "REFRESH_VIEWS_ENABLED"):
        monkeypatch.setenv(variable, "false")
    result = cli("db", "maintenance", "-d", db_url.database)
    assert result.code == 0, result.err
    assert "VACUUM ANALYZE … skipped: VACUUM_ENABLED=false" in result.err
    assert "REINDEX … skipped: REINDEX_ENABLED=false" in result.err
    assert "Refresh materialized views … skipped: REFRESH_VIEWS_ENABLED=false" in result.err
    assert "BACKUP_BEFORE_MAINTENANCE=false" in result.err


@pytest.mark.parametrize("name", sorted(DESIGN_HELP))
def test_each_script_help_shows_the_design_options(script, name):
    result = script(name, "-h", env={"BACKUP_PATH": ""})  # the defaults the design shows
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("Usage: ") and lines[0].endswith(f"{name}.sh {DESIGN_USAGE[name]}")
    for expected in DESIGN_HELP[name]:
        assert expected in lines, (expected, result.out)


def test_in_process_help_is_the_same(cli):
    result = cli("db", "restore", "--help")
    assert result.code == 0
    assert "Usage: astrofin db restore [options] backup_file" in result.out
    for expected in DESIGN_HELP["restore"]:
        assert expected in result.out.splitlines()


def _one_clear_line(result, *fragments: str) -> None:
    assert result.code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.err.splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith("[")]  # step reports start with [i/n]
    assert len(errors) == 1, result.err
    for fragment in fragments:
        assert fragment in errors[0], result.err


@pytest.mark.parametrize("name", ["migrate", "backup", "restore"])
def test_script_unknown_option(script, name):
    result = script(name, "--bogus")
    assert result.code == 2
    _one_clear_line(result, "unrecognized arguments: --bogus", f"{name}.sh")


def test_unknown_option_in_process(cli):
    result = cli("db", "maintenance", "-x")
    assert result.code == 2
    _one_clear_line(result, "astrofin db maintenance", "-x")


def test_bad_retention_value(cli):
    result = cli("db", "backup", "-c", "0")
    assert result.code == 2
    _one_clear_line(result, "must be at least 1")


def test_missing_backup_file(cli, db_url, tmp_path):
    result = cli("db", "restore", "-r", "-d", db_url.database, str(tmp_path / "nope.dump"))
    _one_clear_line(result, "astrofin: backup file not found")
    assert cli("db", "restore", "-d", db_url.database).code == 1  # no file named at all


def test_missing_backup_file_script(script, db_url, tmp_path):
    result = script("restore", "-d", db_url.database, str(tmp_path / "nope.dump"))
    assert result.code == 1
    _one_clear_line(result, "astrofin: backup file not found")


UNREACHABLE = [("/nonexistent", "5432"), ("localhost", "1")]


@pytest.mark.parametrize("host, port", UNREACHABLE)
@pytest.mark.parametrize("command", [["migrate", "-c"], ["seed"], ["backup"], ["maintenance", "-n"]])
def test_unreachable_server(cli, monkeypatch, host, port, command):
    monkeypatch.setenv("DB_HOST", host)
    monkeypatch.setenv("DB_PORT", port)
    result = cli("db", *command)
    _one_clear_line(result, "astrofin: cannot reach the database server", host)


@pytest.mark.parametrize("host, port", UNREACHABLE)
def test_unreachable_server_restore(cli, db_url, backups, monkeypatch, host, port):
    assert cli("db", "backup", "-d", db_url.database).code == 0
    dump = next(backups.iterdir())
    monkeypatch.setenv("DB_HOST", host)
    monkeypatch.setenv("DB_PORT", port)
    result = cli("db", "restore", "-r", str(dump))
    _one_clear_line(result, "astrofin: cannot reach the database server", host)


def test_unreachable_server_script(script):
    result = script("backup", env={"DB_HOST": "/nonexistent"})
    assert result.code == 1
    _one_clear_line(result, "astrofin: cannot reach the database server at /nonexistent")


def test_missing_database(cli, scratch):
    name = scratch()
    result = cli("db", "backup", "-d", name)
    _one_clear_line(result, f"database {name!r} does not exist")


def test_progress_on_a_terminal_is_one_updating_line():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    with _Progress(stream) as progress:
        progress("[1/2] Dump …", 0.0)
        progress("[1/2] Dump … done in 0.1 s", 0.5)
        progress("[2/2] Verify … done in 0.1 s", 1.0)
    written = stream.getvalue()
    assert "\n" not in written
    assert written.count("\r") == 4 and written.endswith("\r\x1b[2K")

    plain = io.StringIO()
    with _Progress(plain) as progress:
        progress("[1/2] Dump …", 0.0)
        progress("[1/2] Dump … done in 0.1 s", 0.5)
    assert plain.getvalue() == "[1/2] Dump … done in 0.1 s\n"


def test_script_without_uv_or_astrofin_says_what_to_install(tmp_path):
    import shutil
    import subprocess

    from tests.scripts.conftest import ROOT

    bare_path = "/usr/bin:/bin"
    if shutil.which("uv", path=bare_path) or shutil.which("astrofin", path=bare_path):
        pytest.skip("uv or astrofin is installed system-wide here")
    result = subprocess.run(["/bin/bash", str(ROOT / "db" / "seed.sh"), "-h"], env={"PATH": bare_path},
                            capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert result.returncode == 127
    assert result.stderr.count("\n") == 1 and "install uv" in result.stderr
