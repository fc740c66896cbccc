"""The embedded server: shared by concurrent runs, stopped by the last, never blocked by a crashed one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HOLDER = """
import sys
from pathlib import Path
from db import embedded
embedded.stop_on_hangup()
server = embedded.start(Path(sys.argv[1]))
print(server.socket_dir, server._server.get_pid(), flush=True)
sys.stdin.readline()
"""


class Holder:
    """A process that starts or attaches to the server, then waits for a line on stdin to exit."""

    def __init__(self, pgdata: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(pgdata)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        socket_dir, pid = self.proc.stdout.readline().split()
        self.socket_dir, self.postmaster = socket_dir, int(pid)

    def leave(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        assert self.proc.wait(timeout=30) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _handles(pgdata: Path) -> list[int]:
    return json.loads((pgdata / ".handle_pids.json").read_text() or "[]")


def _wait_until(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_runs_share_one_server_survive_a_crash_and_the_last_stops_it(server_home):
    pgdata = server_home / "pgdata"
    first = Holder(pgdata)
    second = Holder(pgdata)
    assert second.postmaster == first.postmaster and second.socket_dir == first.socket_dir

    first.proc.kill()  # a crash: no chance to detach
    first.proc.wait(timeout=10)
    third = Holder(pgdata)  # not blocked by the dead run, and the dead pid is pruned
    assert third.postmaster == first.postmaster
    assert first.proc.pid not in _handles(pgdata)

    second.leave()
    assert _alive(first.postmaster)  # the third run still uses it
    third.leave()
    assert _wait_until(lambda: not _alive(first.postmaster)), "the last run to leave stops the server"


def test_a_hangup_detaches_like_a_normal_exit(server_home):
    pgdata = server_home / "pgdata"
    holder = Holder(pgdata)
    holder.proc.send_signal(signal.SIGHUP)  # what a dropped SSH session sends
    holder.proc.wait(timeout=30)
    assert _wait_until(lambda: not _alive(holder.postmaster)), "a hung-up last run still stops the server"
    assert holder.proc.pid not in _handles(pgdata)
