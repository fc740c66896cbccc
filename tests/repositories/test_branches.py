"""Branches: the tree, the administrator's changes, staff assignment, transfers and the period close, with the
refusals a person meets (each on the field it concerns, nothing written)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from db.engine import Actor
from db.errors import AstrofinError, Refused, ValidationError
from db.repositories.accounting import AccountingRepository, ManualLine
from db.repositories.branches import BranchRepository
from db.repositories.customers import CustomerRepository
from db.repositories.payments import PaymentRepository
from db.repositories.users import UserRepository
from db.validation import CustomerInput
from tests.repositories.conftest import make_active_loan


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM branches")).scalar_one())


def _hq(repo: BranchRepository) -> int:
    return next(b.id for b in repo.tree() if b.parent_id is None)


def test_the_admin_builds_the_tree_renames_and_deactivates(engine: Engine, actors: dict[str, Actor]) -> None:
    repo = BranchRepository(engine, actors["admin"])
    hq = _hq(repo)
    nairobi = repo.create(" nrb01 ", "Nairobi", hq)
    assert (nairobi.code, nairobi.parent_code, nairobi.depth, nairobi.is_active) == ("NRB01", "HQ", 1, True)
    westlands = repo.create("NRB02", "Westlands", nairobi.id)
    mombasa = repo.create("MSA01", "Mombasa", hq)
    tree = repo.tree()
    codes = [b.code for b in tree]
    assert codes[0] == "HQ" and codes.index("NRB02") == codes.index("NRB01") + 1  # a child right after its parent
    assert {b.code: b.depth for b in tree} == {"HQ": 0, "NRB01": 1, "NRB02": 2, "MSA01": 1}
    assert next(b for b in tree if b.code == "HQ").staff == 5  # the demo staff start at the head office
    assert repo.rename(mombasa.id, "Mombasa Island").name == "Mombasa Island"
    with pytest.raises(Refused, match="NRB02"):  # an active branch under it
        repo.set_active(nairobi.id, False)
    assert not repo.set_active(westlands.id, False).is_active
    assert repo.set_active(westlands.id, True).is_active


@pytest.mark.parametrize(("code", "name", "field"), [
    ("", "Nairobi", "code"), ("1NRB", "Nairobi", "code"), ("N", "Nairobi", "code"), ("NRB-01", "Nairobi", "code"),
    ("ABCDEFGHIJK", "Nairobi", "code"), ("'; DROP TABLE branches;--", "Nairobi", "code"),
    ("[B]X[/B]", "Nairobi", "code"), ("NRB01", " ", "name"), ("NRB01", "N" * 101, "name"),
    ("NRB01", "Nai\x1brobi", "name"),
])
def test_bad_codes_and_names_are_refused_on_their_field(engine: Engine, actors: dict[str, Actor], code: str,
                                                         name: str, field: str) -> None:
    repo = BranchRepository(engine, actors["admin"])
    before = _count(engine)
    with pytest.raises(ValidationError) as refused:
        repo.create(code, name, _hq(repo))
    assert set(refused.value.fields) == {field}
    assert _count(engine) == before


def test_markup_and_sql_in_a_name_are_stored_as_typed(engine: Engine, actors: dict[str, Actor]) -> None:
    repo = BranchRepository(engine, actors["admin"])
    made = repo.create("ODD1", "[b]Bold[/b] '; DROP TABLE branches;--", _hq(repo))
    assert repo.get(made.id).name == "[b]Bold[/b] '; DROP TABLE branches;--"
    assert _count(engine) == 2


def test_a_duplicate_code_and_a_missing_parent_are_refused(engine: Engine, actors: dict[str, Actor]) -> None:
    repo = BranchRepository(engine, actors["admin"])
    repo.create("NRB01", "Nairobi", _hq(repo))
    with pytest.raises(ValidationError) as refused:
        repo.create("nrb01", "Nairobi again", _hq(repo))
    assert "NRB01" in refused.value.fields["code"]
    with pytest.raises(ValidationError) as refused:
        repo.create("KSM01", "Kisumu", None)
    assert set(refused.value.fields) == {"parent"}
    assert _count(engine) == 2


def test_the_head_office_and_a_branch_with_open_loans_stay_active(engine: Engine,
                                                                   actors: dict[str, Actor]) -> None:
    repo = BranchRepository(engine, actors["admin"])
    hq = _hq(repo)
    with pytest.raises(AstrofinError) as refused:
        repo.set_active(hq, False)
    assert "head office" in str(refused.value).lower()
    nairobi = repo.create("NRB01", "Nairobi", hq)
    loan = make_active_loan(engine, actors, "Achieng", "Otieno", days_ago=10)
    BranchRepository(engine, actors["supervisor"]).transfer_customer(loan.customer_id, nairobi.id, "moved house")
    assert next(b for b in repo.tree() if b.id == nairobi.id).open_loans == 1
    with pytest.raises(AstrofinError) as refused:
        repo.set_active(nairobi.id, False)
    assert "loan" in str(refused.value).lower()
    assert repo.get(nairobi.id).is_active
    with pytest.raises(Refused, match="your role may not|admin"):
        BranchRepository(engine, actors["supervisor"]).create("KSM01", "Kisumu", hq)


def test_staff_are_assigned_to_a_branch(engine: Engine, actors: dict[str, Actor]) -> None:
    branches = BranchRepository(engine, actors["admin"])
    nairobi = branches.create("NRB01", "Nairobi", _hq(branches))
    users = UserRepository(engine, actors["admin"])
    made = users.create("mary.teller", "Mary Achieng", "cashier", "counter-pass-1", "counter-pass-1", nairobi.id)
    assert (made.branch_id, made.branch_code) == (nairobi.id, "NRB01")
    cashier = actors["cashier"].user_id
    assert next(m for m in users.list() if m.id == cashier).branch_code == "HQ"
    assert users.set_branch(cashier, nairobi.id).branch_code == "NRB01"
    branches.assign_user(cashier, _hq(branches))
    assert next(m for m in users.list() if m.id == cashier).branch_code == "HQ"
    with pytest.raises(ValidationError):
        users.set_branch(cashier, None)


def test_a_supervisor_transfers_a_customer_with_their_loans(engine: Engine, actors: dict[str, Actor]) -> None:
    admin = BranchRepository(engine, actors["admin"])
    nairobi = admin.create("NRB01", "Nairobi", _hq(admin))
    loan = make_active_loan(engine, actors, "Achieng", "Otieno", days_ago=10)
    repo = BranchRepository(engine, actors["supervisor"])
    for reason, field in (("", "reason"), ("  ", "reason"), ("line\nbreak", "reason")):
        with pytest.raises(ValidationError) as refused:
            repo.transfer_customer(loan.customer_id, nairobi.id, reason)
        assert set(refused.value.fields) == {field}
    with pytest.raises(ValidationError) as refused:
        repo.transfer_customer(loan.customer_id, None, "moved house")
    assert set(refused.value.fields) == {"branch"}
    with pytest.raises(ValidationError) as refused:
        repo.transfer_customer(loan.customer_id, _hq(admin), "moved house")  # already there
    assert set(refused.value.fields) == {"branch"}
    assert repo.customer_branch(loan.customer_id).code == "HQ"  # type: ignore[union-attr]
    shut = admin.create("OLD01", "Closed", _hq(admin))
    admin.set_active(shut.id, False)
    with pytest.raises(ValidationError) as refused:
        repo.transfer_customer(loan.customer_id, shut.id, "moved house")
    assert "deactivated" in refused.value.fields["branch"]
    with pytest.raises(AstrofinError):
        BranchRepository(engine, actors["officer"]).transfer_customer(loan.customer_id, nairobi.id, "moved")
    assert repo.transfer_customer(loan.customer_id, nairobi.id, "moved to Nairobi") == 1
    assert repo.customer_branch(loan.customer_id).code == "NRB01"  # type: ignore[union-attr]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT branch_id FROM loans WHERE id = :l"), {"l": loan.id}).scalar_one() \
            == nairobi.id
    # The database refuses the same branch by itself too.
    with pytest.raises(Exception, match="already in NRB01"), engine.begin() as conn:
        conn.execute(text("SELECT transfer_customer(:c, :b, 'again', :u)"),
                     {"c": loan.customer_id, "b": nairobi.id, "u": actors["supervisor"].user_id})


def test_a_closed_period_refuses_postings_on_or_before_it(engine: Engine, actors: dict[str, Actor]) -> None:
    today = date.today()
    hq = _hq(BranchRepository(engine, actors["admin"]))
    repo = BranchRepository(engine, actors["accountant"])
    with pytest.raises(ValidationError) as refused:
        repo.close_period(hq, today + timedelta(days=1), today=today)
    assert set(refused.value.fields) == {"through"}
    with pytest.raises(ValidationError) as refused:
        repo.close_period(None, None)
    assert set(refused.value.fields) == {"branch", "through"}
    with pytest.raises(ValidationError, match="(?i)yesterday") as refused:
        repo.close_period(hq, today)  # the database's own refusal, without the screen's today
    assert set(refused.value.fields) == {"through"}
    loan = make_active_loan(engine, actors, "Achieng", "Otieno", days_ago=40)
    closed = BranchRepository(engine, actors["supervisor"]).close_period(hq, today - timedelta(days=5), today=today)
    assert closed.closed_through == today - timedelta(days=5)
    with pytest.raises(AstrofinError):  # not after the current close
        repo.close_period(hq, today - timedelta(days=6), today=today)
    with pytest.raises(AstrofinError, match="(?i)HQ|head office") as refused:
        PaymentRepository(engine, actors["cashier"]).record(loan.id, Decimal("100.00"), today - timedelta(days=5),
                                                            "closed-day-payment")
    assert "\n" not in str(refused.value)
    with pytest.raises(AstrofinError, match="(?i)HQ|head office"):
        AccountingRepository(engine, actors["accountant"]).post_manual_entry(
            today - timedelta(days=10), "Late capital",
            (ManualLine("1000", Decimal("10.00"), Decimal("0.00")),
             ManualLine("3000", Decimal("0.00"), Decimal("10.00"))))
    PaymentRepository(engine, actors["cashier"]).record(loan.id, Decimal("100.00"), today, "open-day-payment")


def test_customers_start_in_the_head_office(engine: Engine, actors: dict[str, Actor]) -> None:
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Baraka", last_name="Mwangi", phone="+254711000002"), today=date.today())
    found = BranchRepository(engine, actors["cashier"]).customer_branch(customer.id)
    assert found is not None and found.code == "HQ"
