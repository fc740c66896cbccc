"""The repository as the screens use it, through the application's login: previews beside the tail they replace,
requests, decisions, the loan's old schedules, the month's report and the overdue queue's mark."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from db.engine import Actor
from db.errors import Refused, ValidationError
from db.repositories.reports import ReportRepository
from db.repositories.reschedules import RescheduleRepository, RescheduleTerms
from tests.ledger.helpers import TODAY, Staff, active_loan


def _actor(staff: Staff, who: str) -> Actor:
    role = {"officer": "loan_officer", "supervisor": "supervisor", "supervisor2": "supervisor"}[who]
    return Actor(getattr(staff, who), who, role, who.title())


def test_request_preview_approve_history_report_and_queue_mark(engine: Engine, app_engine: Engine,
                                                               staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff, disbursed=TODAY - timedelta(days=100), first=TODAY - timedelta(days=70))
    officer = RescheduleRepository(app_engine, _actor(staff, "officer"))
    supervisor = RescheduleRepository(app_engine, _actor(staff, "supervisor"))
    tail = officer.loan_tail(loan)
    assert (tail.installments, tail.first_unpaid, tail.status) == (12, 1, "active")
    terms = RescheduleTerms(1, TODAY + timedelta(days=14), 6, Decimal("18"), 1, "waive")
    new = officer.preview(loan, terms)
    assert len(new) == 18 and new[0].principal_due == 0 and sum(r.principal_due for r in new) == Decimal("10000")
    assert len(officer.old_tail(loan, 1)) == 12
    with pytest.raises(ValidationError) as info:
        officer.preview(loan, RescheduleTerms(1, TODAY - timedelta(days=200)))
    assert list(info.value.fields) == ["new_next_due_date"]
    # Markup in the reason is kept as typed (the screens show it escaped).
    rid = officer.request(loan, terms, "[b]Drought[/b] in the valley")
    with pytest.raises(Refused, match="your role may not do this"):
        officer.approve(rid)
    [pending] = supervisor.pending()
    assert (pending.id, pending.reason, pending.requested_by_name) == (rid, "[b]Drought[/b] in the valley",
                                                                      "Grace Wanjiru")
    assert supervisor.approve(rid, "Seen the rain records") == 18
    [done] = supervisor.for_loan(loan)
    assert (done.status, done.outstanding_moved, done.previous_term, done.new_term) == (
        "approved", Decimal("10000.00"), 12, 18)
    old = supervisor.history(loan)
    assert [o.row.installment_number for o in old] == list(range(1, 13))
    assert [m.reschedules for m in supervisor.monthly()] == [1]
    assert supervisor.monthly()[0].outstanding_moved == Decimal("10000.00")
    assert supervisor.pending() == []
    # Overdue again after the new first due date: the queue marks it as rescheduled.
    later = TODAY + timedelta(days=20)
    queue = ReportRepository(app_engine, _actor(staff, "supervisor")).overdue_queue(later)
    assert [(r.loan_id, r.rescheduled) for r in queue.rows] == [(loan, True)]
