"""perform_database_maintenance(): what it does and reports, who may run it, its setting."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db import audit
from db.engine import unit_of_work
from tests.reporting.conftest import Inst


def test_maintenance_as_admin_does_and_reports_everything(factory, engine):
    today = date.today()
    late = factory.loan([Inst(today - timedelta(days=100), Decimal("500.00")),
                         Inst(today + timedelta(days=20), Decimal("500.00"))])
    edge = factory.loan([Inst(today - timedelta(days=90), Decimal("1500.00"))])
    admin = factory.actor("admin")
    with unit_of_work(engine, admin) as session:
        report = session.execute(text("SELECT perform_database_maintenance()")).scalar()
    assert report["default_threshold_days"] == 90
    assert report["loans_marked_defaulted"] == 1
    assert factory.scalar("SELECT status FROM loans WHERE id = :l", l=late) == "defaulted"
    assert factory.scalar("SELECT status FROM loans WHERE id = :l", l=edge) == "active"
    # Both loans are more than 30 days late, so all 2,500.00 still owed is at risk.
    assert Decimal(str(report["par30"])) == Decimal("100.00")
    assert report["monthly_summary_refreshed"] is True
    assert report["audit_rows_sealed"] > 0 and report["audit_rows_unsealed"] == 0
    assert set(report["table_sizes_bytes"]) >= {"loans", "audit_logs", "mvw_monthly_financial_summary"}
    assert all(size > 0 for size in report["table_sizes_bytes"].values())
    assert report["table_rows_estimate"]["loans"] == 2
    assert "audit_logs" in report["analyzed_tables"] and report["duration_ms"] >= 0
    # The status change is audited under the admin and sealed in the same transaction.
    assert factory.scalar(
        "SELECT changed_by FROM audit_logs WHERE table_name = 'loans' AND record_id = :l AND action = 'UPDATE'",
        l=late) == admin.user_id
    with engine.connect() as conn:
        assert audit.verify(conn).ok
        assert conn.execute(text("SELECT count(*) FROM mvw_monthly_financial_summary")).scalar() >= 1


def test_threshold_comes_from_the_setting(factory, engine):
    today = date.today()
    loan = factory.loan([Inst(today - timedelta(days=40), Decimal("500.00"))])
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL astrofin.default_threshold_days = '30'"))
        report = conn.execute(text("SELECT perform_database_maintenance()")).scalar()
    assert (report["default_threshold_days"], report["loans_marked_defaulted"]) == (30, 1)
    assert factory.scalar("SELECT status FROM loans WHERE id = :l", l=loan) == "defaulted"


def test_a_bad_setting_is_refused_and_nothing_changes(factory, engine):
    loan = factory.loan([Inst(date.today() - timedelta(days=400), Decimal("500.00"))])
    with pytest.raises(DBAPIError) as exc, engine.begin() as conn:
        conn.execute(text("SET LOCAL astrofin.default_threshold_days = 'ninety'"))
        conn.execute(text("SELECT perform_database_maintenance()"))
    assert exc.value.orig.sqlstate == "P0107"
    assert "astrofin.default_threshold_days must be a whole number" in str(exc.value.orig)
    assert factory.scalar("SELECT status FROM loans WHERE id = :l", l=loan) == "active"


@pytest.mark.parametrize("username", ["cashier", "officer", "supervisor", "accountant"])
def test_only_admin_runs_maintenance(factory, engine, username):
    with pytest.raises(DBAPIError) as exc, unit_of_work(engine, factory.actor(username)) as session:
        session.execute(text("SELECT perform_database_maintenance()"))
    assert exc.value.orig.sqlstate == "42501"


def test_maintenance_refuses_a_session_user_who_is_not_admin(factory, engine):
    with pytest.raises(DBAPIError) as exc, engine.begin() as conn:
        conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(factory.user_id("cashier"))})
        conn.execute(text("SELECT perform_database_maintenance()"))
    assert exc.value.orig.sqlstate == "P0106"
