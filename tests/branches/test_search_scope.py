"""The exact-key searches sent as one message (db/one_trip.py) keep each branch to its own customers."""

from __future__ import annotations

from sqlalchemy import Engine, text

from db.engine import make_engine
from db.repositories.customers import CustomerRepository
from tests.branches.book import Book


def test_a_branch_finds_its_own_customer_by_number_and_phone_and_never_a_siblings(book: Book, engine: Engine,
                                                                                   db_url) -> None:
    with engine.connect() as conn:
        numbers = dict(conn.execute(text("SELECT id, customer_number FROM customers WHERE id = ANY(:ids)"),
                                    {"ids": [b.customer for b in book.branches]}).tuples().all())
    app = make_engine(db_url.set(username="astrofin_app"))
    try:
        for branch in (book.nrb, book.msa):
            officer = CustomerRepository(app, branch.staff["loan_officer"])
            assert [r.id for r in officer.search(numbers[branch.customer]).rows] == [branch.customer]
            sibling = book.msa if branch is book.nrb else book.nrb
            assert officer.search(numbers[sibling.customer]).rows == ()
            # Every book customer has the same phone: a branch finds only its own.
            by_phone = {r.id for r in officer.search("0712 000 001").rows}
            assert branch.customer in by_phone and sibling.customer not in by_phone
        head_office = CustomerRepository(app, book.hq.staff["loan_officer"])
        everyone = {b.customer for b in book.branches if b.customer}
        assert {r.id for r in head_office.search("0712 000 001").rows} >= everyone
    finally:
        app.dispose()
