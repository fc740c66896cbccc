"""Fixtures for the database scripts: the CLI pointed at the test server, scratch databases, checksums."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    return tmp_path / "backups"


@pytest.fixture
def server_env(pg_server, monkeypatch: pytest.MonkeyPatch, backups: Path) -> dict[str, str]:
    """DB_HOST/DB_PORT at the test server and BACKUP_PATH in the test's folder, here and for subprocesses."""
    values = {
        "DB_HOST": pg_server.server.socket_dir,
        "DB_PORT": str(pg_server.server.port),
        "BACKUP_PATH": str(backups),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def cli(server_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """`astrofin …` in-process; argparse's own exits become a Run too."""
    from astrofin_tui.cli import main

    def run(*args: str) -> Run:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def script(server_env: dict[str, str]) -> Callable[..., Run]:
    """`bash db/<name>.sh …` in a subprocess, from any working directory."""

    def run(name: str, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
        full_env = dict(os.environ)
        full_env.update(env or {})
        result = subprocess.run(["bash", str(ROOT / "db" / f"{name}.sh"), *args], cwd=cwd or ROOT, env=full_env,
                                capture_output=True, text=True, timeout=120)
        return Run(result.returncode, result.stdout, result.stderr)

    return run


@pytest.fixture
def scratch(pg_server) -> Iterator[Callable[[], str]]:
    """Unique names for databases a test creates; every one of them is dropped afterwards."""
    names: list[str] = []

    def new() -> str:
        name = f"s_{uuid.uuid4().hex[:16]}"
        names.append(name)
        return name

    yield new
    for name in names:
        pg_server.drop_database(name)
