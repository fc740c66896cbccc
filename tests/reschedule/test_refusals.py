"""Refusals: four eyes, roles, another branch's loan, and every bad field, each with its message and nothing written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from db.engine import unit_of_work
from tests.ledger.helpers import TODAY, Staff, active_loan, fingerprint, pay, refused, scalar
from tests.reschedule.helpers import approve, request, rows
from tests.tills.book import build_till_book

DISBURSED = TODAY - timedelta(days=100)
FIRST = TODAY - timedelta(days=70)


def _loan(engine: Engine, staff: Staff) -> int:
    with engine.begin() as conn:
        return active_loan(conn, staff, disbursed=DISBURSED, first=FIRST)


def _state(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return (fingerprint(engine), conn.execute(text(
            "SELECT coalesce(string_agg(r::text, '|' ORDER BY r.id), '') FROM loan_reschedules r")).scalar(),
            scalar(conn, "SELECT count(*) FROM payment_schedule_history"))


def test_four_eyes_one_pending_request_and_rejection(engine: Engine, staff: Staff) -> None:
    loan = _loan(engine, staff)
    with engine.begin() as conn:
        rid = request(conn, staff, loan, new_next_due_date=TODAY + timedelta(days=7), by=staff.supervisor)
    before = _state(engine)
    with refused("P0105", "another supervisor must approve"), engine.begin() as conn:
        approve(conn, staff, rid, by=staff.supervisor)
    with refused("P0105", "another supervisor must reject"), engine.begin() as conn:
        conn.execute(text("SELECT reject_reschedule(:r, :u, 'no')"), {"r": rid, "u": staff.supervisor})
    with refused("P0102", "already has a reschedule waiting"), engine.begin() as conn:
        request(conn, staff, loan, new_next_due_date=TODAY + timedelta(days=9))
    with refused("P0107", "Type why") as info, engine.begin() as conn:
        conn.execute(text("SELECT reject_reschedule(:r, :u, '  ')"), {"r": rid, "u": staff.supervisor2})
    assert info.value.orig.diag.column_name == "decision_note"  # type: ignore[union-attr]
    assert _state(engine) == before
    with engine.begin() as conn:
        conn.execute(text("SELECT reject_reschedule(:r, :u, 'Bring the harvest records')"),
                     {"r": rid, "u": staff.supervisor2})
    with refused("P0102", "already rejected"), engine.begin() as conn:
        approve(conn, staff, rid, by=staff.supervisor2)
    with engine.connect() as conn:
        done = conn.execute(text("SELECT status, decided_by, decision_note FROM loan_reschedules WHERE id = :r"),
                            {"r": rid}).one()
        assert tuple(done) == ("rejected", staff.supervisor2, "Bring the harvest records")
        # A new request may follow a rejected one.
        assert request(conn, staff, loan, new_next_due_date=TODAY + timedelta(days=9)) > rid
        conn.rollback()


NEXT = TODAY + timedelta(days=7)
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("before disbursement", {"new_next_due_date": DISBURSED - timedelta(days=1)}, "new_next_due_date",
     "before loan"),
    ("in the past", {"new_next_due_date": TODAY - timedelta(days=1)}, "new_next_due_date", "in the past"),
    ("more than a year ahead", {"new_next_due_date": TODAY + timedelta(days=400)}, "new_next_due_date",
     "more than a year ahead"),
    ("no date", {"new_next_due_date": None}, "new_next_due_date", "Type the new next due date"),
    ("10,000 extra", {"extra_installments": 10_000}, "extra_installments", "at most 520 installments"),
    ("negative extra", {"extra_installments": -1}, "extra_installments", "cannot be negative"),
    ("nothing changes", {"from_installment": 4, "new_next_due_date": None}, "extra_installments", "changes nothing"),
    ("rate -1", {"new_rate": "-1"}, "new_rate", "from 0 to 1000"),
    ("rate 1,000,000", {"new_rate": "1000000"}, "new_rate", "from 0 to 1000"),
    ("rate with five decimals", {"new_rate": "12.00001"}, "new_rate", "four decimals"),
    ("grace as long as the tail", {"grace_periods": 12}, "grace_periods", "from 0 to 11"),
    ("negative grace", {"grace_periods": -1}, "grace_periods", "from 0 to 11"),
    ("grace at 0 %", {"grace_periods": 1, "new_rate": "0"}, "grace_periods", "0.00"),
    ("unknown arrears handling", {"arrears_handling": "maybe"}, "arrears_handling", "keep"),
    ("empty reason", {"reason": "   "}, "reason", "Type the reason"),
    ("5,000-character reason", {"reason": "x" * 5000}, "reason", "At most 500 characters"),
    ("control characters", {"reason": "late\x1b[2J"}, "reason", "without control characters"),
    ("installment 0", {"from_installment": 0}, "from_installment", "installments 1 to 12"),
    ("installment 99", {"from_installment": 99}, "from_installment", "installments 1 to 12"),
    ("a paid installment", {"from_installment": 1, "_pay": True}, "from_installment", "is paid"),
]


def test_every_bad_field_is_refused_beside_it_and_nothing_is_written(engine: Engine, staff: Staff) -> None:
    loan = _loan(engine, staff)
    with engine.connect() as conn:
        fourth_due = rows(conn, loan)[3].due_date
    for name, changes, column, message in BAD:
        terms = {"new_next_due_date": NEXT, **changes}
        if name == "nothing changes":
            terms["new_next_due_date"] = fourth_due
        if terms.pop("_pay", False):
            with engine.begin() as conn:
                pay(conn, staff, loan, "945.60")
        before = _state(engine)
        with pytest.raises(DBAPIError) as info, engine.begin() as conn:
            request(conn, staff, loan, **terms)
        diag = info.value.orig.diag  # type: ignore[union-attr]
        assert (diag.sqlstate or "").startswith("P01"), (name, str(info.value.orig))
        assert diag.column_name == column, (name, diag.message_primary)
        assert message in (diag.message_primary or ""), (name, diag.message_primary)
        assert _state(engine) == before, name


def test_roles_and_another_branchs_loan_are_refused_through_the_application_login(
        engine: Engine, app_engine: Engine) -> None:
    book = build_till_book(engine, app_engine, loans=1)
    msa, nrb = book.msa, book.nrb
    loan = msa.loans[0]
    args = {"l": loan, "d": TODAY + timedelta(days=7)}
    call = ("SELECT request_reschedule(:l, 1, :d, 2, NULL, 0, 'keep', 'More time', :me)")

    def attempt(actor: Any, sql: str, **params: Any) -> str:
        try:
            with unit_of_work(app_engine, actor) as session:
                session.execute(text(sql), {**params, "me": actor.user_id})
        except DBAPIError as exc:
            return getattr(exc.orig, "sqlstate", None) or "?"
        return "ok"

    before = _state(engine)
    for role in ("cashier", "accountant", "admin"):
        assert attempt(msa.staff[role], call, **args) == "42501", role
    assert attempt(nrb.staff["officer"], call, **args) == "P0101"  # not found in NRB01's scope
    assert attempt(nrb.staff["supervisor"], "SELECT * FROM preview_reschedule(:l, 1, :d, 2, NULL, 0, 'keep')",
                   **args) == "P0101"
    assert _state(engine) == before
    assert attempt(msa.staff["officer"], call, **args) == "ok"
    with engine.connect() as conn:
        rid = scalar(conn, "SELECT id FROM loan_reschedules WHERE loan_id = :l", l=loan)
    before = _state(engine)
    assert attempt(msa.staff["officer"], "SELECT approve_reschedule(:r, :me)", r=rid) == "42501"
    assert attempt(msa.staff["cashier"], "SELECT reject_reschedule(:r, :me, 'x')", r=rid) == "42501"
    assert attempt(nrb.staff["supervisor"], "SELECT approve_reschedule(:r, :me)", r=rid) == "P0101"
    assert attempt(nrb.staff["supervisor"], "SELECT reject_reschedule(:r, :me, 'x')", r=rid) == "P0101"
    assert _state(engine) == before
    assert attempt(msa.staff["supervisor"], "SELECT approve_reschedule(:r, :me)", r=rid) == "ok"
    for who, sees in ((nrb.staff["supervisor"], 0), (msa.staff["cashier"], 1)):
        with unit_of_work(app_engine, who) as session:
            assert session.execute(text("SELECT count(*) FROM loan_reschedules")).scalar() == sees
            assert session.execute(text("SELECT count(*) FROM payment_schedule_history")).scalar() == 12 * sees
    with engine.connect() as conn:
        audited = scalar(conn, "SELECT count(*) FROM audit_logs WHERE table_name IN "
                               "('loan_reschedules', 'payment_schedule_history') AND branch_id = :b", b=msa.id)
    assert audited == 2 + 12  # the request, its approval, and the twelve rows kept
    # A transferred customer's reschedules and old rows move with the loan to the new branch.
    with engine.begin() as conn:
        customer = scalar(conn, "SELECT customer_id FROM loans WHERE id = :l", l=loan)
        conn.execute(text("SELECT transfer_customer(:c, :b, 'Moved to Nairobi', :u)"),
                     {"c": customer, "b": nrb.id, "u": msa.staff["supervisor"].user_id})
        branches = conn.execute(text(
            "SELECT DISTINCT branch_id FROM loan_reschedules WHERE loan_id = :l UNION "
            "SELECT DISTINCT branch_id FROM payment_schedule_history WHERE loan_id = :l"), {"l": loan}).scalars()
        assert set(branches) == {nrb.id}


def test_a_loan_of_a_product_keeps_to_its_ranges_through_the_application_login(
        engine: Engine, app_engine: Engine, staff: Staff) -> None:
    from decimal import Decimal

    from db.engine import Actor
    from db.errors import ValidationError
    from db.repositories.reschedules import RescheduleRepository, RescheduleTerms
    from tests.ledger.helpers import make_customer
    from tests.ledger.test_loan_products import make_product

    with engine.begin() as conn:
        product = make_product(conn)  # flat, weekly, 18-30 %, 8-26 installments
        loan = scalar(conn, "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
                            "repayment_frequency, product_id, application_date, loan_officer_id, created_by) "
                            "VALUES (:c, 10000, 24, 'flat', 12, 'weekly', :p, :a, :o, :o) RETURNING id",
                      c=make_customer(conn, staff), p=product, a=TODAY - timedelta(days=60), o=staff.officer)
        conn.execute(text("SELECT approve_loan(:l, :s)"), {"l": loan, "s": staff.supervisor})
        conn.execute(text("SELECT disburse_loan(:l, :c, :d)"),
                     {"l": loan, "c": staff.cashier, "d": TODAY - timedelta(days=20)})
        fee = scalar(conn, "SELECT fee_amount FROM loans WHERE id = :l", l=loan)
        # The product's fee changes after the loan was disbursed: the loan keeps what it was charged.
        conn.execute(text("UPDATE loan_products SET fee_flat = 250 WHERE id = :p"), {"p": product})
    officer = RescheduleRepository(app_engine, Actor(staff.officer, "officer", "loan_officer"))
    supervisor = RescheduleRepository(app_engine, Actor(staff.supervisor, "supervisor", "supervisor"))
    next_due = TODAY + timedelta(days=7)
    for terms, field, said in ((RescheduleTerms(1, next_due, 0, Decimal("40")), "new_rate", "18 to 30 %"),
                               (RescheduleTerms(1, next_due, 15), "extra_installments", "8 to 26")):
        with pytest.raises(ValidationError) as info:
            officer.preview(loan, terms)
        assert list(info.value.fields) == [field] and said in info.value.fields[field], info.value.fields
    rid = officer.request(loan, RescheduleTerms(1, next_due, 4, Decimal("20")), "Slow season")
    assert supervisor.approve(rid) == 16
    with engine.connect() as conn:
        assert tuple(conn.execute(text("SELECT term, interest_rate, fee_amount FROM loans WHERE id = :l"),
                                  {"l": loan}).one()) == (16, Decimal("20.0000"), fee)
        assert scalar(conn, "SELECT sum(principal_due) FROM payment_schedules WHERE loan_id = :l",
                      l=loan) == Decimal("10000.00")
