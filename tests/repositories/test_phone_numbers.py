"""Kenyan phone numbers as people write them are stored in E.164, other countries' numbers written with '+'
stay as they are, anything else is refused with the forms accepted; search finds a customer by any of those
forms and by the last digits of the phone, and a national ID made of digits is still found."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from db.engine import Actor
from db.errors import ValidationError
from db.repositories.customers import PHONE_SUFFIX_DIGITS, CustomerRepository
from db.validation import PHONE_FORMS, CustomerInput, normalize_phone, phone_problem

TODAY = date(2026, 12, 6)
KENYAN_FORMS = ["0712 345 678", "712345678", "254712345678", "+254 712 345 678", "0712-345-678", "0712345678",
                "+254712345678", "+254 (0)712 345 678", "00254 712 345 678", " 0712.345.678 "]


@pytest.mark.parametrize("written", KENYAN_FORMS)
def test_every_kenyan_form_is_stored_in_e164(written: str) -> None:
    assert normalize_phone(written) == "+254712345678"
    assert phone_problem(normalize_phone(written)) is None


@pytest.mark.parametrize(("written", "stored"), [("0110 123 456", "+254110123456"), ("110123456", "+254110123456"),
                                                 ("254 110 123 456", "+254110123456"),
                                                 ("+254 110 123 456", "+254110123456")])
def test_01xx_numbers_are_kenyan_too(written: str, stored: str) -> None:
    assert normalize_phone(written) == stored
    assert phone_problem(stored) is None


@pytest.mark.parametrize(("written", "stored"), [("+256 772 123 456", "+256772123456"),
                                                 ("+1 (415) 555-2671", "+14155552671"),
                                                 ("+44 20 7946 0958", "+442079460958")])
def test_other_countries_written_with_plus_stay_as_they_are(written: str, stored: str) -> None:
    assert normalize_phone(written) == stored
    assert phone_problem(stored) is None


@pytest.mark.parametrize("written", ["12345", "0812 345 678", "612345678", "0712 345 67", "07123456789",
                                     "255712345678", "phone", "+0712345678"])
def test_a_number_that_is_neither_is_refused_with_the_forms_accepted(written: str) -> None:
    assert phone_problem(normalize_phone(written)) == PHONE_FORMS


def test_a_kenyan_number_of_the_wrong_length_after_plus_254_is_refused() -> None:
    problem = phone_problem(normalize_phone("+254 712 345 67"))
    assert problem is not None and "nine digits after +254" in problem


def _customer(engine: Engine, officer: Actor, first: str, last: str, phone: str | None,
              national_id: str | None = None) -> int:
    return CustomerRepository(engine, officer).create(
        CustomerInput(first_name=first, last_name=last, phone=phone, national_id=national_id), today=TODAY).id


def test_a_customer_saved_with_a_local_number_is_stored_in_e164(engine: Engine, actors: dict[str, Actor]) -> None:
    made = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Wanjiku", last_name="Kamau", phone="0712 345 678"), today=TODAY)
    assert made.data.phone == "+254712345678"
    with pytest.raises(ValidationError) as refused:
        CustomerRepository(engine, actors["officer"]).create(
            CustomerInput(first_name="Baraka", last_name="Mwangi", phone="0712 345"), today=TODAY)
    assert refused.value.fields == {"phone": PHONE_FORMS}


@pytest.fixture
def book(engine: Engine, actors: dict[str, Actor]) -> dict[str, int]:
    officer = actors["officer"]
    return {
        "wanjiku": _customer(engine, officer, "Wanjiku", "Kamau", "0712 345 678"),
        "otieno": _customer(engine, officer, "Otieno", "Ouma", "+254 110 987 654"),
        "kato": _customer(engine, officer, "Kato", "Musoke", "+256 772 345 678"),  # same last 6 as Wanjiku
        "amina": _customer(engine, officer, "Amina", "Hassan", None, national_id="87654321"),
        "juma": _customer(engine, officer, "Juma", "Ali", "0722 000 111", national_id="34567"),
    }


def _found(engine: Engine, actor: Actor, typed: str) -> set[int]:
    return {row.id for row in CustomerRepository(engine, actor).search(typed).rows}


@pytest.mark.parametrize("typed", KENYAN_FORMS)
def test_search_finds_a_customer_by_every_form_of_the_phone(engine: Engine, actors: dict[str, Actor],
                                                            book: dict[str, int], typed: str) -> None:
    assert book["wanjiku"] in _found(engine, actors["cashier"], typed)
    assert book["otieno"] not in _found(engine, actors["cashier"], typed)


def test_search_finds_customers_by_the_last_digits_of_the_phone(engine: Engine, actors: dict[str, Actor],
                                                                book: dict[str, int]) -> None:
    cashier = actors["cashier"]
    assert _found(engine, cashier, "345678") == {book["wanjiku"], book["kato"]}
    assert _found(engine, cashier, "2345678") == {book["wanjiku"], book["kato"]}
    assert _found(engine, cashier, "45 678") == set()  # five digits: a national ID, and nobody has it
    assert _found(engine, cashier, "987654") == {book["otieno"]}
    assert _found(engine, cashier, "987 654") == {book["otieno"]}
    assert _found(engine, cashier, "5987654") == set()  # the digits must end the phone as typed
    assert PHONE_SUFFIX_DIGITS == 6


def test_a_national_id_made_of_digits_is_still_found(engine: Engine, actors: dict[str, Actor],
                                                     book: dict[str, int]) -> None:
    cashier = actors["cashier"]
    assert _found(engine, cashier, "87654321") == {book["amina"]}  # eight digits: no phone ends with them
    assert _found(engine, cashier, "34567") == {book["juma"]}  # five digits: the national ID only
