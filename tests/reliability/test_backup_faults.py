"""The backup folder's disk fills up: backup fails with one line that says why, keeps the older backups and
leaves no partial file. And the backup drill: --verify-restore restores each dump into a scratch database
and compares every table with the source."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL

from db.backup import backup_database, checksum_differences, verify_restore
from db.config import load_settings
from db.errors import AstrofinError
from db.scripts_common import BACKUP_NAME
from db.target import resolve
from tests.reliability.conftest import Run
from tests.reliability.faultlib import record
from tests.scripts.helpers import fill_every_table

ROOT = Path(__file__).resolve().parents[2]
DISK_KIB = 1024


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, check=False)


@contextmanager
def small_disk(folder: Path, work: Path) -> Iterator[str]:
    """A 1 MiB filesystem mounted on `folder`: tmpfs when `mount -t tmpfs` works (root), else a loop-mounted
    ext2 image; the test is skipped, saying why, when neither can be mounted here."""
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this machine: cannot make a small disk for the backup folder")
    tried = _run("mount", "-t", "tmpfs", "-o", f"size={DISK_KIB}k,mode=0700", "tmpfs", str(folder))
    kind = "tmpfs"
    if tried.returncode != 0:
        image = work / "disk.img"
        with image.open("wb") as handle:
            handle.truncate(DISK_KIB * 1024)
        made = _run("mkfs.ext2", "-q", "-F", str(image)) if shutil.which("mkfs.ext2") else None
        looped = _run("mount", "-o", "loop", str(image), str(folder)) if made and made.returncode == 0 else None
        if looped is None or looped.returncode != 0:
            pytest.skip("cannot mount a small filesystem here (needs root for tmpfs or a loop device): "
                        f"{tried.stderr.strip() or 'mount -t tmpfs failed'}")
        kind = "loop-mounted ext2"
    try:
        yield kind
    finally:
        _run("umount", "-l", str(folder))


def _fill(folder: Path, leave: int) -> None:
    """Take all but `leave` bytes of the filesystem with one filler file."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with (folder / "filler.bin").open("wb") as handle:
        handle.write(b"\0" * max(free - leave, 0))


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_a_full_backup_disk_fails_cleanly_and_keeps_older_backups(cli: Callable[..., Run], db_url: URL,
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fill_every_table(db_url)
    folder = tmp_path / "small"
    with small_disk(folder, tmp_path) as kind:
        first = cli("db", "backup", "-o", str(folder))
        assert first.code == 0, first.err
        older = [p for p in folder.iterdir() if BACKUP_NAME.match(p.name)]
        assert len(older) == 1
        kept = _md5(older[0])
        assert stat.S_IMODE(older[0].stat().st_mode) == 0o600  # backups hold password hashes: owner only
        _fill(folder, leave=8 * 1024)
        monkeypatch.setenv("BACKUP_PATH", str(folder))  # maintenance reads the folder from the configuration
        messages = []
        for command in (("db", "backup", "-o", str(folder)), ("db", "maintenance")):
            run = cli(*command)
            assert run.code == 1, run.out + run.err
            # Progress reports name the failed step; the reason is one "astrofin: …" line, the last.
            lines = [line for line in run.err.strip().splitlines() if line.startswith("astrofin")]
            assert len(lines) == 1 and run.err.strip().endswith(lines[0]), run.err
            assert "no space left on device" in lines[0].lower(), lines[0]
            assert "Traceback" not in run.err
            messages.append(lines[0])
            names = sorted(p.name for p in folder.iterdir())
            assert names == sorted([older[0].name, "filler.bin"]), names  # no partial or new file
            assert _md5(older[0]) == kept
    record(f"backup folder's disk full ({kind} of {DISK_KIB} KiB, filled to 8 KiB free): "
           "`db backup` and `db maintenance`", 2,
           f"both refused with one line ({messages[0].split(': ', 1)[1][:90]}…); the older backup kept "
           "byte for byte; no partial or new file left in the folder")


def test_verify_restore_restores_into_a_scratch_database_and_compares(cli: Callable[..., Run], db_url: URL,
                                                                      pg_server: object, tmp_path: Path) -> None:
    fill_every_table(db_url)
    run = cli("db", "backup", "--verify-restore", "-o", str(tmp_path / "b"))
    assert run.code == 0, run.err
    assert "restore verified:" in run.out and "counts and checksums equal" in run.out
    assert "Restore into a scratch database and compare" in run.err
    run = cli("db", "maintenance", "--verify-restore")
    assert run.code == 0, run.err
    assert "restore verified:" in run.out
    # The day's changes to PAR's running totals are folded in (0026), and PAR still adds up to the loans.
    assert "PAR totals (" in run.err and "(0 changes folded)" not in run.err, run.err
    owner = create_engine(db_url, poolclass=pool.NullPool)
    with owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM loan_arrears_changes")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM loan_arrears_drift()")).scalar() == 0
    owner.dispose()
    with pg_server.admin.connect() as conn:  # type: ignore[attr-defined]
        left = conn.execute(text("SELECT count(*) FROM pg_database WHERE datname LIKE 'astrofin_verify_%'")).scalar()
    assert left == 0, "a scratch database was left behind"
    both = cli("db", "maintenance", "--verify-restore", "--no-backup")
    assert both.code == 1 and "choose one" in both.err


def test_verify_restore_names_a_table_that_restored_differently(cli: Callable[..., Run], db_url: URL,
                                                                pg_server: object, tmp_path: Path) -> None:
    fill_every_table(db_url)
    cli("config", "show")  # the DB_* variables are set by the fixture
    target = resolve(load_settings(), database=db_url.database)
    result = backup_database(target, tmp_path / "b", restore_check=True)
    assert result.restore_check is not None and result.restore_check.rows > 0
    # A source that claims one more customer than the dump holds: the comparison must say so.
    from sqlalchemy import create_engine, pool

    engine = create_engine(db_url, poolclass=pool.NullPool)
    from db.backup import table_checksums

    with engine.connect() as conn:
        source = table_checksums(conn)
    engine.dispose()
    count, digest = source["customers"]
    source["customers"] = (count + 1, digest)
    with pytest.raises(AstrofinError, match="table customers has .* rows restored"):
        verify_restore(target, result.path, source)
    assert checksum_differences({"a": (1, "x")}, {"a": (1, "y")}) == [
        "table a restored with different contents (checksum differs)"]
    with pg_server.admin.connect() as conn:  # type: ignore[attr-defined]
        left = conn.execute(text("SELECT count(*) FROM pg_database WHERE datname LIKE 'astrofin_verify_%'")).scalar()
    assert left == 0
    record("backup drill: `db backup --verify-restore` and `db maintenance --verify-restore` (restore into a "
           "scratch database, compare per-table counts and md5 checksums, drop it)", 3,
           f"{result.restore_check.tables} tables, {result.restore_check.rows} rows equal; a doctored source "
           "is reported by table name; no scratch database left behind")


def test_the_scripts_pass_verify_restore_through() -> None:
    for name in ("backup", "maintenance"):
        result = subprocess.run(["bash", str(ROOT / "db" / f"{name}.sh"), "--help"], capture_output=True,
                                text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        assert "--verify-restore" in result.stdout
