"""Bytes on the wire: AstroFinance in a pseudo-terminal at 80×24, with and without the low-bandwidth profile,
beside an ncurses `dialog` form as the reference.

    uv run python -m bench.wire            # prints the tables (markdown)
    uv run python -m bench.wire --idle-only   # only the idle walk over every screen that waits for input

Each run uses its own data folder, so the embedded database is created and seeded once before measuring.
Figures are bytes the program wrote to the terminal: what an SSH link would carry, before compression.
"""

from __future__ import annotations

import argparse
import os
import pty
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

import pyte

from bench.payment_script import KEY_BYTES, as_bytes, payment, sign_in

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
    # What a terminal shows after those bytes: steps wait for text on the screen, not in the stream (a
    # program that sends only what changed never resends a text that is already on the screen).
    screen: pyte.Screen = field(default_factory=lambda: pyte.Screen(COLUMNS, ROWS))

    def start(self) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the program
            os.execvpe(self.argv[0], list(self.argv), self.env)
        ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self._lock = threading.Lock()
        self._stream = pyte.ByteStream(self.screen)
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
                self._stream.feed(data)
            self._answer_queries(data)

    def _answer_queries(self, data: bytes) -> None:
        # Answer the cursor-position query as a terminal would, so programs that ask do not wait; and say
        # yes to synchronized output, as most terminals in use today do (Textual then brackets each frame).
        if b"\x1b[6n" in data:
            os.write(self.fd, b"\x1b[1;1R")
        if b"\x1b[?2026$p" in data:
            os.write(self.fd, b"\x1b[?2026;2$y")

    def total(self) -> int:
        with self._lock:
            return sum(len(c) for _, c in self.chunks)

    def text(self) -> bytes:
        with self._lock:
            return b"".join(c for _, c in self.chunks)

    def shows(self, text: str) -> bool:
        """True when the screen shows `text` on one line."""
        with self._lock:
            return any(text in line for line in self.screen.display)

    def last_output_at(self) -> float:
        with self._lock:
            return self.chunks[-1][0] if self.chunks else 0.0

    def wait_quiet(self, seconds: float = QUIET_SECONDS, timeout: float = 60.0,
                   until: Callable[[], bool] | None = None) -> None:
        """Wait until the program has written nothing for `seconds` (and `until` holds, when given)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if until is not None and not until():
                continue
            if self.chunks and time.monotonic() - self.last_output_at() >= seconds:
                return
        raise TimeoutError(f"{self.argv[0]} never went quiet; last output: {self.text()[-300:]!r}")

    def wait_for(self, text: str, quiet: float = 0.3, timeout: float = 60.0) -> None:
        """Wait until the screen shows `text` and the program has been quiet for `quiet` seconds."""
        self.wait_quiet(seconds=quiet, timeout=timeout, until=lambda: self.shows(text))

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


def measure(name: str, argv: Sequence[str], env: dict[str, str], ready: str, notes: str = "") -> Figures:
    """First paint, 10 idle seconds, then bytes per typed character (less what idling would have sent).

    First paint is everything written in the `SETTLE_SECONDS` after the screen first shows `ready`, less what
    idling (a blinking cursor) sends in that time: such a program never goes quiet.
    """
    term = Terminal(argv, env)
    term.start()
    try:
        term.wait_for(ready, quiet=0.0)
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


def scripted_payment(env: dict[str, str], loan_number: str) -> int:
    """Bytes from start to the receipt: sign in as the cashier, F3, find the loan, the suggested amount,
    confirm, the receipt. Each step waits for its text to appear on the screen; the count ends once the
    receipt is on screen and the program has gone quiet."""
    term = Terminal([sys.executable, "-m", "astrofin_tui.cli"], env)
    term.start()
    try:
        term.wait_for("Password")  # a blink is 0.5 s
        for keys, shown in [*sign_in(), *payment(loan_number)]:
            for key in as_bytes(keys):
                term.type(key, gap=0.05)
            if shown:
                term.wait_for(shown)
        term.wait_quiet(seconds=QUIET_SECONDS)
        return term.total()
    finally:
        term.stop()


# --- idle bytes on every screen that waits for input ----------------------------------------------------

KEYS = {**KEY_BYTES, "F2": "\x1bOQ", "F4": "\x1bOS", "F5": "\x1b[15~", "F6": "\x1b[17~", "F8": "\x1b[19~",
        "F9": "\x1b[20~", "F12": "\x1b[24~"}

IdleStep = tuple[str, tuple[str, ...], str]
"""A screen's name (empty: not measured), the keys that open it, and a text it shows once open."""


