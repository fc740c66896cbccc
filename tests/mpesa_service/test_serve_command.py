"""`astrofin mpesa serve` as an operator runs it: refusals in one line, and the real server process on a port."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from sqlalchemy import text

from astrofin_tui.cli import main
from tests.cli_env import cli_env
from tests.mpesa_service.conftest import TOKEN, body, repayments, wait_posted


def test_serve_refuses_in_one_line_without_a_token_or_a_staff_member_to_post_as(db_url, engine, monkeypatch, capsys):
    for name, value in cli_env(db_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ASTROFIN_MPESA_TOKEN", raising=False)
    assert main(["mpesa", "serve"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "astrofin: the M-Pesa callback token is not set: set ASTROFIN_MPESA_TOKEN to a long random secret (e.g. the "
        "output of: openssl rand -hex 24) and register the URLs with it"]
    monkeypatch.setenv("ASTROFIN_MPESA_TOKEN", TOKEN)
    monkeypatch.setenv("MPESA_USER", "nobody")
    assert main(["mpesa", "serve"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("astrofin: there is no staff member 'nobody'") and "astrofin users add nobody" in line
    monkeypatch.setenv("MPESA_USER", "officer")
    assert main(["mpesa", "serve"]) == 1
    assert "is a loan_officer" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_service_process_answers_posts_and_stops_cleanly(db_url, engine, loan, tmp_path):
    with engine.begin() as conn:  # the demo seed's service user, in case the template lacks it
        conn.execute(text(
            "INSERT INTO users (username, password_hash, full_name, role, branch_id) "
            "SELECT 'mpesa', '$argon2id$v=19$m=65536,t=3,p=4$c2VydmljZQ$c2VydmljZQ', 'M-Pesa service', 'cashier', id "
            "FROM branches WHERE code = 'HQ' ON CONFLICT DO NOTHING"))
    port = _free_port()
    env = cli_env(db_url) | {"ASTROFIN_MPESA_TOKEN": TOKEN, "MPESA_ALLOWED_SOURCES": "any",
                             "XDG_STATE_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "astrofin_tui.cli", "mpesa", "serve", "--port", str(port)],
                               env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()  # type: ignore[union-attr]
                time.sleep(0.1)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/mpesa/{TOKEN}/confirmation", method="POST",
                                         data=json.dumps(body(account=loan.loan_number)).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.loads(answer.read()) == {"ResultCode": "0", "ResultDesc": "Accepted"}
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    # uvicorn stops gracefully, then ends by the signal it was sent, as systemd expects of a stopped service.
    assert process.returncode in (0, -signal.SIGTERM), err
    assert "$ASTROFIN_MPESA_TOKEN" in err and TOKEN not in err  # the URL is shown, the token never
    assert [row.status for row in wait_posted(engine, seconds=0)] == ["posted"]  # posted before it stopped
    assert repayments(engine, "RKTQDM7W6S") == 1
    log = next(tmp_path.rglob("mpesa.log")).read_text()
    assert "RKTQDM7W6S" in log and TOKEN not in log
