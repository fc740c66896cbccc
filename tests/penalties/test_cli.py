"""`astrofin db penalties [--as-of DATE]` and the maintenance run's penalty step, as the owner."""

from __future__ import annotations

from datetime import date

from sqlalchemy import create_engine, pool

from tests.penalties.book import charges, loan, product
from tests.scripts.conftest import backups, cli, server_env  # noqa: F401 (fixtures)


def test_the_cli_charges_what_is_due_once(cli, db_url) -> None:  # noqa: F811
    engine = create_engine(db_url, poolclass=pool.NullPool)
    lid = loan(engine, product(engine))
    result = cli("db", "penalties", "--as-of", "04/02/2026", "-d", db_url.database)
    assert result.code == 0, result.err
    assert "Late penalties due on or before 04 Feb 2026: 1 charge written" in result.out
    result = cli("db", "penalties", "--as-of", "2026-02-04", "-d", db_url.database)
    assert "0 charges written" in result.out
    assert len(charges(engine, lid)) == 1
    for bad, words in (("31/02/2026", "no such day"), ("tomorrow", "write the date as"), ("2999-01-01", "after")):
        result = cli("db", "penalties", "--as-of", bad, "-d", db_url.database)
        assert result.code == 2 and "Traceback" not in result.output
        assert words in result.err
    # Today, by default: installments 1 to 11 are past due (and their grace) by now.
    result = cli("db", "penalties", "-d", db_url.database)
    assert result.code == 0, result.err
    assert len(charges(engine, lid)) == len({c[0] for c in charges(engine, lid)}) >= 10
    engine.dispose()


def test_maintenance_charges_the_days_penalties_unless_switched_off(cli, db_url, monkeypatch) -> None:  # noqa: F811
    engine = create_engine(db_url, poolclass=pool.NullPool)
    lid = loan(engine, product(engine))
    monkeypatch.setenv("PENALTIES_ENABLED", "false")
    result = cli("db", "maintenance", "-n", "-d", db_url.database)
    assert result.code == 0, result.err
    assert "[6/7] Late penalties … skipped: PENALTIES_ENABLED=false" in result.err
    assert charges(engine, lid) == []
    monkeypatch.setenv("PENALTIES_ENABLED", "true")
    result = cli("db", "maintenance", "-n", "-d", db_url.database)
    assert result.code == 0, result.err
    assert "[6/7] Late penalties … done" in result.err
    written = len(charges(engine, lid))
    assert written >= 10 and f"late penalties: {written} charges written" in result.out
    assert charges(engine, lid)[0][2] == date(2026, 2, 4)
    engine.dispose()
