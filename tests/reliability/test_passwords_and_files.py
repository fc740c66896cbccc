"""Passwords and files: argon2id parameters and the rehash on sign-in, the minimum length, sign-in refusals
that reveal nothing, lockout, no password or hash in logs, errors or the audit log, private files, and the
warning about a readable configuration file that holds a password."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from db.config import insecure_config_warning, load_settings
from db.engine import Actor, make_engine, redact_params
from db.errors import AstrofinError, ValidationError
from db.passwords import HASHER, MIN_PASSWORD_LENGTH, password_problem, verify_password
from db.paths import log_dir, private_file, write_private
from db.repositories.auth import MAX_FAILED_SIGN_INS, WRONG_CREDENTIALS, SignInRefused, authenticate
from db.repositories.users import UserRepository
from tests.reliability.conftest import Run
from tests.reliability.faultlib import record, staff_actors

WEAK = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, hash_len=16, salt_len=8, type=Type.ID)


@pytest.fixture
def app_engine(db_url: URL, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The application's engine (login role astrofin_app) with every query and its parameters logged."""
    monkeypatch.setenv("LOG_QUERIES", "true")
    monkeypatch.setenv("LOG_QUERY_PARAMS", "true")
    monkeypatch.setenv("SLOW_QUERY_THRESHOLD", "0")
    engine = make_engine(db_url.set(username="astrofin_app"), load_settings())
    yield engine
    engine.dispose()


def _hash_of(engine: Engine, username: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT password_hash FROM users WHERE username = :u"),
                                {"u": username}).scalar_one())


def test_argon2id_parameters_and_a_rehash_on_sign_in(engine: Engine, app_engine: Engine) -> None:
    assert (HASHER.time_cost, HASHER.memory_cost, HASHER.parallelism, HASHER.hash_len, HASHER.salt_len) == (
        3, 65536, 4, 32, 16)  # the parameters stated in docs/security.md
    weak = WEAK.hash("cashier-demo")
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET password_hash = :h WHERE username = 'cashier'"), {"h": weak})
    actor = authenticate(app_engine, "cashier", "cashier-demo")
    assert actor.username == "cashier"
    new = _hash_of(engine, "cashier")
    assert new != weak and new.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not HASHER.check_needs_rehash(new) and verify_password(new, "cashier-demo")
    authenticate(app_engine, "cashier", "cashier-demo")
    assert _hash_of(engine, "cashier") == new  # a current hash is left alone
    record("password hashed with weaker argon2 parameters (t=1, m=8 MiB, p=1), then a sign-in", 1,
           "rehashed at sign-in to argon2id t=3, m=64 MiB, p=4 through the login role's column grant; the "
           "next sign-in keeps it", group="security")


def test_minimum_length_everywhere_a_password_is_set(engine: Engine, cli: Callable[..., Run]) -> None:
    short = "x" * (MIN_PASSWORD_LENGTH - 1)
    assert password_problem(short) and password_problem("x" * MIN_PASSWORD_LENGTH) is None
    admin = staff_actors(engine)["admin"]
    repo = UserRepository(engine, admin)
    with pytest.raises(ValidationError, match="at least"):
        repo.create("newbie", "New Bie", "cashier", short, short)
    cashier = staff_actors(engine)["cashier"]
    with pytest.raises(ValidationError, match="at least"):
        repo.reset_password(cashier.user_id, short, short)
    run = cli("users", "add", "newbie2", "--role", "cashier", stdin=f"{short}\n{short}\n")
    assert run.code == 1 and "at least" in run.err
    record(f"passwords shorter than {MIN_PASSWORD_LENGTH} characters: user create, password reset, "
           "`astrofin users add`", 3, "all refused with the minimum length in the message", group="security")


def test_sign_in_refusals_reveal_nothing_and_five_failures_lock(engine: Engine, app_engine: Engine) -> None:
    refusals = []
    for username, password in (("nobody-here", "whatever-pass"), ("cashier", "wrong-password"), ("", ""),
                               ("cashier", ""), ("CASHIER ", "wrong-again-1")):
        with pytest.raises(SignInRefused) as info:
            authenticate(app_engine, username, password)
        refusals.append(str(info.value))
    assert set(refusals) == {WRONG_CREDENTIALS}
    for _ in range(MAX_FAILED_SIGN_INS - 2):  # two failures above counted for cashier ("CASHIER " is cashier)
        with pytest.raises(SignInRefused):
            authenticate(app_engine, "cashier", "wrong-password")
    with pytest.raises(SignInRefused, match="locked"):
        authenticate(app_engine, "cashier", "cashier-demo")  # even the right password, while locked
    with engine.connect() as conn:
        count, until = conn.execute(text(
            "SELECT failed_login_count, locked_until FROM users WHERE username = 'cashier'")).one()
    assert count == MAX_FAILED_SIGN_INS and until > datetime.now(UTC)
    record("sign-in: unknown user, wrong password, empty fields, case/space variants; then 5 failures", 8,
           f"one message for all ({WRONG_CREDENTIALS!r}); locked after {MAX_FAILED_SIGN_INS}, the right "
           "password refused while locked", group="security")


