"""What the form campaign found, fixed where it lives: each refusal comes with a message for its field and
reaches no constraint, driver error or column of the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from db.errors import ValidationError
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.repositories.users import UserRepository
from db.validation import CustomerInput
from tests.reliability.faultlib import TODAY, staff_actors

CONTROL = ["\x00", "a\tb", "line\nbreak", "\x1b[31mred", "bell\x07", "c1\x85x", "del\x7f"]


def _rows(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608 - fixed names


@pytest.mark.parametrize("value", CONTROL)
def test_control_characters_in_address_occupation_and_purpose_are_refused_beside_the_field(
        engine: Engine, value: str) -> None:
    actors = staff_actors(engine)
    customers = CustomerRepository(engine, actors["officer"])
    before = _rows(engine, "customers")
    for field in ("address", "occupation"):
        with pytest.raises(ValidationError) as refused:
            customers.create(CustomerInput(first_name="Ctl", last_name="Chars", **{field: f"x{value}y"}),
                             today=TODAY)
        assert "control characters" in refused.value.fields[field]
    assert _rows(engine, "customers") == before
    owner = customers.create(CustomerInput(first_name="Ctl", last_name="Owner"), today=TODAY)
    terms = LoanTerms(Decimal("1000.00"), Decimal("24.00"), "flat", 6, "monthly")
    with pytest.raises(ValidationError) as refused:
        LoanRepository(engine, actors["officer"]).apply(LoanApplication(owner.id, terms, f"x{value}y"), today=TODAY)
    assert "control characters" in refused.value.fields["purpose"]
    assert _rows(engine, "loans") == 0


@pytest.mark.parametrize("username", ["'; drop table customers; --", "a", "-lead", "x" * 51, "名前", "a b"])
def test_a_username_the_database_would_refuse_is_refused_beside_the_field(engine: Engine, username: str) -> None:
    admin = UserRepository(engine, staff_actors(engine)["admin"])
    before = _rows(engine, "users")
    with pytest.raises(ValidationError) as refused:
        admin.create(username, "New Teller", "cashier", "counter-pass-1", "counter-pass-1")
    assert "letters, digits" in refused.value.fields["username"]
    for bad, message in (("x" * 201, "at most 200"), ("Tab\there", "control characters")):
        with pytest.raises(ValidationError) as refused:
            admin.create("new.teller", bad, "cashier", "counter-pass-1", "counter-pass-1")
        assert message in refused.value.fields["full_name"]
    assert _rows(engine, "users") == before
