"""The role matrix, enforced by PostgreSQL through unit_of_work (SET LOCAL ROLE + astrofin.user_id)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, create_engine, text

from db.engine import Actor, unit_of_work
from tests.ledger.helpers import TODAY, Staff, active_loan, make_loan, pay, refused, scalar

DENIED = "42501"  # insufficient_privilege


def actor(staff: Staff, role: str) -> Actor:
    user_id = {"cashier": staff.cashier, "loan_officer": staff.officer, "supervisor": staff.supervisor,
               "accountant": staff.accountant, "admin": staff.admin}[role]
    return Actor(user_id, role, role)


@pytest.fixture
def loan(engine: Engine, staff: Staff) -> int:
    with engine.begin() as conn:
        return active_loan(conn, staff)


def test_cashier_cannot_post_journal_entries_edit_the_audit_log_or_approve(engine: Engine, staff: Staff,
                                                                           loan: int) -> None:
    with refused(DENIED), unit_of_work(engine, actor(staff, "cashier")) as s:
        s.execute(text("INSERT INTO journal_entries (description) VALUES ('sneaky')"))
    with refused(DENIED), unit_of_work(engine, actor(staff, "cashier")) as s:
        s.execute(text("UPDATE audit_logs SET changed_by = NULL"))
    with engine.begin() as conn:
        pending = make_loan(conn, staff)
    with refused(DENIED), unit_of_work(engine, actor(staff, "cashier")) as s:
        s.execute(text("SELECT approve_loan(:l, :u)"), {"l": pending, "u": staff.cashier})


def test_admin_moves_no_money(engine: Engine, staff: Staff, loan: int) -> None:
    with refused(DENIED), unit_of_work(engine, actor(staff, "admin")) as s:
        s.execute(text("SELECT record_loan_payment(:l, 10, current_date, :u)"), {"l": loan, "u": staff.admin})
    with refused(DENIED), unit_of_work(engine, actor(staff, "admin")) as s:
        s.execute(text("SELECT write_off_loan(:l, :u, 'x')"), {"l": loan, "u": staff.admin})


@pytest.mark.parametrize("role", ["loan_officer", "accountant", "admin"])
def test_only_cashiers_and_supervisors_take_payments_or_disburse(engine: Engine, staff: Staff, loan: int,
                                                                 role: str) -> None:
    who = actor(staff, role)
    with refused(DENIED), unit_of_work(engine, who) as s:
        s.execute(text("SELECT record_loan_payment(:l, 10, current_date, :u)"), {"l": loan, "u": who.user_id})
    with refused(DENIED), unit_of_work(engine, who) as s:
        s.execute(text("SELECT * FROM preview_loan_payment(:l, 10, current_date)"), {"l": loan})
    with refused(DENIED), unit_of_work(engine, who) as s:
        s.execute(text("SELECT disburse_loan(:l, :u)"), {"l": loan, "u": who.user_id})


@pytest.mark.parametrize("role", ["cashier", "supervisor"])
def test_nobody_calls_the_inner_functions_directly(engine: Engine, staff: Staff, loan: int, role: str) -> None:
    who = actor(staff, role)
    with refused(DENIED), unit_of_work(engine, who) as s:
        s.execute(text("SELECT create_journal_entry(1, :u)"), {"u": who.user_id})
    with refused(DENIED), unit_of_work(engine, who) as s:
        s.execute(text("SELECT generate_payment_schedule(:l, :u)"), {"l": loan, "u": who.user_id})


@pytest.mark.parametrize("role", ["cashier", "loan_officer", "supervisor", "accountant", "admin"])
def test_everyone_previews_a_schedule(engine: Engine, staff: Staff, role: str) -> None:
    with unit_of_work(engine, actor(staff, role)) as s:
        rows = s.execute(text("SELECT * FROM preview_payment_schedule(10000, 24, 'declining_balance', 12, "
                              "'monthly', NULL)")).all()
    assert rows[0].total_due == Decimal("945.60")


def test_supervisor_cannot_approve_their_own_application(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        own = make_loan(conn, staff, created_by=staff.supervisor)
    with refused("P0105", "another supervisor must approve"), unit_of_work(engine, actor(staff, "supervisor")) as s:
        s.execute(text("SELECT approve_loan(:l, :u)"), {"l": own, "u": staff.supervisor})
    with refused("P0105"), unit_of_work(engine, actor(staff, "supervisor")) as s:
        s.execute(text("SELECT reject_loan(:l, :u, 'no')"), {"l": own, "u": staff.supervisor})


def test_cashier_cannot_act_in_the_supervisors_name(engine: Engine, staff: Staff, loan: int) -> None:
    with refused("P0106", "cannot record a payment in the name of user"), \
            unit_of_work(engine, actor(staff, "cashier")) as s:
        s.execute(text("SELECT record_loan_payment(:l, 10, current_date, :u)"), {"l": loan, "u": staff.supervisor})


def test_a_staff_role_without_a_signed_in_user_is_refused(engine: Engine, staff: Staff, loan: int) -> None:
    with refused("P0106", "without a signed-in user"), engine.begin() as conn:
        conn.execute(text("SET LOCAL ROLE astrofin_cashier"))
        conn.execute(text("SELECT record_loan_payment(:l, 10, current_date, :u)"), {"l": loan, "u": staff.cashier})


def test_the_users_role_must_match_the_sessions_role(engine: Engine, staff: Staff, loan: int) -> None:
    # A cashier's id in a session that took the supervisor role.
    with refused("P0106", "this session works as astrofin_supervisor"), \
            unit_of_work(engine, Actor(staff.cashier, "cashier", "supervisor")) as s:
        s.execute(text("SELECT record_loan_payment(:l, 10, current_date, :u)"), {"l": loan, "u": staff.cashier})


def test_the_workflow_through_the_roles(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = make_loan(conn, staff)
    with unit_of_work(engine, actor(staff, "supervisor")) as s:
        s.execute(text("SELECT approve_loan(:l, :u)"), {"l": loan, "u": staff.supervisor})
    with unit_of_work(engine, actor(staff, "cashier")) as s:
        s.execute(text("SELECT disburse_loan(:l, :u, :d)"),
                  {"l": loan, "u": staff.cashier, "d": TODAY - timedelta(days=30)})
        split = s.execute(text("SELECT * FROM preview_loan_payment(:l, 100, current_date)"), {"l": loan}).all()
        txn = s.execute(text("SELECT record_loan_payment(:l, 100, current_date, :u, 'k1')"),
                        {"l": loan, "u": staff.cashier}).scalar_one()
    assert [(r.interest, r.principal) for r in split] == [(Decimal("100.00"), Decimal("0.00"))]
    with unit_of_work(engine, actor(staff, "supervisor")) as s:
        s.execute(text("SELECT reverse_transaction(:t, :u, 'Duplicate')"), {"t": txn, "u": staff.supervisor})
        s.execute(text("SELECT write_off_loan(:l, :u, 'Fraud')"), {"l": loan, "u": staff.supervisor})
    with engine.connect() as conn:
        assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan) == "written_off"
        assert scalar(conn, "SELECT created_by FROM journal_entries WHERE transaction_id = :t", t=txn) == staff.cashier
        # The audit log names the application user, not the database role.
        assert scalar(conn, "SELECT changed_by FROM audit_logs WHERE table_name = 'transactions' "
                            "AND record_id = :t", t=txn) == staff.cashier


def test_supervisor_cannot_reverse_their_own_payment(engine: Engine, staff: Staff, loan: int) -> None:
    with engine.begin() as conn:
        txn = pay(conn, staff, loan, "10.00", by=staff.supervisor)
    with refused("P0105", "another supervisor must reverse"), unit_of_work(engine, actor(staff, "supervisor")) as s:
        s.execute(text("SELECT reverse_transaction(:t, :u, 'x')"), {"t": txn, "u": staff.supervisor})


def test_a_unit_of_work_acts_as_the_role_and_user_for_its_transaction_only(engine: Engine, staff: Staff) -> None:
    who = actor(staff, "cashier")
    one = create_engine(engine.url, pool_size=1, max_overflow=0)  # the next checkout is the same connection
    try:
        with unit_of_work(one, who) as s:
            row = s.execute(text("SELECT current_user, current_setting('astrofin.user_id'), pg_backend_pid()")).one()
            assert tuple(row)[:2] == ("astrofin_cashier", str(staff.cashier))
        with one.connect() as conn:  # the role and the user end with the transaction
            assert conn.scalar(text("SELECT pg_backend_pid()")) == row[2]
            assert conn.scalar(text("SELECT current_user")) == "postgres"
            assert conn.scalar(text("SELECT coalesce(current_setting('astrofin.user_id', true), '')")) == ""
    finally:
        one.dispose()
