"""Name search at scale: the trigram probe and the ordered walk give the same pages as the plain query."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

import db.repositories.customers as customers
from db.repositories.customers import CustomerRepository
from db.scale_seed import ScaleReport
from tests.scale.conftest import actor


def _expected(engine: Engine, fragment: str) -> list[int]:
    like = "%" + fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT id FROM customers WHERE (first_name || ' ' || last_name) ILIKE :p OR national_id = :t "
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
    fragments = ["wan", "ma", "zzq", "an a"]
    fragments += [f"{first[:4]} {last[:5]}" for first, last in names[:6]]
    fragments += [last[:6] for _, last in names[6:]]
    for fragment in fragments:
        assert _all_pages(repo, fragment) == _expected(engine, fragment), fragment
