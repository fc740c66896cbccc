"""Debian packages a bench or a test needs (etcd, PgBouncer, HAProxy, mosh, openssh, tmux), installed with apt-get
when missing, as root.

apt-get installs for one process at a time, and the suite's workers may want packages at the same moment (the
cluster's etcd, the pooler's PgBouncer, the field link's mosh): they queue on a lock file of their own, and on dpkg's
lock for as long as another session's apt holds it, and whoever waited finds installed what the one before installed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LOCK = Path(tempfile.gettempdir()) / "astrofin-apt.lock"
WAIT = ["-o", "DPkg::Lock::Timeout=600"]


class NotInstallable(RuntimeError):
    """A package is missing and cannot be installed here; the message says why, in one line."""


def _missing(wanted: tuple[tuple[str, str], ...]) -> list[str]:
    return [package for package, path in wanted if not Path(path).exists()]


def install(*wanted: tuple[str, str]) -> None:
    """Install each (Debian package, a file it installs) whose file is missing; NotInstallable when that cannot be."""
    missing = _missing(wanted)
    if not missing:
        return
    names = " ".join(missing)
    if os.geteuid() != 0:
        raise NotInstallable(f"{names} not installed, and installing needs root (apt-get install {names})")
    if shutil.which("apt-get") is None:
        raise NotInstallable(f"{names} not installed, and this system has no apt-get")
    with LOCK.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        missing = _missing(wanted)  # another worker may have installed them while this one waited
        if not missing:
            return
        names = " ".join(missing)
        print(f"installing {names} from the Debian packages…", file=sys.stderr, flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (["apt-get", *WAIT, "update", "-qq"],
                     ["apt-get", *WAIT, "install", "-y", "-qq", "--no-install-recommends", *missing]):
            done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
                raise NotInstallable(f"could not install {names} (apt-get {argv[3]}): {last}")
    absent = [f"{path} ({package})" for package, path in wanted if not Path(path).exists()]
    if absent:
        raise NotInstallable(f"apt-get ran, but {', '.join(absent)} is still missing")
