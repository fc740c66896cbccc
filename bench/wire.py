"""Bytes on the wire: AstroFinance in a pseudo-terminal at 80×24, with and without the low-bandwidth profile,
beside an ncurses `dialog` form as the reference.

    uv run python -m bench.wire            # prints the table (markdown)

Each run uses its own data folder, so the embedded database is created and seeded once before measuring.
Figures are bytes the program wrote to the terminal: what an SSH link would carry, before compression.
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fcntl import ioctl
from pathlib import Path

from bench.payment_script import as_bytes, payment, sign_in

COLUMNS, ROWS = 80, 24
QUIET_SECONDS = 1.5
TYPED = "abcdefghijklmnopqrst"  # 20 characters, typed one at a time
KEY_GAP = 0.3
IDLE_SECONDS = 10.0
SETTLE_SECONDS = 3.0


@dataclass
class Terminal:
    """A program in a pseudo-terminal; every byte it writes is counted with the time it arrived."""

    argv: Sequence[str]
    env: dict[str, str]
    chunks: list[tuple[float, bytes]] = field(default_factory=list)

    def start(self) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the program
            os.execvpe(self.argv[0], list(self.argv), self.env)
        ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.2)
                if not ready:
                    continue
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.chunks.append((time.monotonic(), data))
            self._answer_queries(data)

    def _answer_queries(self, data: bytes) -> None:
        # Answer the cursor-position query as a terminal would, so programs that ask do not wait.
        if b"\x1b[6n" in data:
            os.write(self.fd, b"\x1b[1;1R")

    def total(self) -> int:
        with self._lock:
            return sum(len(c) for _, c in self.chunks)

    def text(self) -> bytes:
        with self._lock:
            return b"".join(c for _, c in self.chunks)

    def last_output_at(self) -> float:
        with self._lock:
            return self.chunks[-1][0] if self.chunks else 0.0

    def wait_quiet(self, seconds: float = QUIET_SECONDS, timeout: float = 60.0,
                   until: Callable[[bytes], bool] | None = None) -> None:
        """Wait until the program has written nothing for `seconds` (and `until` holds, when given)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if until is not None and not until(self.text()):
                continue
            if self.chunks and time.monotonic() - self.last_output_at() >= seconds:
                return
        raise TimeoutError(f"{self.argv[0]} never went quiet; last output: {self.text()[-300:]!r}")

    def type(self, keys: str | bytes, gap: float = KEY_GAP) -> None:
        for key in [keys] if isinstance(keys, bytes) else list(keys):
            os.write(self.fd, key.encode() if isinstance(key, str) else key)
            time.sleep(gap)

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.1)
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@dataclass
class Figures:
    name: str
    first_paint: int
    per_char: float
    idle: int
    notes: str = ""
    payment: int | None = None


def measure(name: str, argv: Sequence[str], env: dict[str, str], ready: bytes, notes: str = "") -> Figures:
    """First paint, 10 idle seconds, then bytes per typed character (less what idling would have sent).

    First paint is everything written in the `SETTLE_SECONDS` after the screen first shows `ready`, less what
    idling (a blinking cursor) sends in that time: such a program never goes quiet.
    """
    term = Terminal(argv, env)
    term.start()
    try:
        term.wait_quiet(seconds=0.0, until=lambda out: ready in out)
        time.sleep(SETTLE_SECONDS)
        painted = term.total()
        time.sleep(IDLE_SECONDS)
        idle = term.total() - painted
        idle_rate = idle / IDLE_SECONDS
        first_paint = round(painted - idle_rate * SETTLE_SECONDS)
        before, started = term.total(), time.monotonic()
        term.type(TYPED)
        time.sleep(0.5)
        typed = term.total() - before - idle_rate * (time.monotonic() - started)
        per_char = max(typed, 0) / len(TYPED)
    finally:
        term.stop()
    return Figures(name, first_paint, per_char, idle, notes)


