"""End the app when its terminal hangs up, even if no hangup signal reaches it.

When an SSH session drops, the kernel sends SIGHUP to the terminal's session leader only. If astrofin was
started through a shell or another wrapper that dies without passing the signal on, the app keeps running
against a terminal that is gone: every read returns end-of-file at once, and Textual's input loop spins on
it (a whole core). A thread parked in poll() on the terminal with no events requested wakes only for a
hang-up or an error (poll always reports those), so it costs nothing while the terminal lives; when it
wakes, the main thread runs the SIGHUP handler it missed (without a real signal, which a blocked signal
mask would hold back) and the app ends the way it does on a dropped link.

Once the app runs, SIGHUP and SIGTERM ask it to exit through its own shutdown (which stops the terminal
driver and its input thread) rather than raising SystemExit into the event loop: an exit that skipped the
driver's shutdown left the process waiting forever at interpreter exit for an input thread that spins on the
dead terminal. As a last resort the process ends itself a few seconds after the signal whatever state it is
in; the embedded server prunes a vanished process the same way it does after a kill -9.
"""

from __future__ import annotations

import _thread
import asyncio
import os
import select
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

_GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL if hasattr(select, "poll") else 0


def terminal_fd() -> int | None:
    """The terminal the app reads keys from, or None when stdin is not a terminal."""
    stream = sys.__stdin__
    if stream is None:
        return None
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None


def wait_for_hangup(fd: int) -> None:
    """Block until the terminal behind `fd` hangs up or fails."""
    poller = select.poll()
    poller.register(fd, 0)  # no events asked for: only POLLHUP, POLLERR and POLLNVAL wake it
    while True:
        if any(mask & _GONE for _fd, mask in poller.poll()):
            return


def exit_on_hangup(fd: int | None = None) -> threading.Thread | None:
    """Watch the terminal in a daemon thread; run the main thread's SIGHUP handler when it goes away."""
    if not hasattr(select, "poll"):
        return None
    fd = terminal_fd() if fd is None else fd
    if fd is None:
        return None

    def watch() -> None:
        wait_for_hangup(fd)
        _thread.interrupt_main(signal.SIGHUP)

    thread = threading.Thread(target=watch, name="terminal-hangup", daemon=True)
    thread.start()
    return thread


GRACE_SECONDS = 10.0


def _end_within(seconds: float, code: int) -> None:
    """Whatever happens to the orderly exit, the process is gone `seconds` from now."""
    timer = threading.Timer(seconds, os._exit, (code,))
    timer.daemon = True
    timer.start()


def exit_app_on_signals(exit_app: Callable[[int], None], grace: float = GRACE_SECONDS) -> None:
    """SIGHUP and SIGTERM call `exit_app(128 + signum)` on the running event loop, with a hard stop after
    `grace` seconds; outside a running loop (before the app starts or after it ends) they exit at once."""

    def _handler(signum: int, _frame: FrameType | None) -> None:
        code = 128 + signum
        _end_within(grace, code)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            sys.exit(code)
        loop.call_soon_threadsafe(exit_app, code)

    for signum in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, _handler)
