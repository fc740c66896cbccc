"""`astrofin` as sshd's ForceCommand answers mosh's server request: mosh-server starts with the client's terminal
options and always the app as its command; any other login runs the app as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from astrofin_tui.mosh_login import is_mosh_start, mosh_server_argv, mosh_server_env, server_options

# What `mosh officer@branch` sends over SSH (mosh 1.4, default options).
REQUEST = "mosh-server new -c 256 -s -l LANG=en_US.UTF-8 -l LC_CTYPE=sw_KE.UTF-8"


def test_a_mosh_request_is_told_from_other_logins() -> None:
    assert is_mosh_start({"SSH_ORIGINAL_COMMAND": REQUEST})
    assert is_mosh_start({"SSH_ORIGINAL_COMMAND": "/usr/local/bin/mosh-server new -- bash"})
    assert not is_mosh_start({})  # ssh officer@branch: no command
    assert not is_mosh_start({"SSH_ORIGINAL_COMMAND": ""})
    assert not is_mosh_start({"SSH_ORIGINAL_COMMAND": "bash -c 'mosh-server new'"})
    assert not is_mosh_start({"SSH_ORIGINAL_COMMAND": "mosh-server --help"})
    assert not is_mosh_start({"SSH_ORIGINAL_COMMAND": "mosh-server new 'unclosed"})


def test_the_terminal_options_are_kept_and_the_command_is_always_the_app() -> None:
    request = f"{REQUEST} -p 60001 -i 10.0.0.5 -- bash -c 'cat /etc/shadow'"
    argv = mosh_server_argv({"SSH_ORIGINAL_COMMAND": request}, ["/opt/astrofin/.venv/bin/astrofin"])
    assert argv == ["mosh-server", "new", "-c", "256", "-s", "-l", "LANG=en_US.UTF-8", "-l", "LC_CTYPE=sw_KE.UTF-8",
                    "-p", "60001", "-i", "10.0.0.5", "--", "/opt/astrofin/.venv/bin/astrofin"]


def test_options_that_are_not_what_they_claim_are_dropped() -> None:
    request = ("mosh-server new -c 256;reboot -l LD_PRELOAD=/tmp/x.so -l LANG=$(id) -p 6000x -i 'a b' -v "
               "-l LC_ALL=C.UTF-8")
    assert server_options(request) == ["-l", "LC_ALL=C.UTF-8"]


def test_the_app_under_mosh_server_does_not_start_another_has_a_utf8_locale_and_a_timeout() -> None:
    env = mosh_server_env({"SSH_ORIGINAL_COMMAND": REQUEST, "SSH_CONNECTION": "1 2 3 4", "PATH": "/usr/bin"})
    assert env == {"SSH_CONNECTION": "1 2 3 4", "PATH": "/usr/bin", "LC_ALL": "C.UTF-8",
                   "MOSH_SERVER_NETWORK_TMOUT": "86400"}
    chosen = mosh_server_env({"LC_ALL": "sw_KE.UTF-8", "MOSH_SERVER_NETWORK_TMOUT": "3600"})
    assert chosen["LC_ALL"] == "sw_KE.UTF-8" and chosen["MOSH_SERVER_NETWORK_TMOUT"] == "3600"


def _astrofin(tmp_path: Path, request: str, with_server: bool) -> subprocess.CompletedProcess[str]:
    """`astrofin` as sshd runs it for a mosh login, with a stand-in mosh-server that prints what it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if with_server:
        fake = bin_dir / "mosh-server"
        fake.write_text('#!/bin/sh\necho "argv: $*"\necho "request: ${SSH_ORIGINAL_COMMAND-none}"\n'
                        'echo "locale: $LC_ALL"\n')
        fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "SSH_ORIGINAL_COMMAND")}
    env.update({"PATH": str(bin_dir), "SSH_ORIGINAL_COMMAND": request})  # no other mosh-server to find
    return subprocess.run([sys.executable, "-m", "astrofin_tui.cli", "--low-bandwidth"], env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_astrofin_becomes_mosh_server_running_itself(tmp_path: Path) -> None:
    done = _astrofin(tmp_path, f"{REQUEST} -- rm -rf /", with_server=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"argv: new -c 256 -s -l LANG=en_US.UTF-8 -l LC_CTYPE=sw_KE.UTF-8 -- {sys.executable} -m astrofin_tui.cli "
        "--low-bandwidth",
        "request: none",
        "locale: C.UTF-8",
    ]


def test_without_mosh_server_the_officer_is_told_to_use_ssh(tmp_path: Path) -> None:
    done = _astrofin(tmp_path, REQUEST, with_server=False)
    assert done.returncode == 1
    assert done.stderr.strip() == ("astrofin: mosh-server is not installed on this server (apt-get install mosh); "
                                   "connect with ssh")
