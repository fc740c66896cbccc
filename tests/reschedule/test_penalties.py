"""A reschedule of a loan whose tail carries late penalties: each charge's unpaid part is moved onto the new schedule
('keep') or waived by the reschedule ('waive'), the charges leave the rows they were on, and the rule "an
installment's penalty_due is its charges less their waivers" still holds on every row."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from db.repositories.penalties import PenaltyRepository
from tests.ledger.helpers import TODAY, Staff, pay, refused, scalar
from tests.penalties import book
from tests.reschedule.helpers import approve, request


def charge_rows(conn: Connection, loan: int) -> list[Any]:
    return list(conn.execute(text(
        "SELECT c.id, c.installment_number, c.occurrence, c.schedule_id, c.rescheduled_id, c.amount, "
        "c.waived_amount, c.moved_amount, c.waive_reason, c.waived_by, loan_charge_unpaid(c.id) AS unpaid "
        "FROM loan_charges c WHERE c.loan_id = :l ORDER BY c.installment_number, c.occurrence"), {"l": loan}))


def penalty_rule_holds(conn: Connection, loan: int) -> dict[int, Decimal]:
    """Per installment, penalty_due less its attached charges (amount - waived - moved): what a reschedule carried."""
    return dict(conn.execute(text(
        "SELECT s.installment_number, s.penalty_due - coalesce((SELECT "
        "sum(c.amount - c.waived_amount - c.moved_amount) FROM loan_charges c WHERE c.schedule_id = s.id), 0) "
        "FROM payment_schedules s WHERE s.loan_id = :l ORDER BY 1"), {"l": loan}).tuples().all())


def loan_with_charges(engine: Engine, staff: Staff) -> int:
    """The oracle loan (5 % of the overdue installment, grace 3, every 30 days), charged up to 2026-05-10 on
    installments 1 to 4, then paid all of installment 1 and part of installment 2's penalties."""
    product = book.product(engine, interval=30)
    loan = book.loan(engine, product)
    assert book.run(engine, date(2026, 5, 10)) > 4
    with engine.begin() as conn:
        first = scalar(conn, "SELECT total_due FROM payment_schedules WHERE loan_id = :l AND installment_number = 1",
                       l=loan)
        second_penalty = scalar(conn, "SELECT penalty_due FROM payment_schedules WHERE loan_id = :l "
                                      "AND installment_number = 2", l=loan)
        pay(conn, staff, loan, first + (second_penalty * Decimal("0.6")).quantize(Decimal("0.01")))
    return loan


@pytest.mark.parametrize("arrears", ["keep", "waive"])
def test_charges_on_the_tail_are_moved_or_waived_and_leave_the_replaced_rows(engine: Engine, staff: Staff,
                                                                             arrears: str) -> None:
    loan = loan_with_charges(engine, staff)
    with engine.begin() as conn:
        before = {c.id: c for c in charge_rows(conn, loan)}
        assert {c.installment_number for c in before.values()} == {1, 2, 3, 4}
        partial = [c for c in before.values() if c.installment_number == 2]
        assert any(c.unpaid == 0 for c in partial) and any(c.unpaid > 0 for c in partial)  # partly paid
        unpaid_tail = sum(c.unpaid for c in before.values() if c.installment_number >= 2)
        rid = request(conn, staff, loan, from_installment=2, new_next_due_date=TODAY + timedelta(days=30),
                      extra_installments=2, arrears_handling=arrears)
        approve(conn, staff, rid)

        after = {c.id: c for c in charge_rows(conn, loan)}
        assert after.keys() == before.keys()
        for cid, old in before.items():
            new = after[cid]
            assert new.unpaid == 0, new
            if old.installment_number == 1:                       # paid before the tail: untouched
                assert new == old
                continue
            assert new.rescheduled_id == rid
            assert new.amount == old.amount
            if arrears == "keep":
                assert (new.moved_amount, new.waived_amount) == (old.unpaid, old.waived_amount)
            else:
                assert (new.moved_amount, new.waived_amount) == (Decimal(0), old.waived_amount + old.unpaid)
                if old.unpaid > 0:
                    assert new.waived_by == staff.supervisor
                    assert f"reschedule {rid}" in new.waive_reason and "Harvest failed" in new.waive_reason
            # The partly paid installment keeps its charges (what of them it received); the others are detached.
            assert (new.schedule_id is not None) == (old.installment_number == 2)

        # Installment 2 closed at what it received; the new first installment (3) carries the unpaid penalties.
        carried = penalty_rule_holds(conn, loan)
        assert carried == {n: (unpaid_tail if arrears == "keep" and n == 3 else Decimal(0)) for n in carried}
        assert scalar(conn, "SELECT arrears_penalty FROM loan_reschedules WHERE id = :r", r=rid) == unpaid_tail

        # A charge of the old tail is history: never waived again, whatever is asked.
        moved = next(c for c in before.values() if c.installment_number == 3)
        with refused("P0111", "reschedule"), conn.begin_nested():
            conn.execute(text("SELECT waive_charge(:c, 1, 'goodwill', :s)"), {"c": moved.id, "s": staff.supervisor2})
    # The next runs start the new installments' own occurrences; nothing is charged again on the old tail.
    with engine.begin() as conn:
        conn.execute(text("SELECT apply_overdue_penalties(:d)"), {"d": TODAY})
        assert [c.id for c in charge_rows(conn, loan)] == sorted(before, key=lambda c: (before[c].installment_number,
                                                                                        before[c].occurrence))


