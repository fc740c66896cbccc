"""`astrofin sms …` from a shell: dispatch (once and as a service), delivery reports, poll, preview."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from astrofin_tui.cli import main
from db.sms.templates import loan_values
from tests.cli_env import cli_env
from tests.sms.conftest import at_success, queue, row

SMS_VARS = ("SMS_PROVIDER", "SMS_BASE_URL", "SMS_USERNAME", "SMS_SENDER_ID", "SMS_RATE_PER_SECOND", "AT_API_KEY",
            "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")


@pytest.fixture
def env_for(db_url, monkeypatch):
    env = cli_env(db_url)
    for key in ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER"):
        monkeypatch.setenv(key, env[key])
    for key in SMS_VARS:
        monkeypatch.delenv(key, raising=False)
        env.pop(key, None)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return env


def test_dispatch_through_africastalking(env_for, engine, gateway, monkeypatch, capsys):
    gateway.responder = at_success
    ids = queue(engine, [("+254712345678", "one"), ("12345", "two")])
    for key, value in {"SMS_PROVIDER": "africastalking", "SMS_BASE_URL": gateway.url, "SMS_USERNAME": "astrofin",
                       "AT_API_KEY": "cli-secret-key", "SMS_RATE_PER_SECOND": "0"}.items():
        monkeypatch.setenv(key, value)
    assert main(["sms", "dispatch"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("africastalking: 1 sent (1 SMS parts), 0 to retry later, 1 failed")
    assert f"message {ids[1]}: the phone number '12345' is not in international E.164 form" in out
    assert "cli-secret-key" not in out
    assert row(engine, ids[0])["status"] == "sent"
    assert gateway.requests[0].headers["apikey"] == "cli-secret-key"


def test_dispatch_without_a_credential_claims_nothing(env_for, engine, monkeypatch, capsys):
    [message_id] = queue(engine, [("+254712345678", "one")])
    monkeypatch.setenv("SMS_PROVIDER", "twilio")
    assert main(["sms", "dispatch"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("astrofin: the Twilio account SID is not set: export TWILIO_ACCOUNT_SID")
    assert err.count("\n") == 1
    assert row(engine, message_id)["claimed_at"] is None and row(engine, message_id)["status"] == "queued"


def test_bad_options_are_one_line(env_for, capsys):
    assert main(["sms", "dispatch", "--limit", "0"]) == 1
    assert capsys.readouterr().err == "astrofin: --limit must be at least 1\n"


def test_dispatch_loop_runs_as_a_service_and_stops_on_sigterm(env_for, engine, tmp_path):
    env = dict(env_for, SMS_RATE_PER_SECOND="0", XDG_DATA_HOME=str(tmp_path))
    queue(engine, [("+254712345678", "first")])
    proc = subprocess.Popen([sys.executable, "-m", "astrofin_tui.cli", "sms", "dispatch", "--loop",
                             "--interval", "0.2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        queue(engine, [("+254712345679", "second")])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM sms_histories WHERE status = 'sent'")).scalar() == 2:
                    break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "outbox: 1 sent" in out or "outbox: 2 sent" in out
    lines = (tmp_path / "astrofin" / "sms-outbox.jsonl").read_text().splitlines()
    assert len(lines) == 2


def test_status_callback_reads_the_payload_from_stdin(env_for, engine, monkeypatch, capsys):
    [message_id] = queue(engine, [("+254712345678", "one")])
    with engine.begin() as conn:
        conn.execute(text("UPDATE sms_histories SET status = 'sent', provider = 'africastalking', "
                          "provider_message_id = 'ATXid_77' WHERE id = :id"), {"id": message_id})
    monkeypatch.setattr(sys, "stdin", io.StringIO("id=ATXid_77&status=Rejected&failureReason=DeliveryFailure"))
    assert main(["sms", "status-callback", "--provider", "africastalking"]) == 0
    assert capsys.readouterr().out == f"message {message_id} is now failed\n"
    assert row(engine, message_id)["error_message"] == "Africa's Talking reported Rejected: DeliveryFailure"
    monkeypatch.setattr(sys, "stdin", io.StringIO("status=Success"))
    assert main(["sms", "status-callback", "--provider", "africastalking"]) == 1
    assert "needs the fields id and status" in capsys.readouterr().err


def test_poll_is_for_twilio(env_for, capsys):
    assert main(["sms", "poll"]) == 1
    assert "polling is for Twilio" in capsys.readouterr().err


def _loan(engine):
    today = date.today()
    with engine.begin() as conn:
        customer = conn.execute(text("INSERT INTO customers (first_name, last_name, phone) "
                                     "VALUES ('Amina', 'Wanjiru', '+254712345678') RETURNING id")).scalar()
        loan = conn.execute(text("""
            INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term,
                               repayment_frequency, status, disbursement_date, first_repayment_date)
            VALUES (:c, 1000.00, 12, 'flat', 2, 'monthly', 'active', :d, :f) RETURNING id, loan_number
        """), {"c": customer, "d": today - timedelta(days=40), "f": today - timedelta(days=10)}).one()
        conn.execute(text("""
            INSERT INTO payment_schedules (loan_id, installment_number, due_date, principal_due, interest_due,
                                           total_due)
            VALUES (:l, 1, :d1, 500.00, 10.00, 510.00), (:l, 2, :d2, 500.00, 10.00, 510.00)
        """), {"l": loan.id, "d1": today - timedelta(days=10), "d2": today + timedelta(days=20)})
    return loan


def test_loan_values_fill_the_seeded_templates(engine):
    loan = _loan(engine)
    with engine.connect() as conn:
        values = loan_values(conn, loan.id)
    assert values["first_name"] == "Amina" and values["loan_number"] == loan.loan_number
    assert values["days_past_due"] == 10 and values["amount_overdue"] == Decimal("510.00")
    assert values["next_due_date"] == date.today() + timedelta(days=20)


def test_preview_shows_the_message_and_its_cost(env_for, engine, capsys):
    loan = _loan(engine)
    assert main(["sms", "preview", "--template", "overdue_reminder", "--loan", str(loan.id)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"Dear Amina, your loan {loan.loan_number} is 10 days overdue. Amount due: 510.00. "
                      "Please pay at the branch. AstroFinance")
    assert out[1] == f"({len(out[0])} characters, GSM-7, 1 SMS)"
    assert main(["sms", "preview", "--template", "nope", "--loan", str(loan.id)]) == 1
    assert "no SMS template named 'nope'" in capsys.readouterr().err


def test_dispatch_as_the_application_login_says_to_run_it_as_the_operator(env_for, engine, monkeypatch, capsys):
    queue(engine, [("+254712345678", "one")])
    monkeypatch.setenv("DB_USER", "astrofin_app")
    assert main(["sms", "dispatch"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("astrofin: the database user 'astrofin_app' may not change sms_histories")
    assert err.count("\n") == 1


def test_dispatch_on_a_database_without_the_sms_migration_says_so(env_for, db_url, capsys):
    from db import migrate

    migrate.downgrade(db_url, "0001")
    assert main(["sms", "dispatch"]) == 1
    assert "lacks the SMS delivery columns (migration 0004)" in capsys.readouterr().err