_ESCAPE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[^\[()]")


def _plain(output: bytes) -> bytes:
    """What a person reads: the output without its control sequences (styled pieces joined up)."""
    return _ESCAPE.sub(b"", output)


def scripted_payment(env: dict[str, str], loan_number: str) -> int:
    """Bytes from start to the receipt: sign in as the cashier, F3, find the loan, the suggested amount,
    confirm, the receipt. Each step waits for its text to appear in what the app wrote since the step began."""
    term = Terminal([sys.executable, "-m", "astrofin_tui.cli"], env)
    term.start()
    try:
        term.wait_quiet(seconds=0.3, until=lambda out: b"Password" in out)  # a blink is 0.5 s
        for keys, shown in [*sign_in(), *payment(loan_number)]:
            mark = len(term.text())
            for key in as_bytes(keys):
                term.type(key, gap=0.05)
            if shown:
                token = shown.encode()
                term.wait_quiet(seconds=0.3, until=lambda out, m=mark, t=token: t in _plain(out[m:]))
        return term.total()
    finally:
        term.stop()


def astrofin_env(data_home: Path, profile: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXTUAL_", "SSH_"))}
    env.update({
        "TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": str(ROWS), "LC_ALL": "C.UTF-8",
        "XDG_DATA_HOME": str(data_home), "ASTROFIN_PROFILE": profile,
    })
    for var in ("DB_HOST", "DB_NAME", "ASTROFIN_ENV", "NO_COLOR"):
        env.pop(var, None)
    return env


def prepare_database(data_home: Path) -> None:
    """Create, migrate and seed the embedded demo database once, so measuring starts from a warm start."""
    env = astrofin_env(data_home, "local")
    code = "from db.bootstrap import open_app_database; from db.config import load_settings; " \
           "open_app_database(load_settings())"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=300)


def dialog_figures() -> Figures | None:
    binary = shutil.which("dialog")
    if binary is None:
        return None
    argv = [binary, "--form", "Sign in to AstroFinance", "10", "50", "2",
            "Username:", "1", "1", "", "1", "11", "30", "0",
            "Password:", "2", "1", "", "2", "11", "30", "0"]
    env = {"TERM": "xterm-256color", "PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"}
    return measure("ncurses dialog form (reference)", argv, env, ready=b"Password", notes="same two fields")


def table(rows: Sequence[Figures]) -> str:
    lines = ["| program | first paint (B) | per typed char (B) | 10 s idle (B) | scripted payment (B) |",
             "|---|---:|---:|---:|---:|"]
    for row in rows:
        paid = f"{row.payment:,}" if row.payment is not None else "—"
        lines.append(f"| {row.name} | {row.first_paint:,} | {row.per_char:.0f} | {row.idle:,} | {paid} |")
    return "\n".join(lines)


def active_loan_number(data_home: Path) -> str:
    """An active demo loan that owes money, the most overdue first."""
    code = ("from sqlalchemy import create_engine, text; from db.config import load_settings; "
            "from db.target import resolve; t = resolve(load_settings()); e = create_engine(t.url); "
            "print(e.connect().execute(text(\"SELECT l.loan_number FROM loans l JOIN vw_loan_summary s "
            "ON s.loan_id = l.id WHERE l.status = 'active' AND s.outstanding_total > 0 "
            "ORDER BY s.days_past_due DESC, l.id LIMIT 1\")).scalar_one())")
    out = subprocess.run([sys.executable, "-c", code], env=astrofin_env(data_home, "local"), check=True,
                         capture_output=True, text=True, timeout=120)
    return out.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wire", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    args = parser.parse_args(argv)
    data_home = Path(tempfile.mkdtemp(prefix="astrofin-wire-"))
    os.chmod(data_home, 0o755)
    try:
        print("preparing the demo database…", file=sys.stderr)
        prepare_database(data_home)
        app = [sys.executable, "-m", "astrofin_tui.cli"]
        loan = active_loan_number(data_home)
        rows = []
        for label, profile in (("astrofin, low-bandwidth profile", "ssh"), ("astrofin, default", "local")):
            print(f"measuring {label}…", file=sys.stderr)
            figures = measure(label, app, astrofin_env(data_home, profile), ready=b"Password")
            figures.payment = scripted_payment(astrofin_env(data_home, profile), loan)
            rows.append(figures)
        reference = dialog_figures()
        if reference is not None:
            print("measuring the dialog reference…", file=sys.stderr)
            rows.append(reference)
        print(f"Bytes written to an {COLUMNS}×{ROWS} xterm-256color pseudo-terminal "
              f"({len(TYPED)} characters typed {KEY_GAP}s apart; {IDLE_SECONDS:.0f} s idle on the sign-in screen)")
        print()
        print(table(rows))
    finally:
        if not args.keep:
            shutil.rmtree(data_home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
