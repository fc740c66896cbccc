"""AstroFinance under mosh over the shaped 2G-like link of bench.ssh_link, timed and counted beside SSH.

    sudo uv run python -m bench.mosh_link        # root: it makes network namespaces

The same two namespaces, veth pair, rate and sshd as bench.ssh_link (ForceCommand `astrofin`), in namespaces
of their own. The `mosh` command runs in tmux in the client namespace: it logs in over that SSH, where `astrofin`
sees mosh's `mosh-server new …` request and becomes mosh-server running the app (astrofin_tui/mosh_login.py),
then the client talks UDP to it. The link's `tc tbf` shapes UDP as it shapes TCP; this kernel has no netem, so
as for SSH a relay adds the delay: bench.delay_relay in UDP mode in the server namespace, 150 ms each way, in
front of mosh-server (which then listens on 127.0.0.1, on a port the client asks for with `-p`). With netem
present netem does both.

The script signs in as the cashier and times F3 (payment entry) to the receipt on screen, as bench.ssh_link
does, once under mosh and once under SSH, and counts the bytes the veth carried each way during those rounds.
Everything it starts is stopped and removed at the end; traffic never leaves its namespaces.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.payment_script import back_home, sign_in
from bench.ssh_link import (
    ONE_WAY_DELAY_MS,
    Link,
    Names,
    Screen,
    SshServer,
    ensure_packages,
    one_payment,
    play,
    run,
)
from bench.wire import active_loan_number, prepare_database

NAMES = Names("astrofin-msrv", "astrofin-mcli", "afmsrv0", "afmcli0", "10.252.0.2", "10.252.0.1", "astrofin-mosh")
MOSH_PORT = 60001  # in mosh's 60000–61000
ROOT = Path(__file__).resolve().parent.parent


def ensure_mosh() -> None:
    """openssh, iproute2, tmux and mosh from the Debian packages, when missing."""
    ensure_packages(("mosh", "/usr/bin/mosh"))


@dataclass
class MoshLink:
    """bench.ssh_link's link, with a UDP path for mosh: the delay relay's UDP mode when netem is missing."""

    link: Link
    udp_relay: subprocess.Popen[str] | None = None

    def up(self) -> None:
        self.link.up()
        if self.link.relay is None:
            return
        names = self.link.names
        self.udp_relay = subprocess.Popen(
            ["ip", "netns", "exec", names.server_ns, sys.executable, "-m", "bench.delay_relay", names.server_ip,
             str(MOSH_PORT), "127.0.0.1", str(MOSH_PORT), str(ONE_WAY_DELAY_MS), "udp"],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )
        assert self.udp_relay.stdout is not None
        self.udp_relay.stdout.readline()
        self.link.shaping += f"; UDP through the same tbf and a UDP delay relay ({ONE_WAY_DELAY_MS} ms each way)"

    @property
    def bind_server(self) -> str:
        """Where mosh-server listens: behind the UDP relay on loopback, or on every address when netem shapes."""
        return "127.0.0.1" if self.udp_relay else "any"

    def cut(self) -> None:
        """The link drops: the client's end of the veth goes down (nothing passes either way)."""
        run(["ip", "link", "set", self.link.names.client_veth, "down"], ns=self.link.names.client_ns)

    def restore(self) -> None:
        names = self.link.names
        run(["ip", "link", "set", names.client_veth, "up"], ns=names.client_ns)

    def carried(self) -> tuple[int, int]:
        """Bytes the client's end of the veth has sent and received so far."""
        names = self.link.names
        out = run(["ip", "-j", "-s", "link", "show", "dev", names.client_veth], ns=names.client_ns).stdout
        stats = json.loads(out)[0]["stats64"]
        return int(stats["tx"]["bytes"]), int(stats["rx"]["bytes"])

    def down(self) -> None:
        stop_mosh_servers(self.link.names.server_ns)
        if self.udp_relay:
            self.udp_relay.terminate()
            self.udp_relay.wait(timeout=5)
            self.udp_relay = None
        self.link.down()


