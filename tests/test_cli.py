"""The command line: one clear line and a non-zero exit for every mistake, never a traceback."""

import io
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from astrofin_tui.cli import main
from db.passwords import verify_password
from tests.cli_env import cli_env


def _astrofin(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "astrofin_tui.cli", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def env_for(db_url, monkeypatch):
    env = cli_env(db_url)
    for key in ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER"):
        monkeypatch.setenv(key, env[key])
    return env


def test_config_show_prints_effective_settings_with_password_masked(monkeypatch, capsys):
    monkeypatch.setenv("DB_HOST", "db.example")
    monkeypatch.setenv("DB_PASSWORD", "do-not-print-me")
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert shown["connection"]["host"] == "db.example"
    assert "do-not-print-me" not in out


def test_set_password_outside_production_says_how(monkeypatch, capsys):
    assert main(["config", "set-password"]) == 1
    assert "ASTROFIN_ENV=production" in capsys.readouterr().err


def test_set_password_without_a_keyring_backend_names_the_alternatives(monkeypatch, capsys):
    monkeypatch.setenv("ASTROFIN_ENV", "production")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    assert main(["config", "set-password"]) == 1
    err = capsys.readouterr().err
    assert "DB_PASSWORD" in err and "pgpass" in err
    assert err.count("\n") == 1


def test_users_add_creates_an_account_that_verifies(env_for, engine, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct-horse-battery\ncorrect-horse-battery\n"))
    assert main(["users", "add", "wanjiku", "--role", "cashier", "--full-name", "Wanjiku Kamau"]) == 0
    with engine.connect() as conn:
        row = conn.execute(text("SELECT role, full_name, password_hash FROM users WHERE username = 'wanjiku'")).one()
    assert row.role == "cashier" and row.full_name == "Wanjiku Kamau"
    assert verify_password(row.password_hash, "correct-horse-battery")
    assert "created cashier wanjiku in HQ" in capsys.readouterr().out
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO branches (code, name, parent_id) SELECT 'KSM01', 'Kisumu', id FROM branches "
                          "WHERE parent_id IS NULL"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct-horse-battery\ncorrect-horse-battery\n"))
    assert main(["users", "add", "otieno", "--role", "loan_officer", "--branch", "ksm01"]) == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT b.code FROM users u JOIN branches b ON b.id = u.branch_id "
                                 "WHERE u.username = 'otieno'")).scalar_one() == "KSM01"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "add", "short", "--role", "cashier"], "short\nshort\n", "at least 10 characters"),
        (["users", "add", "twice", "--role", "cashier"], "long-enough-1\nlong-enough-2\n", "differ"),
        (["users", "add", "CASHIER", "--role", "cashier"], "long-enough-pw\nlong-enough-pw\n", "already exists"),
        (["users", "add", "bad name!", "--role", "admin"], "long-enough-pw\nlong-enough-pw\n", "a username has"),
        (["users", "add", "nobranch", "--role", "admin", "--branch", "XX9"], "long-enough-pw\nlong-enough-pw\n",
         "there is no active branch 'XX9' (branches: HQ)"),
    ],
)
def test_users_add_refusals_create_nothing(env_for, engine, monkeypatch, capsys, args, stdin, message):
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM users")).scalar_one()
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err and err.startswith("astrofin: ") and err.count("\n") == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == before


def test_unknown_option_is_one_line_and_exit_2(env_for):
    result = _astrofin("--no-such-option", env=env_for)
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-option" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_unknown_role_is_refused_with_the_choices(env_for):
    result = _astrofin("users", "add", "x1", "--role", "teller", env=env_for)
    assert result.returncode == 2
    assert "invalid choice: 'teller'" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_server_is_one_line(tmp_path):
    env = dict(os.environ, DB_HOST=str(tmp_path / "no-server-here"), DB_PORT="5432", DB_NAME="astrofinance")
    result = _astrofin("users", "add", "someone", "--role", "cashier", env=env, stdin="long-enough-pw\n" * 2)
    assert result.returncode == 1
    assert result.stderr.startswith("astrofin: cannot reach the database server")
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
