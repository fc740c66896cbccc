"""Name search at scale: the prefix parts, the trigram probe and the ordered walk give the same pages as the
plain query (a prefix query for fragments of two or three characters, a substring query from four on)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event, text

import db.repositories.customers as customers
from db.repositories.customers import CustomerRepository
from db.scale_seed import ScaleReport
from tests.scale.conftest import actor


def _expected(engine: Engine, fragment: str) -> list[int]:
    if len(fragment) < 4 and " " not in fragment:
        where = ("starts_with(lower(first_name), lower(:t)) OR starts_with(lower(last_name), lower(:t)) "
                 "OR national_id = :t")
    else:
        where = "(first_name || ' ' || last_name) ILIKE :p OR national_id = :t"
    like = "%" + fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with engine.connect() as conn:
        return list(conn.execute(text(
            f"SELECT id FROM customers WHERE {where} "  # noqa: S608 (one of two fixed conditions)
            "ORDER BY lower(last_name), lower(first_name), id"), {"p": like, "t": fragment}).scalars())


def _all_pages(repo: CustomerRepository, fragment: str) -> list[int]:
    ids: list[int] = []
    page = repo.search(fragment, limit=7)
    while True:
        ids += [row.id for row in page.rows]
        if not page.more:
            return ids
        page = repo.search(fragment, after=page.rows[-1], limit=7)


@pytest.mark.parametrize("cap", [customers.NAME_PROBE_CAP, 5])
def test_every_page_matches_the_plain_query_whichever_path_answers(
        scale_book: tuple[Engine, ScaleReport], monkeypatch: pytest.MonkeyPatch, cap: int) -> None:
    engine, _ = scale_book
    monkeypatch.setattr(customers, "NAME_PROBE_CAP", cap)
    repo = CustomerRepository(engine, actor(engine, "officer"))
    with engine.connect() as conn:
        names = conn.execute(text("SELECT first_name, last_name FROM customers ORDER BY id LIMIT 12")).all()
    fragments = ["wan", "ma", "zzq", "an a", "Ka", "WAM", "Ño", "zoë", "wanj", "amau", "iru", "anji", "ieno"]
    fragments += [f"{first[:4]} {last[:5]}" for first, last in names[:6]]
    fragments += [last[:6] for _, last in names[6:]]
    for fragment in fragments:
        assert _all_pages(repo, fragment) == _expected(engine, fragment), fragment


def test_the_scale_seed_rebuilds_the_first_name_prefix_indexes(scale_book: tuple[Engine, ScaleReport]) -> None:
    engine, _ = scale_book
    with engine.connect() as conn:
        found = conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'customers' AND indexname LIKE '%prefix%' "
            "ORDER BY 1")).scalars().all()
    assert found == ["customers_first_name_prefix2_idx", "customers_first_name_prefix3_idx"]


@pytest.mark.parametrize(("fragment", "first_name_index"),
                         [("ka", "customers_first_name_prefix2_idx"), ("Wam", "customers_first_name_prefix3_idx")])
def test_a_short_fragment_reads_each_part_from_its_index_in_order(
        scale_book: tuple[Engine, ScaleReport], fragment: str, first_name_index: str) -> None:
    """The query's expressions are the indexes' own: with whole-table scans priced out (a 2,000-row book is
    otherwise cheapest read whole), every part is an ordered index scan that stops at the page (a Limit over an
    Index Scan), and only the national ID part sorts (its one row)."""
    engine, _ = scale_book
    sent: list[tuple[str, object]] = []

    def keep(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        if "UNION ALL" in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        CustomerRepository(engine, actor(engine, "officer")).search(fragment)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(sent) == 1
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_bitmapscan = off")
        plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sent[0][0], sent[0][1]).scalar_one()  # type: ignore[arg-type]
    scans: list[tuple[str, str]] = []

    def walk(node: dict[str, Any], parent: str) -> None:
        if "Index Name" in node:
            scans.append((parent, node["Index Name"]))
        for child in node.get("Plans", []):
            walk(child, node["Node Type"])

    walk(plan[0]["Plan"], "")
    assert sorted(scans) == sorted([("Limit", "customers_last_name_idx"), ("Limit", first_name_index),
                                    ("Limit", first_name_index), ("Sort", "customers_national_id_key")])
