"""AstroFinance through a real OpenSSH server over a shaped 2G-like link, timed as a cashier would feel it.

    sudo uv run python -m bench.ssh_link        # root: it makes network namespaces

Two network namespaces joined by a veth pair; sshd in one, the ssh client (inside tmux, at 80×24) in the
other. The link is 64 kbit/s each way with a 300 ms round trip: `tc netem` where the kernel has it,
otherwise `tc tbf` for the rate plus a relay in the server namespace that holds each chunk 150 ms each way.
sshd's ForceCommand runs `astrofin`, which turns its low-bandwidth profile on because SSH_CONNECTION is
set. The script signs in as the cashier, then times from pressing F3 (payment entry) to the receipt on
screen. Everything it starts is stopped and removed at the end; traffic never leaves its namespaces.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.debian import install
from bench.payment_script import KEY_BYTES, Step, back_home, payment, sign_in
from bench.wire import active_loan_number, astrofin_env, prepare_database

SERVER_NS, CLIENT_NS = "astrofin-srv", "astrofin-cli"
SERVER_VETH, CLIENT_VETH = "afsrv0", "afcli0"
SERVER_IP, CLIENT_IP = "10.250.0.2", "10.250.0.1"
SSHD_PORT, RELAY_PORT = 2200, 2222
RATE, ONE_WAY_DELAY_MS = "64kbit", 150


def run(argv: Sequence[str], *, ns: str | None = None, check: bool = True,
        **kw: object) -> subprocess.CompletedProcess[str]:
    full = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
    return subprocess.run(full, check=check, capture_output=True, text=True, **kw)  # type: ignore[call-overload]


def ensure_packages(*extra: tuple[str, str]) -> None:
    """openssh-server, iproute2 and tmux, and any `extra` (Debian package, a file it installs), when missing
    (bench.debian.NotInstallable when they cannot be had)."""
    install(("openssh-server", "/usr/sbin/sshd"), ("iproute2", "/usr/sbin/ip"), ("tmux", "/usr/bin/tmux"), *extra)


def veth_pair(*ends: tuple[str, str, str]) -> None:
    """Two network namespaces joined by a veth pair: each end given as (namespace, device, address in a /30)."""
    (first_ns, first_dev, _), (second_ns, second_dev, _) = ends
    run(["ip", "netns", "add", first_ns])
    run(["ip", "netns", "add", second_ns])
    run(["ip", "link", "add", second_dev, "type", "veth", "peer", "name", first_dev])
    for ns, dev, ip in ends:
        run(["ip", "link", "set", dev, "netns", ns])
        run(["ip", "addr", "add", f"{ip}/30", "dev", dev], ns=ns)
        run(["ip", "link", "set", dev, "up"], ns=ns)
        run(["ip", "link", "set", "lo", "up"], ns=ns)


@dataclass(frozen=True)
class Names:
    """Where one link lives: its namespaces, veth ends, addresses and tmux socket (another bench, e.g.
    bench.mosh_link, uses its own so that both can run at once)."""

    server_ns: str = SERVER_NS
    client_ns: str = CLIENT_NS
    server_veth: str = SERVER_VETH
    client_veth: str = CLIENT_VETH
    server_ip: str = SERVER_IP
    client_ip: str = CLIENT_IP
    tmux_socket: str = "astrofin-bench"

    @property
    def tmux(self) -> list[str]:
        return ["tmux", "-L", self.tmux_socket]

    def ends(self) -> tuple[tuple[str, str], tuple[str, str]]:
        return (self.server_ns, self.server_veth), (self.client_ns, self.client_veth)


@dataclass
class Link:
    shaping: str = ""
    relay: subprocess.Popen[str] | None = None
    names: Names = field(default_factory=Names)

    def up(self) -> None:
        self.down()
        n = self.names
        veth_pair((n.server_ns, n.server_veth, n.server_ip), (n.client_ns, n.client_veth, n.client_ip))
        netem = all(
            run(["tc", "qdisc", "add", "dev", dev, "root", "netem", "rate", RATE, "delay", f"{ONE_WAY_DELAY_MS}ms"],
                ns=ns, check=False).returncode == 0
            for ns, dev in n.ends()
        )
        if netem:
            self.shaping = f"tc netem: {RATE}, {2 * ONE_WAY_DELAY_MS} ms round trip"
            return
        for ns, dev in n.ends():
            run(["tc", "qdisc", "del", "dev", dev, "root"], ns=ns, check=False)
            run(["tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", RATE, "burst", "1600", "latency", "1s"],
                ns=ns)
        self.relay = subprocess.Popen(
            ["ip", "netns", "exec", n.server_ns, sys.executable, "-m", "bench.delay_relay", n.server_ip,
             str(RELAY_PORT), "127.0.0.1", str(SSHD_PORT), str(ONE_WAY_DELAY_MS)],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent,
        )
        assert self.relay.stdout is not None
        self.relay.stdout.readline()
        self.shaping = (f"tc tbf {RATE} each way + {ONE_WAY_DELAY_MS} ms delay relay each way "
                        f"({2 * ONE_WAY_DELAY_MS} ms round trip; this kernel has no netem)")

    @property
    def ssh_port(self) -> int:
        return RELAY_PORT if self.relay else SSHD_PORT

    @property
    def ssh_host(self) -> str:
        return self.names.server_ip

    def down(self) -> None:
        if self.relay:
            self.relay.terminate()
            self.relay.wait(timeout=5)
            self.relay = None
        for ns in (self.names.server_ns, self.names.client_ns):
            run(["ip", "netns", "del", ns], check=False)


@dataclass
class SshServer:
    folder: Path
    data_home: Path
    process: subprocess.Popen[str] | None = None
    env: dict[str, str] = field(default_factory=dict)  # more variables for the app (e.g. DB_* of a test database)
    names: Names = field(default_factory=Names)

    def start(self) -> Path:
        keys = self.folder / "keys"
        keys.mkdir(mode=0o700)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "host")])
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "client")])
        (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
        env = astrofin_env(self.data_home, "")
        env.pop("ASTROFIN_PROFILE")  # the profile must turn on by itself, from SSH_CONNECTION
        env = {k: v for k, v in env.items() if k in ("XDG_DATA_HOME", "LC_ALL", "XDG_RUNTIME_DIR")} | self.env
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command = f"env {exports} {sys.executable} -m astrofin_tui.cli"
        config = self.folder / "sshd_config"
        config.write_text("\n".join([
            # 127.0.0.1 for the delay relay, the veth address when netem shapes the link itself.
            "ListenAddress 127.0.0.1", f"ListenAddress {self.names.server_ip}", f"Port {SSHD_PORT}",
            f"HostKey {keys / 'host'}", f"AuthorizedKeysFile {keys / 'authorized_keys'}",
            f"PidFile {self.folder / 'sshd.pid'}",
            "PermitRootLogin prohibit-password", "PasswordAuthentication no", "UsePAM no", "StrictModes no",
            "PrintMotd no", "PrintLastLog no", "Compression no", f"ForceCommand {command}", "",
        ]))
        Path("/run/sshd").mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.names.server_ns, "/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
            stderr=subprocess.DEVNULL, text=True,
        )
        time.sleep(0.5)
        return keys / "client"

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=5)


class Screen:
    """The client's terminal, read as text through tmux."""

    def __init__(self, ssh_argv: Sequence[str], names: Names | None = None) -> None:
        self.tmux = (names or Names()).tmux
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)
        command = " ".join(["ip", "netns", "exec", (names or Names()).client_ns, *ssh_argv])
        subprocess.run([*self.tmux, "new-session", "-d", "-s", "bench", "-x", "80", "-y", "24", command], check=True)

    def text(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-t", "bench"], capture_output=True, text=True).stdout

    def keys(self, *keys: str) -> None:
        """Key names (Enter, F3 …) as keys; anything else typed literally (tmux would read "L-1" as a key)."""
        for key in keys:
            literal = [] if key in KEY_BYTES else ["-l"]
            subprocess.run([*self.tmux, "send-keys", "-t", "bench", *literal, key], check=True)

    def wait_for(self, condition: str | Callable[[str], bool], timeout: float = 60.0) -> float:
        test = (lambda screen: condition in screen) if isinstance(condition, str) else condition
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if test(self.text()):
                return time.monotonic()
            time.sleep(0.05)
        raise TimeoutError(f"waited {timeout:.0f} s for {condition!r}; the screen shows:\n{self.text()}")

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def play(screen: Screen, steps: list[Step]) -> float:
    """Press each step's keys once the previous step shows; returns when the last one shows."""
    ended = time.monotonic()
    for keys, shown in steps:
        for key in keys:
            screen.keys(key)
        if shown:
            ended = screen.wait_for(shown)
    return ended


def one_payment(screen: Screen, loan_number: str) -> float:
    """Signed in as the cashier: F3 … receipt. Returns the seconds from the key to the receipt on screen."""
    started = time.monotonic()
    return play(screen, payment(loan_number)) - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ssh_link", description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=3, help="payments to time (median reported)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.ssh_link: run as root (it creates network namespaces)", file=sys.stderr)
        return 2
    ensure_packages()
    folder = Path(tempfile.mkdtemp(prefix="astrofin-ssh-"))
    os.chmod(folder, 0o755)
    data_home = folder / "data"
    data_home.mkdir()
    link, server, screen = Link(), SshServer(folder, data_home), None
    try:
        print("preparing the demo database…", file=sys.stderr)
        prepare_database(data_home)
        loan = active_loan_number(data_home)
        link.up()
        key = server.start()
        screen = Screen(["ssh", "-tt", "-i", str(key), "-p", str(link.ssh_port), "-o", "StrictHostKeyChecking=no",
                         "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", f"root@{link.ssh_host}"])
        connect = time.monotonic()
        screen.wait_for("Password", timeout=120)
        to_sign_in = time.monotonic() - connect
        play(screen, sign_in())
        timings = []
        for _ in range(args.payments):
            timings.append(one_payment(screen, loan))
            play(screen, back_home())
        print(f"Link: {link.shaping}")
        print(f"ssh connect to sign-in screen: {to_sign_in:.1f} s")
        print(f"F3 to receipt on screen, median of {len(timings)}: {statistics.median(timings):.1f} s "
              f"(each: {', '.join(f'{t:.1f}' for t in timings)}; loan {loan})")
    finally:
        if screen:
            screen.close()
        server.stop()
        link.down()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