def idle_walks(loan_number: str) -> list[tuple[str, list[IdleStep]]]:
    """Who signs in, and the screens they walk through (escape goes back home in between)."""
    home = ("Escape",)
    supervisor: list[IdleStep] = [
        ("home", (), "Supervisor ·"),
        ("customer lookup", ("F2",), "— Find customer"),
        ("", home, "Supervisor ·"),
        ("customer form", ("F5",), "— New customer"),
        ("", home, "Supervisor ·"),
        ("loan application", ("F6",), "— Loan application"),
        ("", home, "Supervisor ·"),
        ("overdue queue", ("F4",), "— Overdue queue"),
        ("", home, "Supervisor ·"),
        ("accounting", ("F8",), "— Accounting"),
        ("", home, "Supervisor ·"),
        ("reports", ("F9",), "— Reports"),
        ("", home, "Supervisor ·"),
        ("payment entry", ("F3",), "Type a loan number"),
        ("payment entry, loan found", (loan_number, "Enter"), "Overdue "),
        ("confirmation", ("Enter",), "Take this payment?"),
        ("receipt", ("y",), "p prints"),
    ]
    admin: list[IdleStep] = [("", (), "Administrator ·"), ("administration", ("F12",), "— Administration")]
    return [("supervisor", supervisor), ("admin", admin)]


def idle_figures(env: dict[str, str], loan_number: str, seconds: float = IDLE_SECONDS) -> list[tuple[str, int]]:
    """Bytes written in `seconds` of nobody typing, on the sign-in screen and each screen of the walks."""
    results: list[tuple[str, int]] = []

    def idle(term: Terminal, label: str) -> None:
        term.wait_quiet(seconds=QUIET_SECONDS)
        before = term.total()
        time.sleep(seconds)
        results.append((label, term.total() - before))
        print(f"  {label}: {results[-1][1]} B", file=sys.stderr)

    for user, steps in idle_walks(loan_number):
        term = Terminal([sys.executable, "-m", "astrofin_tui.cli"], env)
        term.start()
        try:
            term.wait_for("Password")
            if not results:
                idle(term, "sign-in")
            for key in (user, "\t", f"{user}-demo", "\r"):
                term.type(key, gap=0.05)
            for label, keys, shown in steps:
                for key in keys:
                    term.type(KEYS.get(key, key), gap=0.05)
                term.wait_for(shown)
                if label:
                    idle(term, label)
        finally:
            term.stop()
    return results


def idle_table(rows: Sequence[tuple[str, int]]) -> str:
    lines = [f"| screen (low-bandwidth profile) | {IDLE_SECONDS:.0f} s idle (B) |", "|---|---:|"]
    lines += [f"| {label} | {count:,} |" for label, count in rows]
    return "\n".join(lines)


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
    return measure("ncurses dialog form (reference)", argv, env, ready="Password", notes="same two fields")


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
    parser.add_argument("--idle-only", action="store_true", help="only the idle walk (the second table)")
    parser.add_argument("--data-home", type=Path, help="use (and keep) this data folder instead of a temporary one")
    args = parser.parse_args(argv)
    data_home = args.data_home or Path(tempfile.mkdtemp(prefix="astrofin-wire-"))
    if args.data_home:
        args.keep = True
        data_home.mkdir(parents=True, exist_ok=True)
    os.chmod(data_home, 0o755)
    try:
        print("preparing the demo database…", file=sys.stderr)
        prepare_database(data_home)
        app = [sys.executable, "-m", "astrofin_tui.cli"]
        loan = active_loan_number(data_home)
        rows = []
        if args.idle_only:
            print("walking the screens under the profile…", file=sys.stderr)
            print(idle_table(idle_figures(astrofin_env(data_home, "ssh"), loan)))
            return 0
        for label, profile in (("astrofin, low-bandwidth profile", "ssh"), ("astrofin, default", "local")):
            print(f"measuring {label}…", file=sys.stderr)
            figures = measure(label, app, astrofin_env(data_home, profile), ready="Password")
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
        print("walking the screens under the profile…", file=sys.stderr)
        idle_rows = idle_figures(astrofin_env(data_home, "ssh"), loan)
        print()
        print(f"Bytes written in {IDLE_SECONDS:.0f} idle seconds on each screen that waits for input, under the "
              "profile (signed in as the supervisor; administration as the admin)")
        print()
        print(idle_table(idle_rows))
    finally:
        if not args.keep:
            shutil.rmtree(data_home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
