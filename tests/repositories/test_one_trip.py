"""Exact-key searches go as one message (db/one_trip.py), and a pooled connection is reused without a ping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from db.engine import make_engine
from db.errors import Refused
from db.repositories.customers import CustomerRepository
from db.validation import CustomerInput

TODAY = date(2026, 11, 29)


def _traced(engine, action: Callable[[], object], tmp_path: Path) -> list[str]:
    """The protocol messages (libpq's trace) exchanged while `action` ran on the pool's one connection; each
    ReadyForQuery the server sends ends one round trip. Checking the connection out to stop the trace is traced
    too, so a ping on checkout would show."""
    trace = tmp_path / "trace.txt"
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        conn.commit()
    handle = trace.open("w")
    with engine.connect() as conn:  # the same connection (a pool of one), traced from here on
        conn.connection.driver_connection.pgconn.trace(handle.fileno())
    try:
        action()
    finally:
        with engine.connect() as conn:
            conn.connection.driver_connection.pgconn.untrace()
        handle.close()
    return trace.read_text().splitlines()


def _round_trips(lines: list[str]) -> int:
    return sum("ReadyForQuery" in line for line in lines)


@pytest.fixture
def one_connection_engine(db_url):
    """The application's engine as it connects (the login role astrofin_app), with one pooled connection."""
    engine = make_engine(db_url.set(username="astrofin_app"), pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def test_exact_key_searches_are_one_round_trip(one_connection_engine, actors, tmp_path):
    officer = CustomerRepository(one_connection_engine, actors["officer"])
    made = officer.create(CustomerInput(first_name="Achieng", last_name="Otieno", phone="+254712345678",
                                        national_id="24681357"), today=TODAY)
    for typed in (made.customer_number, "0712 345 678", "345678", "24681357"):
        found: list = []
        lines = _traced(one_connection_engine, lambda t=typed, into=found: into.append(officer.search(t)), tmp_path)
        assert [r.id for r in found[0].rows] == [made.id], typed
        assert _round_trips(lines) == 1, "\n".join(lines)
        sent = [line for line in lines if "\tF\t" in line]
        assert len(sent) == 1 and "Query" in sent[0] and "set_config" in sent[0], "\n".join(lines)


def test_a_unit_of_work_costs_more_round_trips(one_connection_engine, actors, tmp_path):
    """What the one message saves: a name search (a unit of work) makes BEGIN, the settings, the query and
    COMMIT round trips."""
    officer = CustomerRepository(one_connection_engine, actors["officer"])
    lines = _traced(one_connection_engine, lambda: officer.search("Kamau"), tmp_path)
    assert _round_trips(lines) >= 4, "\n".join(lines)


def test_nothing_of_the_search_stays_on_the_pooled_connection(one_connection_engine, actors):
    officer = CustomerRepository(one_connection_engine, actors["officer"])
    officer.search("C-000001")
    with one_connection_engine.connect() as conn:
        assert conn.connection.driver_connection.autocommit is False
        row = conn.execute(text("SELECT current_user::text, coalesce(current_setting('astrofin.user_id', true), ''),"
                                " session_user::text")).one()
    assert row[0] == row[2] and row[1] == ""


def test_the_search_runs_under_the_persons_row_level_security(one_connection_engine, actors):
    """The customer found by number as the officer; the same connection without the officer's settings (the
    login role alone) may not read customers at all."""
    officer = CustomerRepository(one_connection_engine, actors["officer"])
    made = officer.create(CustomerInput(first_name="Wanjiru", last_name="Kamau"), today=TODAY)
    assert [r.id for r in officer.search(made.customer_number).rows] == [made.id]
    with one_connection_engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text("SELECT count(*) FROM customers"))


def test_a_refusal_in_one_trip_is_a_message_and_the_connection_goes_on(one_connection_engine, actors,
                                                                       monkeypatch):
    import db.one_trip as one_trip

    monkeypatch.setattr(one_trip, "_SETTINGS", "SELECT set_config('role', 'astrofin_no_such_role', true);\n")
    officer = CustomerRepository(one_connection_engine, actors["officer"])
    with pytest.raises(Refused):
        officer.search("C-000001")
    monkeypatch.undo()
    assert officer.search("Kamau").rows == ()
    assert officer.search("C-000001").rows == ()


def test_a_connection_the_server_ended_is_replaced_without_an_error(one_connection_engine, actors, db_url):
    officer = CustomerRepository(one_connection_engine, actors["officer"])
    made = officer.create(CustomerInput(first_name="Otieno", last_name="Baraka"), today=TODAY)
    with one_connection_engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.commit()
    admin = make_engine(db_url)
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid}).scalar_one()
    finally:
        admin.dispose()
    assert [r.id for r in officer.search(made.customer_number).rows] == [made.id]
    with one_connection_engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


