"""`astrofin` as sshd's ForceCommand also answers mosh: the same account works with `ssh` and with `mosh`.

mosh starts its server over SSH: the client runs `ssh host -- mosh-server new -c 256 -s -l LANG=… -- COMMAND`,
reads the `MOSH CONNECT <port> <key>` line mosh-server prints, and then talks UDP to that port. Under a
ForceCommand sshd runs the forced command instead and leaves what the client asked for in
SSH_ORIGINAL_COMMAND. When that is a mosh-server start, `astrofin` replaces itself with `mosh-server new`
running `astrofin` again: the options that describe the client's terminal (colours, locale, the UDP port or
address it asked for) are kept, the command is always the app, whatever the client asked to run.

Nothing else changes for a plain SSH login (SSH_ORIGINAL_COMMAND is then empty or not a mosh start and the app
runs as before). The app under mosh-server keeps SSH_CONNECTION (mosh-server passes its environment on), so the
low-bandwidth profile turns on by itself there too.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence

ORIGINAL_COMMAND = "SSH_ORIGINAL_COMMAND"

# Options of `mosh-server new` that describe the client's terminal or where to listen; each takes a value
# except -s. Anything else the client sends (and the command after `--`) is dropped.
_VALUED = {"-c": re.compile(r"\d{1,3}"), "-p": re.compile(r"\d{1,5}(:\d{1,5})?"),
           "-i": re.compile(r"[0-9A-Fa-f.:]{2,45}"), "-l": re.compile(r"(LANG|LC_[A-Z]+)=[A-Za-z0-9_.@-]{1,64}")}
_FLAGS = {"-s"}
NETWORK_TIMEOUT = "86400"  # seconds without a word from the client before mosh-server ends the session


def is_mosh_start(env: Mapping[str, str]) -> bool:
    """True when this SSH login is mosh starting its server (the client's `mosh-server new …`)."""
    words = _split(env.get(ORIGINAL_COMMAND, ""))
    return len(words) >= 2 and os.path.basename(words[0]) == "mosh-server" and words[1] == "new"


def _split(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return []


def server_options(command: str) -> list[str]:
    """The client's `mosh-server new` options worth keeping, each checked against what it may look like."""
    words = _split(command)[2:]
    kept: list[str] = []
    index = 0
    while index < len(words) and words[index] != "--":
        word = words[index]
        if word in _FLAGS:
            kept.append(word)
        elif word in _VALUED and index + 1 < len(words):
            value = words[index + 1]
            if _VALUED[word].fullmatch(value):
                kept += [word, value]
            index += 1
        index += 1
    return kept


def mosh_server_argv(env: Mapping[str, str], app_argv: Sequence[str], server: str = "mosh-server") -> list[str]:
    """`mosh-server new [kept options] -- APP…`: what replaces this process for a mosh start."""
    return [server, "new", *server_options(env.get(ORIGINAL_COMMAND, "")), "--", *app_argv]


def mosh_server_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for mosh-server and the app under it: the mosh start request is gone (the app must not
    start another mosh-server); a UTF-8 locale is there (mosh-server refuses to run without one; the app's
    database needs it too) unless LC_ALL is already set; and mosh-server ends a session whose client has not
    been heard from for a day, unless MOSH_SERVER_NETWORK_TMOUT says otherwise."""
    out = {k: v for k, v in env.items() if k != ORIGINAL_COMMAND}
    out.setdefault("LC_ALL", "C.UTF-8")
    # A client gone for good (a lost phone) must not leave the app running behind its lock for ever.
    out.setdefault("MOSH_SERVER_NETWORK_TMOUT", NETWORK_TIMEOUT)
    return out


def start_mosh_server_if_asked(app_argv: Sequence[str] | None = None) -> None:
    """Called first by `astrofin` with no command: become mosh-server when the SSH login is a mosh start.

    Returns only when there is nothing to do; when mosh-server is not installed it says so on stderr (which
    the mosh client shows) and exits 1."""
    if not is_mosh_start(os.environ):
        return
    server = shutil.which("mosh-server")
    if server is None:
        print("astrofin: mosh-server is not installed on this server (apt-get install mosh); connect with ssh",
              file=sys.stderr, flush=True)
        raise SystemExit(1)
    app = list(app_argv) if app_argv is not None else [sys.executable, "-m", "astrofin_tui.cli", *sys.argv[1:]]
    os.execve(server, mosh_server_argv(os.environ, app, server), mosh_server_env(os.environ))
