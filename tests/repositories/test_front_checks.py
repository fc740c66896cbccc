"""The read-only checks forms make before saving: who else has a national ID or a phone, and a customer's
loans in play; they warn, they never write (their transaction is rolled back)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, event

from db.engine import Actor
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.validation import CustomerInput

DAY = date(2025, 3, 10)
TERMS = LoanTerms(Decimal("5000.00"), Decimal("24"), "flat", 6, "monthly")


def test_holders_of_a_national_id_and_a_phone(engine: Engine, actors: dict[str, Actor]) -> None:
    repo = CustomerRepository(engine, actors["officer"])
    first = repo.create(CustomerInput(first_name="Wanjiku", last_name="Kamau", national_id="ID-1",
                                      phone="+254712000001"), today=DAY)
    second = repo.create(CustomerInput(first_name="Juma", last_name="Kamau", phone="+254712000001"), today=DAY)
    assert repo.national_id_holder("ID-1") == first.customer_number
    assert repo.national_id_holder("ID-1", other_than=first.id) is None
    assert repo.national_id_holder("ID-2") is None
    assert [row.id for row in repo.phone_holders("+254 712 000 001")] == [first.id, second.id]
    assert [row.id for row in repo.phone_holders("+254712000001", other_than=second.id)] == [first.id]
    assert repo.phone_holders("+254700000000") == []


def test_loans_in_play_are_pending_approved_active_or_defaulted(engine: Engine, actors: dict[str, Actor]) -> None:
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Mutua", last_name="Musyoka"), today=DAY)
    officer, supervisor = LoanRepository(engine, actors["officer"]), LoanRepository(engine, actors["supervisor"])
    assert officer.open_loans_of(customer.id) == []
    pending = officer.apply(LoanApplication(customer.id, TERMS), today=DAY)
    rejected = officer.apply(LoanApplication(customer.id, TERMS), today=DAY)
    supervisor.reject(rejected.id, "not this time")
    approved = officer.apply(LoanApplication(customer.id, TERMS), today=DAY)
    supervisor.approve(approved.id)
    in_play = officer.open_loans_of(customer.id)
    assert [(loan.id, loan.status) for loan in in_play] == [(pending.id, "pending"), (approved.id, "approved")]


def test_the_checks_never_commit(engine: Engine, actors: dict[str, Actor]) -> None:
    commits: list[object] = []

    def committed(conn: object) -> None:
        commits.append(conn)

    event.listen(engine, "commit", committed)
    try:
        CustomerRepository(engine, actors["officer"]).phone_holders("+254712000001")
        CustomerRepository(engine, actors["officer"]).national_id_holder("ID-1")
        LoanRepository(engine, actors["officer"]).open_loans_of(1)
    finally:
        event.remove(engine, "commit", committed)
    assert commits == []