def test_a_quiet_pooled_connection_is_checked_out_without_a_ping(one_connection_engine, tmp_path):
    assert _traced(one_connection_engine, lambda: None, tmp_path) == []


def test_a_connection_whose_socket_spoke_while_idle_is_pinged_and_then_used(one_connection_engine, actors, db_url):
    """A message that arrives while a pooled connection is idle (here a notification) makes the checkout ping it;
    the ping leaves no transaction open, so the next search (one message, in autocommit) still goes."""
    import select
    import time

    officer = CustomerRepository(one_connection_engine, actors["officer"])
    made = officer.create(CustomerInput(first_name="Njeri", last_name="Otieno"), today=TODAY)
    with one_connection_engine.connect() as conn:
        conn.exec_driver_sql("LISTEN astrofin_probe")
        conn.commit()
        fileno = conn.connection.driver_connection.fileno()
    admin = make_engine(db_url)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("NOTIFY astrofin_probe")
            conn.commit()
    finally:
        admin.dispose()
    deadline = time.monotonic() + 5
    while not select.select([fileno], [], [], 0.05)[0]:
        assert time.monotonic() < deadline, "the notification never arrived"
    assert [r.id for r in officer.search(made.customer_number).rows] == [made.id]
    assert [r.id for r in officer.search("Otieno").rows] == [made.id]


def test_a_customer_save_and_a_loan_application_are_one_round_trip_each(one_connection_engine, engine, actors,
                                                                        tmp_path):
    """Each save of the counter goes as one message (db/one_trip.py): the person's settings, the write as one statement
    guarded by the form's key, and the reads of what it wrote. A refusal in that message comes out beside its field
    with nothing written, also in one round trip."""
    from decimal import Decimal

    from db.errors import ValidationError
    from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms

    officer = CustomerRepository(one_connection_engine, actors["officer"])
    person = CustomerInput(first_name="Akinyi", last_name="Trip", phone="+254712345679", national_id="11223344")
    done: list = []
    for save in (lambda: officer.create(person, today=TODAY, idempotency_key="trip-1"),
                 lambda: officer.create(person, today=TODAY, idempotency_key="trip-1"),
                 lambda: officer.update(done[0].id, CustomerInput(first_name="Akinyi", last_name="Trips"),
                                        today=TODAY),
                 lambda: LoanRepository(one_connection_engine, actors["officer"]).apply(
                     LoanApplication(done[0].id, LoanTerms(Decimal("1000.00"), Decimal("24.00"), "flat", 6, "monthly")),
                     today=TODAY, idempotency_key="trip-2")):
        lines = _traced(one_connection_engine, lambda s=save: done.append(s()), tmp_path)
        assert _round_trips(lines) == 1, "\n".join(lines)
    made, again, edited, loan = done
    assert again == made and edited.data.last_name == "Trips" and edited.data.national_id is None
    assert loan.customer_id == made.id and loan.status == "pending" and loan.created_by == actors["officer"].user_id
    assert officer.get(made.id).loans[0].id == loan.id
    clash = CustomerInput(first_name="Other", last_name="Person", national_id="24681357")
    officer.create(clash, today=TODAY)
    lines = _traced(one_connection_engine, lambda: done.append(
        pytest.raises(ValidationError, officer.update, made.id, clash, today=TODAY)), tmp_path)
    assert _round_trips(lines) == 1, "\n".join(lines)
    assert "already has this national ID" in done[-1].value.fields["national_id"]
    assert officer.get(made.id).data == edited.data
    officer.update(made.id, edited.data, today=TODAY)  # nothing changed: nothing written, as the ORM did
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_logs WHERE table_name = 'customers' "
                                 "AND action = 'UPDATE' AND record_id = :c"), {"c": made.id}).scalar_one() == 1
