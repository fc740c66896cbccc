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
import ipaddress
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

    def restore(self, new_address: bool = False) -> None:
        """The link comes back; with `new_address` the client comes back with another address, as a phone
        that reconnects to the carrier does (the old one is gone, each side routes to the other's directly)."""
        names = self.link.names
        run(["ip", "link", "set", names.client_veth, "up"], ns=names.client_ns)
        if not new_address:
            return
        shown = run(["ip", "-j", "addr", "show", "dev", names.client_veth], ns=names.client_ns).stdout
        address = next(a for a in json.loads(shown)[0]["addr_info"] if a["family"] == "inet")
        moved = str(ipaddress.ip_address(address["local"]) + 4)  # outside the /30 the pair was made with
        for argv in (["ip", "addr", "del", f"{address['local']}/{address['prefixlen']}", "dev", names.client_veth],
                     ["ip", "addr", "add", f"{moved}/32", "dev", names.client_veth],
                     ["ip", "route", "replace", f"{names.server_ip}/32", "dev", names.client_veth, "src", moved]):
            run(argv, ns=names.client_ns)
        run(["ip", "route", "replace", f"{moved}/32", "dev", names.server_veth], ns=names.server_ns)

    def carried(self) -> tuple[int, int]:
        """Bytes the client's end of the veth has sent and received so far."""
        names = self.link.names
        out = run(["ip", "-j", "-s", "link", "show", "dev", names.client_veth], ns=names.client_ns).stdout
        stats = json.loads(out)[0]["stats64"]
        return int(stats["tx"]["bytes"]), int(stats["rx"]["bytes"])

    def down(self) -> None:
        stop_sessions(self.link.names.server_ns)
        if self.udp_relay:
            self.udp_relay.terminate()
            self.udp_relay.wait(timeout=5)
            self.udp_relay = None
        self.link.down()


def stop_sessions(ns: str, programs: tuple[str, ...] = ("mosh-server", "sshd")) -> None:
    """mosh-server outlives the SSH login that started it, and an SSH session whose client vanished waits for
    TCP to give up (many minutes): end the ones in this namespace (the app under each ends with its terminal)."""
    listed = run(["ip", "netns", "pids", ns], check=False)
    for pid in listed.stdout.split():
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() in programs:
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


def rounds(screen: Screen, link: MoshLink, data_home: Path, count: int) -> Rounds:
    """Sign in as the cashier, then `count` payments (F3 … receipt, back home), bytes counted on the veth. Each
    pays the most overdue loan that still owes (a suggested amount can settle a loan: it then takes no more)."""
    started = time.monotonic()
    screen.wait_for("Password", timeout=120)
    connect = time.monotonic() - started
    play(screen, sign_in())
    time.sleep(1.0)
    timings, sent, received = [], 0, 0
    for _ in range(count):
        loan = active_loan_number(data_home)
        time.sleep(1.0)
        before = link.carried()
        timings.append(one_payment(screen, loan))
        play(screen, back_home())
        time.sleep(1.0)
        after = link.carried()
        sent, received = sent + after[0] - before[0], received + after[1] - before[1]
    return Rounds(connect, timings, sent, received)


# --- a link that drops in the middle of a payment form ----------------------------------------------------

def lost_contact(shown: str) -> bool:
    """mosh's banner is on the top line: `mosh: Last contact 14 seconds ago.`, `mosh: sendto: Network is
    unreachable`, `mosh: Last reply …` (the server hears the client, the client has not heard back yet)."""
    return shown.startswith("mosh: ")


def amount_row(shown: str) -> str:
    return next((line for line in shown.splitlines() if "Amount" in line), "")


def half_filled_form(screen: Screen, loan: str, amount: str) -> None:
    """From home: payment entry, the loan found, the suggested amount replaced by `amount`; nothing confirmed."""
    screen.keys("F3")
    screen.wait_for("Type a loan number")
    screen.keys(loan, "Enter")
    screen.wait_for("Overdue ")
    screen.keys("C-u", amount)
    screen.wait_for(lambda shown: amount in amount_row(shown))
    time.sleep(1.0)  # the client has acknowledged what it shows


def settled(screen: Screen, quiet: float = 2.0, timeout: float = 30.0) -> str:
    """The pane once it has not changed for `quiet` seconds: the link has caught up with what the app shows now
    (mosh's banner goes as soon as the server answers, before its frames have all arrived)."""
    shown, since, started = screen.text(), time.monotonic(), time.monotonic()
    while time.monotonic() - started < timeout:
        time.sleep(0.1)
        now = screen.text()
        if now != shown:
            shown, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return shown
    raise TimeoutError(f"the screen kept changing for {timeout:.0f} s; it shows:\n{shown}")


