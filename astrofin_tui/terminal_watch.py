"""End the app when its terminal hangs up, even if no hangup signal reaches it.

When an SSH session drops, the kernel sends SIGHUP to the terminal's session leader only. If astrofin was
started through a shell or another wrapper that dies without passing the signal on, the app keeps running
against a terminal that is gone: every read returns end-of-file at once, and Textual's input loop spins on
it (a whole core). A thread parked in poll() on the terminal with no events requested wakes only for a
hang-up or an error (poll always reports those), so it costs nothing while the terminal lives; when it
wakes, the main thread runs the SIGHUP handler it missed (without a real signal, which a blocked signal
mask would hold back) and the app ends the way it does on a dropped link.
"""

from __future__ import annotations

import _thread
import os
import select
import signal
import sys
import threading

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