def stop_mosh_servers(ns: str) -> None:
    """mosh-server outlives the SSH login that started it: end the ones in this namespace (the app under each
    ends with its terminal)."""
    listed = run(["ip", "netns", "pids", ns], check=False)
    for pid in listed.stdout.split():
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "mosh-server":
                os.kill(int(pid), signal.SIGTERM)
        except (OSError, ValueError):
            continue


def ssh_command(key: Path, port: int) -> str:
    return (f"ssh -i {key} -p {port} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            "-o LogLevel=ERROR")


def mosh_argv(key: Path, link: MoshLink) -> list[str]:
    """The `mosh` command as an officer would type it (with this link's key, port and bind choice), quoted for
    the shell tmux runs it with. Prediction off: what the pane shows is what the app drew, never a local guess."""
    return ["env", "LC_ALL=C.UTF-8", "mosh", shlex.quote(f"--ssh={ssh_command(key, link.link.ssh_port)}"),
            f"--bind-server={link.bind_server}", "-p", str(MOSH_PORT), "--predict=never",
            f"root@{link.link.ssh_host}"]


def ssh_argv(key: Path, link: MoshLink) -> list[str]:
    return [*shlex.split(ssh_command(key, link.link.ssh_port)), "-tt", f"root@{link.link.ssh_host}"]


@dataclass
class Rounds:
    connect: float
    timings: list[float]
    sent: int
    received: int


def rounds(screen: Screen, link: MoshLink, loan: str, count: int) -> Rounds:
    """Sign in as the cashier, then `count` payments (F3 … receipt, back home), bytes counted on the veth."""
    started = time.monotonic()
    screen.wait_for("Password", timeout=120)
    connect = time.monotonic() - started
    play(screen, sign_in())
    time.sleep(1.0)
    sent0, received0 = link.carried()
    timings = []
    for _ in range(count):
        timings.append(one_payment(screen, loan))
        play(screen, back_home())
    time.sleep(1.0)
    sent, received = link.carried()
    return Rounds(connect, timings, sent - sent0, received - received0)


def report(name: str, result: Rounds) -> None:
    each = ", ".join(f"{t:.1f}" for t in result.timings)
    print(f"{name}: connect to sign-in screen {result.connect:.1f} s; F3 to receipt, median of "
          f"{len(result.timings)}: {statistics.median(result.timings):.1f} s (each: {each}); "
          f"veth bytes for the {len(result.timings)} rounds: {result.sent:,} up, {result.received:,} down "
          f"({(result.sent + result.received) / len(result.timings):,.0f} per payment)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mosh_link", description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=3, help="payments to time under each (median reported)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.mosh_link: run as root (it creates network namespaces)", file=sys.stderr)
        return 2
    ensure_mosh()
    folder = Path(tempfile.mkdtemp(prefix="astrofin-mosh-"))
    os.chmod(folder, 0o755)
    data_home = folder / "data"
    data_home.mkdir()
    link = MoshLink(Link(names=NAMES))
    server = SshServer(folder, data_home, names=NAMES)
    screen = None
    try:
        print("preparing the demo database…", file=sys.stderr)
        prepare_database(data_home)
        loan = active_loan_number(data_home)
        link.up()
        key = server.start()
        results = {}
        for name, command in (("mosh", mosh_argv), ("ssh", ssh_argv)):
            print(f"payments under {name}…", file=sys.stderr)
            screen = Screen(command(key, link), NAMES)
            results[name] = rounds(screen, link, loan, args.payments)
            screen.close()
            screen = None
            stop_mosh_servers(NAMES.server_ns)
        print(f"Link: {link.link.shaping}")
        for name, result in results.items():
            report(name, result)
    finally:
        if screen:
            screen.close()
        server.stop()
        link.down()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
