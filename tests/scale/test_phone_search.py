"""Phone search at scale: the last digits of a phone are one range of customers_phone_reverse_idx (revision
0013), never a scan of the customers, and the pages are those of the plain query."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from db.repositories.customers import CustomerRepository
from db.scale_seed import ScaleReport
from tests.scale.conftest import actor


def _sent_by_search(engine: Engine, typed: str) -> tuple[str, Any]:
    sent: list[tuple[str, Any]] = []

    def keep(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        if "FROM customers" in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        CustomerRepository(engine, actor(engine, "cashier")).search(typed)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(sent) == 1, sent
    return sent[0]


def _indexes(plan: dict[str, Any]) -> list[str]:
    found = [plan["Index Name"]] if "Index Name" in plan else []
    for child in plan.get("Plans", []):
        found += _indexes(child)
    return found


def _node_types(plan: dict[str, Any]) -> list[str]:
    found = [plan["Node Type"]]
    for child in plan.get("Plans", []):
        found += _node_types(child)
    return found


@pytest.fixture(scope="module")
def phone_tail(scale_book: tuple[Engine, ScaleReport]) -> str:
    """The last seven digits of one customer's phone in the book."""
    engine, _ = scale_book
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT right(phone, 7) FROM customers WHERE phone IS NOT NULL "
                                     "ORDER BY id LIMIT 1")).scalar_one())


# The plan of a phone's last digits (read in customer_phone_suffix_ids, 0018) is checked under the branches'
# row-level security by tests/scale/test_name_search.py::test_a_national_id_or_the_end_of_a_phone_reads_their_indexes.


def test_every_suffix_page_matches_the_plain_query(scale_book: tuple[Engine, ScaleReport], phone_tail: str) -> None:
    engine, _ = scale_book
    repo = CustomerRepository(engine, actor(engine, "cashier"))
    for typed in (phone_tail[-6:], phone_tail, phone_tail[-4:], "000000"):
        with engine.connect() as conn:
            expected = list(conn.execute(text(
                "SELECT id FROM customers WHERE (length(:t) >= 6 AND phone LIKE '%' || :t) OR national_id = :t "
                "ORDER BY lower(last_name), lower(first_name), id LIMIT 20"), {"t": typed}).scalars())
        assert [row.id for row in repo.search(typed).rows] == expected, typed
