"""With 200,000 customers the lookup keeps one page in memory and answers each keystroke quickly."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

from sqlalchemy import Engine, text
from textual.widgets import Input

from db.engine import Actor
from db.repositories.customers import PAGE_SIZE
from screens.customer_lookup import CustomerLookupScreen
from tests.tui.conftest import run, settle
from tests.tui.front import front_app, press, sign_in, type_into
from widgets.tables import PageTable

CUSTOMERS = 200_000
SURNAMES = ("Kamau", "Ochieng", "Atieno", "Musyoka", "Mwangi", "Langat", "Wekesa", "Odhiambo", "Koech",
            "Kilonzo", "Mohamed", "Hassan", "Njoroge", "Wambui", "Otieno", "Cheruiyot", "Mutai", "Barasa",
            "Nyambura", "Kiprop")


def _seed(engine: Engine) -> None:
    """One INSERT … SELECT generate_series; the audit trigger is skipped for the bulk load (superuser only)."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("""
            INSERT INTO customers (first_name, last_name, phone, national_id)
            SELECT 'Client' || g, (CAST(:surnames AS text[]))[1 + g % 20],
                   '+2547' || lpad(g::text, 8, '0'), 'N' || g
            FROM generate_series(1, :n) AS g
        """), {"n": CUSTOMERS, "surnames": list(SURNAMES)})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE customers"))


def test_search_holds_one_page_with_two_hundred_thousand_customers(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    started = time.perf_counter()
    _seed(engine)
    seeded = time.perf_counter() - started
    timings: dict[str, float] = {}

    async def scenario() -> tuple[int, list[int]]:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["cashier"])
            await press(pilot, "f2")
            screen = app.screen
            assert isinstance(screen, CustomerLookupScreen)
            table = screen.query_one("#results", PageTable)
            held: list[int] = []
            tracemalloc.start()
            await type_into(pilot, "#search", "Kamau")  # key by key: one query per key, or one per burst
            held.append(table.rows_held)
            search = screen.query_one("#search", Input)
            for query in ("Client199999", "+254700123456", "N150000", "C-000042", "zzz-nobody", "a", "Kamau"):
                began = time.perf_counter()
                search.value = query  # as pasted: one query
                await settle(pilot)
                timings[query] = time.perf_counter() - began
                held.append(table.rows_held)
            for _ in range(3):
                await press(pilot, "ctrl+n")
                held.append(table.rows_held)
            first_of_page_four = str(table.get_row_at(0)[1])
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert first_of_page_four.endswith("Kamau")
            return peak, held

    peak, held = run(scenario())
    print(f"\nseeded {CUSTOMERS:,} customers in {seeded:.1f}s; peak traced memory {peak / 1e6:.2f} MB; "
          f"search to screen: " + ", ".join(f"{q!r} {t:.2f}s" for q, t in timings.items()))
    assert max(held) <= PAGE_SIZE
    assert held[0] == PAGE_SIZE and held[1:5] == [1, 1, 1, 1]
    assert held[5:7] == [0, 0] and held[7:] == [PAGE_SIZE] * 4
    # A whole table of 200,000 rows as objects would take hundreds of megabytes; a page takes little.
    assert peak < 20_000_000