def test_no_password_or_hash_in_logs_errors_or_the_audit_log(engine: Engine, app_engine: Engine,
                                                              cli: Callable[..., Run]) -> None:
    passwords = ["cashier-demo", "wrong-password-1", "a-brand-new-secret-9", "shell-made-password-7"]
    with engine.begin() as conn:  # an outdated hash, so the sign-in below rewrites it (and logs the UPDATE)
        conn.execute(text("UPDATE users SET password_hash = :h WHERE username = 'cashier'"),
                     {"h": WEAK.hash("cashier-demo")})
    messages = []
    authenticate(app_engine, "cashier", "cashier-demo")
    for _ in range(MAX_FAILED_SIGN_INS + 1):
        try:
            authenticate(app_engine, "cashier", "wrong-password-1")
        except SignInRefused as exc:
            messages.append(str(exc))
    actors = staff_actors(engine)
    admin = Actor(actors["admin"].user_id, "admin", "admin")
    UserRepository(app_engine, admin).reset_password(
        actors["cashier"].user_id, "a-brand-new-secret-9", "a-brand-new-secret-9")
    authenticate(app_engine, "cashier", "a-brand-new-secret-9")
    try:
        UserRepository(app_engine, admin).reset_password(actors["cashier"].user_id, "short", "short")
    except AstrofinError as exc:
        messages.append(str(exc))
    run = cli("users", "add", "shelluser", "--role", "cashier",
              stdin="shell-made-password-7\nshell-made-password-7\n")
    assert run.code == 0, run.err
    messages += [run.out, run.err]

    logs = {path: path.read_text(encoding="utf-8", errors="replace") for path in log_dir().rglob("*")
            if path.is_file()}
    assert any("UPDATE users" in body for body in logs.values()), "the query log did not record the updates"
    with engine.connect() as conn:
        audit = conn.execute(text("SELECT coalesce(string_agg(old_values::text || new_values::text, ' '), '') "
                                  "FROM audit_logs WHERE table_name = 'users'")).scalar_one()
    places = {**{str(path): body for path, body in logs.items()}, "audit_logs": audit,
              "messages": "\n".join(messages)}
    for place, body in places.items():
        assert "$argon2" not in body, f"a password hash in {place}"
        for password in passwords:
            assert password not in body, f"a password in {place}"
    assert redact_params({"password_hash": "x", "n": 1}) == {"password_hash": "(redacted)", "n": 1}
    record("grep of the log folder (queries.log with LOG_QUERIES and LOG_QUERY_PARAMS on), error messages and "
           "audit_logs after a rehash, 6 failed sign-ins, a lockout, a reset, a refused reset and `users add`",
           len(places) * (len(passwords) + 1), "no password and no argon2 hash anywhere (query parameters named "
           "like a secret or holding a hash are logged as (redacted); the audit log records '(changed)')",
           group="security")


def test_private_files_and_the_readable_config_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    old = os.umask(0)  # the most permissive umask: the files must still come out private
    try:
        written = write_private(tmp_path / "receipts" / "R-000001.txt", "Receipt R-000001\n")
        logged = private_file(tmp_path / "errors.log")
    finally:
        os.umask(old)
    for path in (written, logged):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    config = tmp_path / "database.config.json"
    config.write_text('{"production": {"password": "s3cret-in-a-file"}}', encoding="utf-8")
    config.chmod(0o644)
    warning = insecure_config_warning(config)
    assert warning is not None and "chmod 600" in warning and "s3cret" not in warning
    assert warning.count("\n") == 0
    config.chmod(0o600)
    assert insecure_config_warning(config) is None
    placeholder = tmp_path / "placeholder.json"
    placeholder.write_text('{"production": {"password": "${PROD_DB_PASSWORD:-}"}}', encoding="utf-8")
    placeholder.chmod(0o644)
    assert insecure_config_warning(placeholder) is None  # a placeholder holds no password

    # At start, the app says it on stderr before anything else.
    import db.bootstrap
    import db.config
    import db.embedded
    from astrofin_tui.launch import run_app

    config.chmod(0o640)
    monkeypatch.setattr(db.config, "user_config_file", lambda: config)
    monkeypatch.setattr(db.embedded, "stop_on_hangup", lambda: None)

    def stop(*_args: object) -> None:
        raise AstrofinError("stopped here by the test")

    monkeypatch.setattr(db.bootstrap, "open_app_database", stop)
    with pytest.raises(AstrofinError):
        run_app(low_bandwidth=False)
    err = capsys.readouterr().err.splitlines()
    assert err and err[0].startswith("astrofin: warning:") and "readable by its group" in err[0]
    record("files: a receipt-style file and a log under umask 000; a config file with a password at 0644 / "
           "0640 / 0600 and with a placeholder", 5, "files created 0600; one warning line at start for 0644 and "
           "0640, none for 0600 or a placeholder; the password never in the warning", group="security")