@dataclass
class Cut:
    lost_contact_shown: bool  # mosh said so while the link was down
    shown: str  # the pane once settled after the link came back
    back_after: float | None  # seconds from restoring the link to mosh's banner going (None: no banner)


def cut_link(screen: Screen, link: MoshLink, seconds: float, new_address: bool = False) -> Cut:
    """The link down for `seconds`, then up again (with another client address if `new_address`); what the
    screen shows once it has caught up."""
    link.cut()
    cut_at = time.monotonic()
    try:
        screen.wait_for(lost_contact, timeout=min(30.0, seconds))
        said_so = True
    except TimeoutError:
        said_so = False
    time.sleep(max(0.0, seconds - (time.monotonic() - cut_at)))
    link.restore(new_address)
    restored, back_after = time.monotonic(), None
    if said_so:
        try:
            back_after = screen.wait_for(lambda shown: not lost_contact(shown), timeout=60) - restored
        except TimeoutError:
            pass
    return Cut(said_so, settled(screen), back_after)


def confirm_after_cut(screen: Screen, timeout: float = 30.0) -> float | None:
    """Enter, then y: seconds to the receipt, or None when the session no longer answers."""
    started = time.monotonic()
    try:
        screen.keys("Enter")
        screen.wait_for("Take this payment?", timeout=timeout)
        screen.keys("y")
        screen.wait_for("p prints", timeout=timeout)
    except (TimeoutError, subprocess.CalledProcessError):
        return None
    return time.monotonic() - started


def report(name: str, result: Rounds) -> None:
    each = ", ".join(f"{t:.1f}" for t in result.timings)
    print(f"{name}: connect to sign-in screen {result.connect:.1f} s; F3 to receipt, median of "
          f"{len(result.timings)}: {statistics.median(result.timings):.1f} s (each: {each}); "
          f"bytes on the veth for the {len(result.timings)} rounds (F3 … receipt, back home, 1 s after): "
          f"{result.sent:,} up, {result.received:,} down "
          f"({(result.sent + result.received) / len(result.timings):,.0f} per payment)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mosh_link", description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=3, help="payments to time under each (median reported)")
    parser.add_argument("--cut", type=float, default=0.0, metavar="SECONDS",
                        help="then, under each, a payment form half filled, the link down this long, then the "
                             "payment confirmed")
    parser.add_argument("--new-address", action="store_true",
                        help="with --cut: the client comes back with another address (a phone reconnecting)")
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
        link.up()
        key = server.start()
        results, cuts = {}, {}
        for name, command in (("mosh", mosh_argv), ("ssh", ssh_argv)):
            print(f"payments under {name}…", file=sys.stderr)
            screen = Screen(command(key, link), NAMES)
            results[name] = rounds(screen, link, data_home, args.payments)
            if args.cut:
                print(f"the link down for {args.cut:.0f} s under {name}…", file=sys.stderr)
                loan = active_loan_number(data_home)
                half_filled_form(screen, loan, "37.50")
                cut = cut_link(screen, link, args.cut, args.new_address)
                cuts[name] = (loan, cut, confirm_after_cut(screen))
            screen.close()
            screen = None
            stop_sessions(NAMES.server_ns, ("mosh-server",))
        print(f"Link: {link.link.shaping}")
        for name, result in results.items():
            report(name, result)
        moved = " and back with another client address" if args.new_address else ""
        for name, (loan, cut, receipt) in cuts.items():
            kept = loan in cut.shown and "37.50" in amount_row(cut.shown)
            print(f"{name}, link down {args.cut:.0f} s{moved} in a half-filled payment form: "
                  + (f"the client said it lost contact, and {cut.back_after:.1f} s after the link came back that "
                     "it had it again; " if cut.back_after is not None else "")
                  + f"{'the pane shows the form as it was' if kept else 'the form is not on the pane'}; "
                  + (f"enter, y: receipt on screen {receipt:.1f} s later" if receipt is not None else
                     "enter, y: no receipt (nothing answered for 30 s)"))
            if not kept:
                print("  the screen showed:\n" + cut.shown)
    finally:
        if screen:
            screen.close()
        server.stop()
        link.down()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
