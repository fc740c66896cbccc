"""docs/schema.sql is the schema at head, and the command that writes it is byte-stable."""

from __future__ import annotations

import difflib

import pytest

from db import embedded
from db.schema_dump import SCHEMA_FILE, STALE_MESSAGE, dump_schema, main, normalise
from tests.conftest import TEMPLATE

RAW = """--
-- PostgreSQL database dump
--

\\restrict 6hSHf136a0CERByMW2Yrn5iYCuO7i1A2KbHO3eJtRrP3dCp8ZkoMwHpI7YWyOtu

-- Dumped from database version 18.6
-- Dumped by pg_dump version 18.6

SET statement_timeout = 0;



CREATE TABLE public.t (id bigint);

\\unrestrict 6hSHf136a0CERByMW2Yrn5iYCuO7i1A2KbHO3eJtRrP3dCp8ZkoMwHpI7YWyOtu
"""


def test_committed_schema_is_the_head_schema(pg_server) -> None:  # type: ignore[no-untyped-def]
    """The session's template database is migrated to head: its dump is what docs/schema.sql must hold."""
    dumped = dump_schema(pg_server.url(TEMPLATE), embedded.bin_dir())
    committed = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    if committed != dumped:
        diff = difflib.unified_diff(committed.splitlines(), dumped.splitlines(), "docs/schema.sql", "head", lineterm="")
        pytest.fail(STALE_MESSAGE + "\n" + "\n".join(list(diff)[:40]), pytrace=False)


def test_schema_file_holds_every_kind_of_object() -> None:
    schema = SCHEMA_FILE.read_text(encoding="utf-8")
    for marker in ("CREATE TABLE public.loans", "CREATE VIEW", "CREATE MATERIALIZED VIEW", "CREATE TRIGGER",
                   "GRANT SELECT", "CREATE FUNCTION public.record_loan_payment(", "LANGUAGE plpgsql"):
        assert marker in schema, marker


def test_normalise_drops_the_lines_that_change_between_runs() -> None:
    once = normalise(RAW)
    assert "restrict" not in once and "Dumped from" not in once and "Dumped by" not in once
    assert "\n\n\n\n" not in once and once.endswith("CREATE TABLE public.t (id bigint);\n")
    other_key = RAW.replace("6hSHf136a0CERByMW2Yrn5iYCuO7i1A2KbHO3eJtRrP3dCp8ZkoMwHpI7YWyOtu", "Zx" * 30)
    assert normalise(other_key.replace("18.6", "18.9")) == once


def test_check_reports_a_stale_file_in_one_line(monkeypatch, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`--check` exits 1 with the one-line message when the file differs, 0 when it matches; it writes nothing."""
    import db.schema_dump as schema_dump

    stale = tmp_path / "schema.sql"
    stale.write_text("-- an older schema\n", encoding="utf-8")
    monkeypatch.setattr(schema_dump, "SCHEMA_FILE", stale)
    monkeypatch.setattr(schema_dump, "head_schema", lambda: "-- the head schema\n")
    assert main(["--check"]) == 1
    assert capsys.readouterr().err.strip() == STALE_MESSAGE
    assert stale.read_text(encoding="utf-8") == "-- an older schema\n"
    assert main([]) == 0
    assert stale.read_text(encoding="utf-8") == "-- the head schema\n"
    assert main(["--check"]) == 0
