"""mark_defaulted_loans and send_overdue_loan_notifications: as-of dates, roles, bad input."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.engine import unit_of_work
from tests.reporting.conftest import AS_OF, Inst


def status(factory, loan_id):
    return factory.scalar("SELECT status FROM loans WHERE id = :l", l=loan_id)


def sqlstate(exc_info):
    return exc_info.value.orig.sqlstate


def snapshot(engine):
    """Everything these functions may change, to show a refusal changed nothing."""
    with engine.connect() as conn:
        return (
            conn.execute(text("SELECT id, status FROM loans ORDER BY id")).all(),
            conn.execute(text("SELECT count(*) FROM sms_histories")).scalar(),
        )


# --- mark_defaulted_loans ---------------------------------------------------------------------------

def test_91_days_past_due_defaults_90_does_not(factory):
    late_91 = factory.overdue_loan(91)
    late_90 = factory.overdue_loan(90)
    current = factory.overdue_loan(0)
    marked = factory.scalar("SELECT mark_defaulted_loans(90, :u, :d)", u=factory.user_id("supervisor"), d=AS_OF)
    assert marked == 1
    assert (status(factory, late_91), status(factory, late_90), status(factory, current)) == (
        "defaulted", "active", "active")
    # A day later the 90-day loan is 91 days late; the one already defaulted is not counted again.
    marked = factory.scalar("SELECT mark_defaulted_loans(90, :u, :d)", u=factory.user_id("supervisor"),
                            d=AS_OF + timedelta(days=1))
    assert marked == 1
    assert status(factory, late_90) == "defaulted"


def test_only_active_loans_are_marked(factory):
    written_off = factory.overdue_loan(200, status="written_off")
    closed = factory.overdue_loan(200, status="closed")
    assert factory.scalar("SELECT mark_defaulted_loans(90, :u, :d)", u=factory.user_id("supervisor"), d=AS_OF) == 0
    assert (status(factory, written_off), status(factory, closed)) == ("written_off", "closed")


def test_supervisor_marks_through_the_application_and_the_audit_names_them(factory, engine):
    loan = factory.overdue_loan(120)
    supervisor = factory.actor("supervisor")
    with unit_of_work(engine, supervisor) as session:
        marked = session.execute(text("SELECT mark_defaulted_loans(90, :u, :d)"),
                                 {"u": supervisor.user_id, "d": AS_OF}).scalar()
    assert marked == 1
    changed_by = factory.scalar(
        "SELECT changed_by FROM audit_logs WHERE table_name = 'loans' AND record_id = :l AND action = 'UPDATE' "
        "AND new_values->>'status' = 'defaulted'", l=loan)
    assert changed_by == supervisor.user_id


def test_superuser_call_attributes_the_change_to_the_user_given(factory):
    loan = factory.overdue_loan(120)
    supervisor = factory.user_id("supervisor")
    factory.scalar("SELECT mark_defaulted_loans(90, :u, :d)", u=supervisor, d=AS_OF)
    assert factory.scalar(
        "SELECT changed_by FROM audit_logs WHERE table_name = 'loans' AND record_id = :l AND action = 'UPDATE'",
        l=loan) == supervisor


@pytest.mark.parametrize(("threshold", "user", "as_of", "code", "message"), [
    (None, "supervisor", AS_OF, "P0107", "threshold in days (got none)"),
    (-1, "supervisor", AS_OF, "P0107", "0 days or more"),
    (90, None, AS_OF, "P0107", "needs the id of the staff member"),
    (90, 987654, AS_OF, "P0101", "user 987654 not found"),
    (90, "officer", AS_OF, "P0106", "only supervisor may mark loans defaulted"),
    (90, "supervisor", date.today() + timedelta(days=3), "P0104", "in the future"),
])
def test_mark_defaulted_refuses_bad_input_and_changes_nothing(factory, engine, threshold, user, as_of, code,
                                                             message):
    factory.overdue_loan(120)
    before = snapshot(engine)
    user_id = factory.user_id(user) if isinstance(user, str) else user
    with pytest.raises(DBAPIError) as exc:
        factory.scalar("SELECT mark_defaulted_loans(:n, :u, :d)", n=threshold, u=user_id, d=as_of)
    assert sqlstate(exc) == code
    assert message in str(exc.value.orig)
    assert snapshot(engine) == before


def test_mark_defaulted_refuses_acting_under_another_name(factory, engine):
    factory.overdue_loan(120)
    before = snapshot(engine)
    # A supervisor signed in cannot pass another supervisor's id …
    with engine.begin() as conn:
        other = conn.execute(text(
            "INSERT INTO users (username, password_hash, full_name, role) "
            "VALUES ('super2', '$argon2id$x', 'Second Supervisor', 'supervisor') RETURNING id")).scalar_one()
    with pytest.raises(DBAPIError) as exc, unit_of_work(engine, factory.actor("supervisor")) as session:
        session.execute(text("SELECT mark_defaulted_loans(90, :u, :d)"), {"u": other, "d": AS_OF})
    assert sqlstate(exc) == "P0106"
    assert "cannot act as user" in str(exc.value.orig)
    # … and an officer may not call the function at all.
    officer = factory.actor("officer")
    with pytest.raises(DBAPIError) as exc, unit_of_work(engine, officer) as session:
        session.execute(text("SELECT mark_defaulted_loans(90, :u, :d)"), {"u": officer.user_id, "d": AS_OF})
    assert sqlstate(exc) == "42501"
    assert snapshot(engine)[0] == before[0]


def test_deactivated_supervisor_is_refused(factory, engine):
    factory.overdue_loan(120)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET is_active = false WHERE username = 'supervisor'"))
    with pytest.raises(DBAPIError) as exc:
        factory.scalar("SELECT mark_defaulted_loans(90, :u, :d)", u=factory.user_id("supervisor"), d=AS_OF)
    assert sqlstate(exc) == "P0106"
    assert "deactivated" in str(exc.value.orig)


# --- send_overdue_loan_notifications ----------------------------------------------------------------

def reminders(engine):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT h.loan_id, h.customer_id, h.phone_number, h.message, h.status, h.created_by, h.reminder_date, "
            "t.name AS template FROM sms_histories h JOIN sms_templates t ON t.id = h.template_id ORDER BY h.id"
        )).all()


def test_reminders_fill_the_template_and_queue_once_a_day(factory, engine):
    customer = factory.customer("Wanjiku", "Kamau", "+254712345678")
    loan = factory.overdue_loan(31, principal=Decimal("1234.50"), n=2, customer_id=customer)
    officer = factory.user_id("officer")
    assert factory.scalar("SELECT send_overdue_loan_notifications(1, :u, :d)", u=officer, d=AS_OF) == 1
    assert factory.scalar("SELECT send_overdue_loan_notifications(1, :u, :d)", u=officer, d=AS_OF) == 0
    rows = reminders(engine)
    assert len(rows) == 1
    row = rows[0]
    number = factory.scalar("SELECT loan_number FROM loans WHERE id = :l", l=loan)
    assert (row.loan_id, row.customer_id, row.phone_number, row.status, row.created_by, row.template) == (
        loan, customer, "+254712345678", "queued", officer, "overdue_reminder")
    # Installment 2 of 617.25 principal + 10.00 interest is the one overdue.
    assert row.message == (f"Dear Wanjiku, your loan {number} is 31 days overdue. Amount due: KES 627.25. "
                           "Please pay at the branch. AstroFinance")
    assert row.reminder_date == AS_OF
    # The next day is another day.
    assert factory.scalar("SELECT send_overdue_loan_notifications(1, :u, :d)", u=officer,
                          d=AS_OF + timedelta(days=1)) == 1


def test_every_placeholder_is_filled(factory, engine):
    with engine.begin() as conn:
        conn.execute(text(
            "UPDATE sms_templates SET template_text = '{first_name}|{last_name}|{loan_number}|{days_past_due}|"
            "{amount_overdue}|{customer_number}' WHERE name = 'overdue_reminder'"))
    customer = factory.customer("{days_past_due}", "O'Brien", "+254700000099")
    loan = factory.loan([Inst(AS_OF - timedelta(days=d), Decimal("600000.00"), Decimal("5000.50"))
                         for d in (60, 45)], customer_id=customer)
    factory.scalar("SELECT send_overdue_loan_notifications(30, :u, :d)", u=factory.user_id("supervisor"), d=AS_OF)
    number = factory.scalar("SELECT loan_number FROM loans WHERE id = :l", l=loan)
    cnumber = factory.scalar("SELECT customer_number FROM customers WHERE id = :c", c=customer)
    (row,) = reminders(engine)
    assert row.message == f"{{days_past_due}}|O'Brien|{number}|60|KES 1,210,001.00|{cnumber}"


def test_reminders_skip_customers_without_phone_and_loans_not_late_enough(factory, engine):
    no_phone = factory.overdue_loan(40, customer_id=factory.customer("Kipchoge", "Keino", None))
    late = factory.overdue_loan(40)
    factory.overdue_loan(5)
    factory.overdue_loan(0)
    defaulted = factory.overdue_loan(100, status="defaulted")
    factory.overdue_loan(100, status="written_off")
    sent = factory.scalar("SELECT send_overdue_loan_notifications(30, :u, :d)", u=factory.user_id("officer"),
                          d=AS_OF)
    assert sent == 2
    assert {r.loan_id for r in reminders(engine)} == {late, defaulted}
    assert no_phone not in {r.loan_id for r in reminders(engine)}


def test_reminders_through_the_application_as_an_officer(factory, engine):
    factory.overdue_loan(10)
    officer = factory.actor("officer")
    with unit_of_work(engine, officer) as session:
        sent = session.execute(text("SELECT send_overdue_loan_notifications(7, :u, :d)"),
                               {"u": officer.user_id, "d": AS_OF}).scalar()
    assert sent == 1
    with pytest.raises(DBAPIError) as exc, unit_of_work(engine, factory.actor("cashier")) as session:
        session.execute(text("SELECT send_overdue_loan_notifications(7, :u, :d)"),
                        {"u": factory.user_id("cashier"), "d": AS_OF})
    assert sqlstate(exc) == "42501"


def test_a_reminder_queued_today_by_hand_counts(factory, engine):
    loan = factory.overdue_loan(10)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO sms_histories (customer_id, loan_id, template_id, phone_number, message) "
            "SELECT l.customer_id, l.id, t.id, '+254700000001', 'sent by hand' FROM loans l, sms_templates t "
            "WHERE l.id = :l AND t.name = 'overdue_reminder'"), {"l": loan})
    assert factory.scalar("SELECT send_overdue_loan_notifications(1, :u)", u=factory.user_id("officer")) == 0


@pytest.mark.parametrize(("days", "user", "as_of", "code", "message"), [
    (None, "officer", AS_OF, "P0107", "number of days overdue (got none)"),
    (0, "officer", AS_OF, "P0107", "at least 1 day overdue"),
    (-3, "officer", AS_OF, "P0107", "at least 1 day overdue"),
    (30, None, AS_OF, "P0107", "needs the id of the staff member"),
    (30, 987654, AS_OF, "P0101", "user 987654 not found"),
    (30, "cashier", AS_OF, "P0106", "only loan_officer or supervisor may send overdue reminders"),
    (30, "officer", date.today() + timedelta(days=1), "P0104", "in the future"),
])
def test_reminders_refuse_bad_input_and_change_nothing(factory, engine, days, user, as_of, code, message):
    factory.overdue_loan(45)
    before = snapshot(engine)
    user_id = factory.user_id(user) if isinstance(user, str) else user
    with pytest.raises(DBAPIError) as exc:
        factory.scalar("SELECT send_overdue_loan_notifications(:n, :u, :d)", n=days, u=user_id, d=as_of)
    assert sqlstate(exc) == code
    assert message in str(exc.value.orig)
    assert snapshot(engine) == before


def test_reminders_need_the_active_template(factory, engine):
    factory.overdue_loan(45)
    with engine.begin() as conn:
        conn.execute(text("UPDATE sms_templates SET is_active = false WHERE name = 'overdue_reminder'"))
    with pytest.raises(DBAPIError) as exc:
        factory.scalar("SELECT send_overdue_loan_notifications(30, :u, :d)", u=factory.user_id("officer"), d=AS_OF)
    assert sqlstate(exc) == "P0101"
    assert "overdue_reminder" in str(exc.value.orig)


def test_a_payment_committed_while_marking_waits_keeps_the_loan_active(factory, engine):
    loan = factory.overdue_loan(120)
    payer = engine.connect()
    payer.begin()
    payer.execute(text("SELECT 1 FROM loans WHERE id = :l FOR UPDATE"), {"l": loan})
    payer.execute(text(
        "UPDATE payment_schedules SET principal_paid = principal_due, interest_paid = interest_due, "
        "total_paid = total_due, status = 'paid', paid_date = :d WHERE loan_id = :l AND due_date < :d"),
        {"l": loan, "d": AS_OF})
    result: list[object] = []
    marker = threading.Thread(target=lambda: result.append(factory.scalar(
        "SELECT mark_defaulted_loans(90, :u, :d)", u=factory.user_id("supervisor"), d=AS_OF)))
    marker.start()
    marker.join(1.0)
    assert marker.is_alive(), "marking should wait for the loan being paid"
    payer.commit()
    payer.close()
    marker.join(10)
    assert result == [0]
    assert status(factory, loan) == "active"