def test_carried_penalty_is_paid_before_the_new_rows_own_charges(engine: Engine, staff: Staff) -> None:
    """After a 'keep' reschedule the first new installment owes the carried penalties first (they are older), then the
    charges written on it later; waiving one of those never reaches below what it was paid."""
    loan = loan_with_charges(engine, staff)
    with engine.begin() as conn:
        rid = request(conn, staff, loan, from_installment=2, new_next_due_date=TODAY, arrears_handling="keep")
        approve(conn, staff, rid)
        carried = penalty_rule_holds(conn, loan)[3]
        assert carried > 0
        # The first new installment falls due today; pretend the calendar ran on by moving it back 20 days.
        conn.execute(text("UPDATE payment_schedules SET due_date = due_date - 20 WHERE loan_id = :l "
                          "AND installment_number = 3"), {"l": loan})
        conn.execute(text("UPDATE loans SET oldest_unpaid_due_date = (SELECT min(due_date) FROM payment_schedules "
                          "WHERE loan_id = :l AND paid_date IS NULL) WHERE id = :l"), {"l": loan})
        assert scalar(conn, "SELECT apply_overdue_penalties(:d)", d=TODAY) == 1
        [new] = [c for c in charge_rows(conn, loan) if c.rescheduled_id is None and c.installment_number == 3]
        assert (new.occurrence, new.unpaid) == (1, new.amount)
        # Pay the carried penalty and a cent: the new charge is a cent paid.
        pay(conn, staff, loan, carried + Decimal("0.01"))
        [new] = [c for c in charge_rows(conn, loan) if c.id == new.id]
        assert new.unpaid == new.amount - Decimal("0.01")
        with refused("P0111", "Only"), conn.begin_nested():
            conn.execute(text("SELECT waive_charge(:c, :a, 'goodwill', :s)"),
                         {"c": new.id, "a": new.amount, "s": staff.supervisor})
        conn.execute(text("SELECT waive_charge(:c, :a, 'goodwill', :s)"),
                     {"c": new.id, "a": new.unpaid, "s": staff.supervisor})
        holds = penalty_rule_holds(conn, loan)
        assert holds[3] == carried
        assert scalar(conn, "SELECT penalty_due = penalty_paid FROM payment_schedules WHERE loan_id = :l "
                            "AND installment_number = 3", l=loan)


@pytest.mark.parametrize("arrears", ["keep", "waive"])
def test_the_penalties_panel_and_report_show_what_the_reschedule_did(engine: Engine, app_engine: Engine, staff: Staff,
                                                                     arrears: str) -> None:
    loan = loan_with_charges(engine, staff)
    people = book.staff(engine)
    repo = PenaltyRepository(app_engine, people["supervisor"])
    waived_before = sum(m.waived for m in repo.monthly())
    charged_before = sum(m.charged for m in repo.monthly())
    unpaid = sum(c.unpaid for c in repo.charges(loan) if c.installment_number >= 2)
    with engine.begin() as conn:
        rid = request(conn, staff, loan, from_installment=2, new_next_due_date=TODAY + timedelta(days=30),
                      arrears_handling=arrears)
        approve(conn, staff, rid, by=staff.supervisor2)
    shown = [c for c in repo.charges(loan) if c.installment_number == 3]
    assert shown and all(c.unpaid == 0 and c.rescheduled_id == rid for c in shown)
    if arrears == "keep":
        assert all(c.note == f"moved to the new schedule by reschedule {rid}" and c.moved_amount == c.amount
                   for c in shown)
        assert sum(m.waived for m in repo.monthly()) == waived_before
    else:
        assert all(c.note.startswith(f"Waived by reschedule {rid}: Harvest failed") and c.moved_amount == 0
                   for c in shown)
        # The reschedule's waiver counts as waived in the month of the approval; what was charged stays charged.
        assert sum(m.waived for m in repo.monthly()) == waived_before + unpaid
    assert sum(m.charged for m in repo.monthly()) == charged_before


def test_penalties_carried_then_waived_by_a_second_reschedule_count_as_waived(engine: Engine, app_engine: Engine,
                                                                              staff: Staff) -> None:
    """charged = waived + collected + still owed, through a 'keep' reschedule then a 'waive' one of the same rows."""
    loan = loan_with_charges(engine, staff)
    repo = PenaltyRepository(app_engine, book.staff(engine)["supervisor"])

    def totals() -> tuple[Decimal, Decimal, Decimal]:
        months = repo.monthly()
        return (sum((m.charged for m in months), Decimal(0)), sum((m.waived for m in months), Decimal(0)),
                sum((m.collected for m in months), Decimal(0)))

    def still_owed(conn: Connection) -> Decimal:
        return scalar(conn, "SELECT sum(penalty_due - penalty_paid) FROM payment_schedules WHERE loan_id = :l", l=loan)

    with engine.begin() as conn:
        first = request(conn, staff, loan, from_installment=2, new_next_due_date=TODAY + timedelta(days=30),
                        arrears_handling="keep")
        approve(conn, staff, first)
        carried = still_owed(conn)
        charged, waived, collected = totals()
        assert carried > 0 and charged == waived + collected + carried
        second = request(conn, staff, loan, from_installment=3, new_next_due_date=TODAY + timedelta(days=40),
                         arrears_handling="waive")
        approve(conn, staff, second)
        assert scalar(conn, "SELECT arrears_penalty_carried FROM loan_reschedules WHERE id = :r", r=second) == carried
        assert still_owed(conn) == 0
    charged_after, waived_after, collected_after = totals()
    assert (charged_after, collected_after) == (charged, collected)
    assert waived_after == waived + carried
