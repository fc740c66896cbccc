"""A dropped terminal (a lost SSH session) ends the app: it must not spin on against a terminal that is gone."""

from __future__ import annotations

import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from fcntl import ioctl

import pytest

from tests.cli_env import cli_env


def _read_until(fd: int, token: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while token not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def _exited(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.1)
    return None


@pytest.mark.parametrize("how", ["SIGHUP", "SIGTERM"])
def test_the_app_exits_when_its_terminal_goes_away(db_url, how):
    env = cli_env(db_url)
    env.update({"TERM": "xterm-256color", "ASTROFIN_PROFILE": "ssh"})
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(sys.executable, [sys.executable, "-m", "astrofin_tui.cli"], env)
    ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    status: int | None = None
    try:
        assert b"Password" in _read_until(fd, b"Password", 60), "the sign-in screen never showed"
        if how == "SIGHUP":
            os.close(fd)  # the terminal is gone, as when an SSH link drops
        os.kill(pid, getattr(signal, how))
        status = _exited(pid, 15)
        assert status is not None, f"the app kept running after {how}"
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        if how != "SIGHUP":
            os.close(fd)


def test_the_app_exits_when_the_hangup_signal_never_reaches_it(db_url):
    """A wrapper may start the app with SIGHUP blocked (or swallow it); the closed terminal alone must end it.

    Without that, every read of the dead terminal returns end-of-file at once and the app spins a whole core.
    """
    env = cli_env(db_url)
    env.update({"TERM": "xterm-256color", "ASTROFIN_PROFILE": "ssh"})
    pid, fd = pty.fork()
    if pid == 0:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})  # inherited across exec
        os.execvpe(sys.executable, [sys.executable, "-m", "astrofin_tui.cli"], env)
    ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    status: int | None = None
    try:
        assert b"Password" in _read_until(fd, b"Password", 60), "the sign-in screen never showed"
        os.close(fd)  # the terminal is gone; the hangup signal stays pending
        status = _exited(pid, 15)
        assert status is not None, "the app kept running against a terminal that hung up"
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def test_the_hangup_watch_wakes_only_when_the_terminal_goes():
    import threading

    from astrofin_tui.terminal_watch import wait_for_hangup

    master, slave = pty.openpty()
    woke = threading.Event()
    watcher = threading.Thread(target=lambda: (wait_for_hangup(slave), woke.set()), daemon=True)
    watcher.start()
    try:
        os.write(master, b"typed keys\n")  # input is not a hang-up
        assert not woke.wait(0.5)
        os.close(master)
        assert woke.wait(5), "the watch did not see the terminal hang up"
    finally:
        os.close(slave)


_WEDGED = """
import asyncio, sys, threading
from astrofin_tui.terminal_watch import exit_app_on_signals

async def main():
    exit_app_on_signals(lambda code: None, grace=1.0)  # an app that never gets round to exiting
    threading.Thread(target=threading.Event().wait).start()  # a thread that never ends, as on a dead terminal
    print("ready", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_a_hangup_ends_the_process_even_when_the_orderly_exit_never_finishes():
    import subprocess

    proc = subprocess.Popen([sys.executable, "-c", _WEDGED], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, signal.SIGHUP)
        assert proc.wait(timeout=10) == 128 + signal.SIGHUP
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
