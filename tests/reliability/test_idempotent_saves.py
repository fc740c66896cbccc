"""Customer and loan-application saves land once per form key (revision 0008), as payments do: the repeat
returns the first save's row, a concurrent double lands once, and another person's key is refused."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from db.engine import Actor, make_engine
from db.errors import ValidationError
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.validation import CustomerInput
from tests.reliability.faultlib import TODAY, staff_actors

TERMS = LoanTerms(Decimal("1000.00"), Decimal("24.00"), "flat", 6, "monthly")


def _count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _person(last: str) -> CustomerInput:
    return CustomerInput(first_name="Once", last_name=last, phone="+254712345678")


def test_the_same_key_returns_the_first_customer_and_application(engine: Engine) -> None:
    actors = staff_actors(engine)
    customers = CustomerRepository(engine, actors["officer"])
    key = uuid.uuid4().hex
    first = customers.create(_person("Keyed"), today=TODAY, idempotency_key=key)
    again = customers.create(_person("Keyed"), today=TODAY, idempotency_key=key)
    assert again.id == first.id and again.customer_number == first.customer_number
    assert _count(engine, "SELECT count(*) FROM customers WHERE last_name = 'Keyed'") == 1
    # Without a key (other callers: the seed, scripts) a save is a save, as before.
    customers.create(_person("Unkeyed"), today=TODAY)
    customers.create(_person("Unkeyed"), today=TODAY)
    assert _count(engine, "SELECT count(*) FROM customers WHERE last_name = 'Unkeyed'") == 2

    loans = LoanRepository(engine, actors["officer"])
    key = uuid.uuid4().hex
    loan = loans.apply(LoanApplication(first.id, TERMS), today=TODAY, idempotency_key=key)
    repeat = loans.apply(LoanApplication(first.id, TERMS), today=TODAY, idempotency_key=key)
    assert repeat.id == loan.id and repeat.loan_number == loan.loan_number
    assert _count(engine, "SELECT count(*) FROM loans WHERE customer_id = :c", c=first.id) == 1
    assert _count(engine, "SELECT count(*) FROM audit_logs WHERE table_name = 'loans' AND action = 'INSERT' "
                          "AND record_id = :l", l=loan.id) == 1


def test_a_key_of_another_persons_save_is_refused_and_a_bad_key_too(engine: Engine) -> None:
    actors = staff_actors(engine)
    key = uuid.uuid4().hex
    mine = CustomerRepository(engine, actors["officer"]).create(_person("Mine"), today=TODAY, idempotency_key=key)
    with pytest.raises(ValidationError, match="belongs to another save"):
        CustomerRepository(engine, actors["supervisor"]).create(_person("Theirs"), today=TODAY, idempotency_key=key)
    for bad in ("", " ", "k" * 201):
        with pytest.raises(ValidationError, match="key is not valid"):
            CustomerRepository(engine, actors["officer"]).create(_person("Bad"), today=TODAY, idempotency_key=bad)
        with pytest.raises(ValidationError, match="key is not valid"):
            LoanRepository(engine, actors["officer"]).apply(LoanApplication(mine.id, TERMS), today=TODAY,
                                                            idempotency_key=bad)
    assert _count(engine, "SELECT count(*) FROM customers WHERE last_name IN ('Theirs', 'Bad')") == 0


def test_the_key_is_unique_in_the_database(engine: Engine) -> None:
    actors = staff_actors(engine)
    key = uuid.uuid4().hex
    CustomerRepository(engine, actors["officer"]).create(_person("Unique"), today=TODAY, idempotency_key=key)
    with engine.begin() as conn, pytest.raises(Exception, match="customers_idempotency_key_key"):
        conn.execute(text("INSERT INTO customers (first_name, last_name, idempotency_key) VALUES ('A', 'B', :k)"),
                     {"k": key})


def _at_once(app: Engine, officer: Actor, which: str, owner: int, last: str, key: str) -> list[int]:
    """Two threads save the same form (same key) at the same moment; the ids they were given."""
    results: list[int] = []
    barrier = threading.Barrier(2)

    def save() -> None:
        barrier.wait()
        if which == "customer":
            results.append(CustomerRepository(app, officer).create(_person(last), today=TODAY,
                                                                   idempotency_key=key).id)
        else:
            results.append(LoanRepository(app, officer).apply(LoanApplication(owner, TERMS), today=TODAY,
                                                              idempotency_key=key).id)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_saves_with_one_key_at_the_same_moment_land_once(db_url: URL, engine: Engine) -> None:
    """A double submit that reaches the server twice at once: the unique index makes the second wait for the
    first and then return its row."""
    actors: dict[str, Actor] = staff_actors(engine)
    app = make_engine(db_url)
    try:
        owner = CustomerRepository(app, actors["officer"]).create(_person("Racer"), today=TODAY)
        for round_ in range(3):
            for which in ("customer", "loan"):
                results = _at_once(app, actors["officer"], which, owner.id, f"Dash{round_}", uuid.uuid4().hex)
                assert len(results) == 2 and results[0] == results[1], (which, results)
        assert _count(engine, "SELECT count(*) FROM customers WHERE last_name LIKE 'Dash%'") == 3
        assert _count(engine, "SELECT count(*) FROM loans WHERE customer_id = :c", c=owner.id) == 3
    finally:
        app.dispose()
