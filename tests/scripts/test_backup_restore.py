"""backup and restore: round trip with equal checksums, retention, --list, damaged files, --reset."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, pool, text

from db.backup import apply_retention, backup_database
from db.config import load_settings
from db.scripts_common import BACKUP_NAME, backup_name
from db.target import resolve
from tests.scripts.helpers import checksums, database_names, fill_every_table


def _dumps(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if BACKUP_NAME.match(path.name))


def _only_dump(folder: Path) -> Path:
    names = _dumps(folder)
    assert len(names) == 1, names
    return folder / names[0]


def _fake_dump(folder: Path, moment: datetime, mtime: datetime | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / backup_name(moment)
    path.write_bytes(b"PGDMP fake")
    stamp = (mtime or moment).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def test_backup_then_restore_into_a_new_database_gives_equal_tables(cli, db_url, backups, scratch, pg_server):
    fill_every_table(db_url)
    before = checksums(db_url)
    assert all(count > 0 for count, _ in before.values()), before

    backed = cli("db", "backup", "-d", db_url.database)
    assert backed.code == 0, backed.err
    dump = _only_dump(backups)
    assert str(dump) in backed.out and "KiB" in backed.out
    assert dump.stat().st_mode & 0o077 == 0  # password hashes inside: owner only
    assert not [p for p in backups.iterdir() if p.name.startswith(".")]  # no temporary file left

    newdb = scratch()
    restored = cli("db", "restore", "-c", "-d", newdb, str(dump))
    assert restored.code == 0, restored.err
    assert "created" in restored.out and "revision" in restored.out
    assert checksums(pg_server.url(newdb)) == before
    assert not [name for name in database_names(pg_server) if name.startswith("astrofin_restore_")]


def test_restore_into_an_existing_empty_database(cli, db_url, backups, scratch, pg_server):
    assert cli("db", "backup", "-d", db_url.database).code == 0
    empty = scratch()
    pg_server.create_database(empty, template=None)
    result = cli("db", "restore", "-d", empty, str(_only_dump(backups)))
    assert result.code == 0, result.err
    assert "into the empty database" in result.out
    assert checksums(pg_server.url(empty)) == checksums(db_url)


def test_restore_refuses_a_database_with_data_unless_reset(cli, db_url, backups):
    fill_every_table(db_url)
    assert cli("db", "backup", "-d", db_url.database).code == 0
    at_backup = checksums(db_url)
    engine = create_engine(db_url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        conn.execute(text("UPDATE customers SET occupation = 'Changed since the backup'"))
    engine.dispose()
    changed = checksums(db_url)
    assert changed != at_backup

    refused = cli("db", "restore", "-d", db_url.database, str(_only_dump(backups)))
    assert refused.code == 1
    assert "--reset" in refused.err and refused.err.count("astrofin:") == 1
    assert checksums(db_url) == changed

    reset = cli("db", "restore", "--reset", "-d", db_url.database, str(_only_dump(backups)))
    assert reset.code == 0, reset.err
    assert "replaced" in reset.out
    assert checksums(db_url) == at_backup


def test_restore_of_a_missing_database_needs_create(cli, db_url, backups, scratch, pg_server):
    assert cli("db", "backup", "-d", db_url.database).code == 0
    name = scratch()
    result = cli("db", "restore", "-d", name, str(_only_dump(backups)))
    assert result.code == 1 and "--create" in result.err
    assert name not in database_names(pg_server)


def test_damaged_or_foreign_files_leave_the_target_as_it_was(cli, db_url, backups, tmp_path, pg_server):
    fill_every_table(db_url)
    assert cli("db", "backup", "-d", db_url.database).code == 0
    good = _only_dump(backups).read_bytes()
    cut_near_end = tmp_path / "cut_near_end.dump"  # the table of contents still lists fine
    cut_near_end.write_bytes(good[:-16])
    cut_in_half = tmp_path / "cut_in_half.dump"
    cut_in_half.write_bytes(good[: len(good) // 2])
    text_file = tmp_path / "notes.dump"
    text_file.write_text("this is not a backup\n")
    before = checksums(db_url)
    databases = database_names(pg_server)

    for bad in (cut_near_end, cut_in_half, text_file):
        for flags in (["--reset"], []):
            result = cli("db", "restore", *flags, "-d", db_url.database, str(bad))
            assert result.code == 1, (bad, result.out)
            lines = [line for line in result.err.splitlines() if line.startswith("astrofin:")]
            assert len(lines) == 1 and "not a readable backup" in lines[0], result.err
            assert "Traceback" not in result.output
    assert checksums(db_url) == before
    assert database_names(pg_server) == databases


def test_retention_by_count_keeps_the_newest_and_only_touches_backup_names(cli, db_url, backups):
    now = datetime.now()
    olds = [_fake_dump(backups, now - timedelta(hours=hours)) for hours in (1, 2, 3, 4, 5)]
    strangers = [backups / "notes.txt", backups / "astrofin_manual.dump", backups / ".astrofin_x.dump.partial",
                 backups / "astrofinance_20200101_000000.dump"]
    for path in strangers:
        path.write_text("keep me")
        os.utime(path, (0, 0))

    result = cli("db", "backup", "-d", db_url.database, "-c", "3")
    assert result.code == 0, result.err
    remaining = _dumps(backups)
    assert len(remaining) == 3
    assert sorted(p.name for p in olds[:2]) == [name for name in remaining if name in {p.name for p in olds}]
    assert all(path.exists() for path in strangers)
    assert result.out.count("deleted old backup") == 3


def test_retention_by_days_judges_the_time_in_the_file_name(cli, db_url, backups):
    now = datetime.now()
    old_by_name = _fake_dump(backups, now - timedelta(days=40), mtime=now)
    recent_by_name = _fake_dump(backups, now - timedelta(days=2), mtime=now - timedelta(days=400))
    result = cli("db", "backup", "-d", db_url.database, "-r", "30", "-c", "10")
    assert result.code == 0, result.err
    assert not old_by_name.exists()
    assert recent_by_name.exists()
    assert len(_dumps(backups)) == 2


def test_apply_retention_days_then_count(tmp_path):
    now = datetime(2026, 6, 30, 12, 0, 0)
    paths = [_fake_dump(tmp_path, now - timedelta(days=days)) for days in (0, 1, 2, 3, 31, 60)]
    deleted = apply_retention(tmp_path, retention_days=30, retention_count=2, now=now, keep=paths[0])
    assert sorted(deleted) == sorted(paths[2:])
    assert [p.exists() for p in paths] == [True, True, False, False, False, False]


def test_a_failed_dump_leaves_no_file_and_keeps_older_backups(cli, db_url, backups):
    older = _fake_dump(backups, datetime.now() - timedelta(days=1))
    # astrofin_app may log in and read the catalog but not the tables: pg_dump fails half-way.
    result = cli("db", "backup", "-u", "astrofin_app", "-d", db_url.database, "-c", "1")
    assert result.code == 1
    assert "pg_dump" in result.err and "permission denied" in result.err
    assert "Traceback" not in result.output
    assert sorted(p.name for p in backups.iterdir()) == [older.name]


def test_list_shows_backups_newest_first(cli, backups):
    empty = cli("db", "restore", "--list")
    assert empty.code == 0 and "no backups" in empty.out
    now = datetime.now().replace(microsecond=0)
    names = [_fake_dump(backups, now - timedelta(days=days)).name for days in (3, 1, 2)]
    (backups / "other.txt").write_text("x")
    listed = cli("db", "restore", "-l")
    assert listed.code == 0, listed.err
    lines = [line.split()[0] for line in listed.out.splitlines()[1:]]
    assert lines == sorted(names, reverse=True)
    assert "other.txt" not in listed.out
    assert (now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S") in listed.out


def test_backup_api_reports_progress_for_a_screen(server_env, db_url, tmp_path):
    seen: list[tuple[str, float]] = []
    target = resolve(load_settings(), database=db_url.database)
    result = backup_database(target, tmp_path, progress=lambda message, fraction: seen.append((message, fraction)))
    assert result.path.exists() and result.size == result.path.stat().st_size
    fractions = [fraction for _, fraction in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert seen[0][0].startswith("[1/3] pg_dump") and seen[0][0].endswith("…")
    assert any("done in" in message for message, _ in seen)


def test_two_backups_in_one_second_both_kept(server_env, db_url, tmp_path):
    target = resolve(load_settings(), database=db_url.database)
    moment = datetime.now()
    first = backup_database(target, tmp_path, now=moment)
    second = backup_database(target, tmp_path, now=moment)
    assert first.path != second.path and first.path.exists() and second.path.exists()
    assert BACKUP_NAME.match(second.path.name)


def test_backup_script_from_another_folder_writes_to_its_backups(script, db_url, tmp_path, pg_server):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"BACKUP_PATH": ""}  # unset: the design's default ./backups, relative to where it runs
    started = time.time()
    result = script("backup", "-d", db_url.database, cwd=elsewhere, env=env)
    assert result.code == 0, result.err
    dump = _only_dump(elsewhere / "backups")
    assert dump.stat().st_mtime >= started - 1
    newdb = f"{db_url.database}_r"
    try:
        restored = script("restore", "-c", "-d", newdb, str(dump), cwd=elsewhere, env=env)
        assert restored.code == 0, restored.err
        assert checksums(pg_server.url(newdb)) == checksums(db_url)
    finally:
        pg_server.drop_database(newdb)
