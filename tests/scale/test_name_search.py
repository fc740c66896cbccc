"""Name search at scale: the prefix parts, the trigram probe and the ordered walk give the same pages as the
plain query (a prefix query for fragments of two or three characters, a substring query from four on)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, pool, text

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
    assert found == ["customers_branch_first_name_prefix2_idx", "customers_branch_first_name_prefix3_idx",
                     "customers_first_name_prefix2_idx", "customers_first_name_prefix3_idx"]


def _inner_plans(engine: Engine, who: str, fragment: str, *, outer: bool = False,
                 bitmaps: bool = False) -> list[dict[str, Any]]:
    """The plans of the statements run inside the search functions (auto_explain's nested statements, sent to
    the client as notices) when `who` searches for `fragment` as the app runs it: the actor's role, under the
    branches' row-level security. Whole-table scans are priced out (a 2,000-row book is otherwise cheapest read
    whole)."""
    notices: list[str] = []
    explaining = create_engine(engine.url, poolclass=pool.NullPool)

    @event.listens_for(explaining, "connect")
    def _explain(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
        with dbapi_connection.cursor() as cursor:
            for setting in ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
                            "SET auto_explain.log_nested_statements = on", "SET auto_explain.log_level = notice",
                            "SET auto_explain.log_format = json", "SET enable_seqscan = off"):
                cursor.execute(setting)
            if not bitmaps:
                cursor.execute("SET enable_bitmapscan = off")
        dbapi_connection.commit()

    try:
        CustomerRepository(explaining, actor(engine, who)).search(fragment)
    finally:
        explaining.dispose()
    return [json.loads(notice[notice.index("{"):])["Plan"] for notice in notices
            if '"Query Text"' in notice and ("FROM customers c" in notice or (outer and "customers" in notice))]


def _scans(node: dict[str, Any], parent: str = "") -> list[tuple[str, str, bool]]:
    """(parent node, index, whether it has an index condition) of every index scan in a plan."""
    found = []
    if "Index Name" in node:
        found.append((parent, node["Index Name"], "Index Cond" in node))
    for child in node.get("Plans", []):
        found += _scans(child, node["Node Type"])
    return found


@pytest.mark.parametrize("fragment", ["ka", "Wam"])
def test_a_branchs_short_fragment_reads_each_part_from_its_branchs_index_range_in_order(
        scale_book: tuple[Engine, ScaleReport], branch_officer: str, fragment: str) -> None:
    """Under the branches' row-level security too, each name part of a branch officer's search is a range of the
    branch's index (an index condition, not a filter over an index from its first entry), read in order and
    stopped at the page (a Limit over an Index Scan), inside customer_name_page_ids."""
    engine, _ = scale_book
    scans = [scan for plan in _inner_plans(engine, branch_officer, fragment) for scan in _scans(plan)]
    assert sorted(scans) == [("Limit", f"customers_branch_first_name_prefix{len(fragment)}_idx", True),
                             ("Limit", "customers_branch_name_idx", True)]


@pytest.mark.parametrize("fragment", ["ka", "Wam"])
def test_head_offices_short_fragment_reads_ranges_of_the_books_indexes(
        scale_book: tuple[Engine, ScaleReport], fragment: str) -> None:
    """Head office sees every branch: the surname part is a range of the book's name index, read in order and
    stopped at the page, and the first-name part a range of a first-name prefix index. (Which of the book's or
    the branches' prefix indexes the planner takes for a book of 2,000 customers is its choice.)"""
    engine, _ = scale_book
    scans = [scan for plan in _inner_plans(engine, "officer", fragment) for scan in _scans(plan)]
    assert ("Limit", "customers_last_name_idx", True) in scans
    assert [index for _, index, ranged in scans if f"first_name_prefix{len(fragment)}" in index and ranged]


@pytest.mark.parametrize("who", ["officer", "branch.officer"])
def test_a_page_after_the_first_starts_at_its_keyset_in_the_index(
        scale_book: tuple[Engine, ScaleReport], branch_officer: str, who: str) -> None:
    engine, _ = scale_book
    repo = CustomerRepository(engine, actor(engine, who))
    with engine.connect() as conn:  # the commonest start of a surname among the customers this person sees
        branch = conn.execute(text("SELECT branch_id FROM users WHERE username = :u"), {"u": who}).scalar_one()
        start = conn.execute(text(
            "SELECT left(lower(last_name), 2) FROM customers c WHERE c.branch_id = :b "
            "OR (SELECT parent_id FROM branches WHERE id = :b) IS NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"),
            {"b": branch}).scalar_one()
    first = repo.search(start, limit=2)
    assert first.more
    second = repo.search(start, after=first.rows[-1], limit=2)
    assert [r.id for r in second.rows] == [r.id for r in repo.search(start, limit=4).rows][2:]


@pytest.mark.parametrize("cap", [customers.NAME_PROBE_CAP, 5])
def test_a_branch_officer_pages_through_exactly_the_branchs_matches(
        scale_book: tuple[Engine, ScaleReport], branch_officer: str, monkeypatch: pytest.MonkeyPatch,
        cap: int) -> None:
    """The search functions run as the owner: their explicit branch condition gives what the policy would."""
    engine, _ = scale_book
    monkeypatch.setattr(customers, "NAME_PROBE_CAP", cap)
    repo = CustomerRepository(engine, actor(engine, "branch.officer"))
    with engine.connect() as conn:
        branch = conn.execute(text("SELECT branch_id FROM users WHERE username = 'branch.officer'")).scalar_one()
    with engine.connect() as conn:
        mine = set(conn.execute(text("SELECT id FROM customers WHERE branch_id = :b"), {"b": branch}).scalars())
    unseen = set()
    for fragment in ["wan", "ma", "Ka", "WAM", "wanj", "amau", "iru", "an a", "ach", "Otieno"]:
        everywhere = _expected(engine, fragment)
        assert _all_pages(repo, fragment) == [i for i in everywhere if i in mine], fragment
        unseen |= set(everywhere) - mine
    assert unseen  # matches in the other branches, which the officer never saw


@pytest.mark.parametrize("who", ["officer", "branch.officer"])
def test_a_national_id_or_the_end_of_a_phone_reads_their_indexes(
        scale_book: tuple[Engine, ScaleReport], branch_officer: str, who: str) -> None:
    """Digits typed are a national ID, a phone, and (from six digits) the end of a phone: under the branches'
    row-level security each is read from its index (the phone's end in customer_phone_suffix_ids, as reverse()
    is not leakproof), never by reading the customers one by one."""
    engine, _ = scale_book
    with engine.connect() as conn:
        national_id, phone = conn.execute(text(
            "SELECT c.national_id, c.phone FROM customers c JOIN users u ON u.branch_id = c.branch_id "
            "WHERE u.username = 'branch.officer' AND c.national_id IS NOT NULL AND c.phone IS NOT NULL "
            "ORDER BY c.id LIMIT 1")).one()
    for typed in (national_id, phone[-7:]):
        plans = _inner_plans(engine, who, typed, outer=True, bitmaps=True)
        scans = [scan for plan in plans for scan in _scans(plan)]
        text_of_plans = json.dumps(plans)
        assert "Seq Scan" not in text_of_plans, typed
        assert ("Limit", "customers_phone_reverse_idx", True) in scans, (typed, scans)
        assert any(index == "customers_national_id_key" and ranged for _, index, ranged in scans), (typed, scans)
    found = CustomerRepository(engine, actor(engine, who)).search(phone[-7:])
    assert phone in [row.phone for row in found.rows]
    assert [row.national_id for row in CustomerRepository(engine, actor(engine, who)).search(national_id).rows] == [
        national_id]
