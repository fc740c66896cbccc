"""Repositories behind the back office screens: audit log, SMS templates, PAR trend, chart of accounts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from db.errors import Refused, ValidationError
from db.repositories.accounting import AccountingRepository
from db.repositories.audit_log import AuditFilter, AuditLogRepository, field_changes
from db.repositories.chart import ChartRepository
from db.repositories.portfolio import PortfolioRepository, month_ends
from db.repositories.reports import ReportRepository
from db.repositories.sms_templates import SmsTemplateRepository, preview, template_problem
from db.repositories.users import UserRepository
from tests.repositories.conftest import make_active_loan


def test_audit_log_filters_pages_and_shows_old_and_new_values(engine, actors):
    users = UserRepository(engine, actors["admin"])
    made = users.create("jane.teller", "Jane Teller", "cashier", "counter-pass-1", "counter-pass-1")
    users.change_role(made.id, "supervisor")
    repo = AuditLogRepository(engine, actors["admin"])

    page = repo.list(AuditFilter(table="users", record_id=made.id))
    assert [row.action for row in page.rows] == ["UPDATE", "INSERT"]
    update = page.rows[0]
    assert update.changed_by_name == "admin"
    changed = {c.field: (c.old, c.new) for c in field_changes(update) if c.changed}
    assert changed["role"] == ("cashier", "supervisor")
    assert isinstance(update.new_values, dict) and update.new_values["failed_login_count"] == 0

    assert repo.list(AuditFilter(username="ADMIN", table="users")).rows[0].id == update.id
    assert repo.list(AuditFilter(username="nobody")).rows == []
    today = date.today()
    assert repo.list(AuditFilter(table="users", date_from=today + timedelta(days=1))).rows == []
    assert len(repo.list(AuditFilter(table="users", date_from=today, date_to=today)).rows) >= 2

    first = repo.list(limit=1)
    assert first.next_before_id == first.rows[0].id
    second = repo.list(before_id=first.next_before_id, limit=1)
    assert second.rows[0].id < first.rows[0].id

    with pytest.raises(ValidationError) as refused:
        repo.list(AuditFilter(table="pg_authid; --", date_from=today, date_to=today - timedelta(days=1)))
    assert set(refused.value.fields) == {"table", "date_to"}


def test_audit_chain_check_seals_then_verifies_as_admin(engine, actors):
    UserRepository(engine, actors["admin"]).create("kim", "Kim Otieno", "cashier", "counter-pass-1",
                                                   "counter-pass-1")
    result = AuditLogRepository(engine, actors["admin"]).verify()
    assert result.ok and result.rows_checked > 0 and result.unsealed == 0
    assert AuditLogRepository(engine, actors["admin"]).list(AuditFilter(table="users")).rows[0].sealed


def test_audit_values_keep_money_exact(engine, actors):
    loan = make_active_loan(engine, actors, "Ann", "Exact", days_ago=5)
    rows = AuditLogRepository(engine, actors["admin"]).list(AuditFilter(table="loans", record_id=loan.id)).rows
    principal = rows[-1].new_values["principal_amount"]  # type: ignore[index]
    assert principal == Decimal("10000.00") and isinstance(principal, Decimal)


def test_only_the_admin_reads_the_audit_log(engine, actors):
    with pytest.raises(Refused):
        AuditLogRepository(engine, actors["supervisor"]).list()


def test_templates_refuse_unknown_placeholders_and_empty_bodies_with_the_reason(engine, actors):
    repo = SmsTemplateRepository(engine, actors["admin"])
    overdue = next(t for t in repo.list() if t.name == "overdue_reminder")
    with pytest.raises(ValidationError) as refused:
        repo.update(overdue.id, "Dear {first_name}, pay {amount} now", True)
    reason = refused.value.fields["template_text"]
    assert "{amount} cannot be filled for loan_overdue messages" in reason and "{loan_number}" in reason
    with pytest.raises(ValidationError, match="empty"):
        repo.update(overdue.id, "   ", True)
    assert "unmatched brace" in (template_problem("loan_overdue", "Hi {first_name") or "")
    assert repo.get(overdue.id).template_text == overdue.template_text  # nothing saved

    saved = repo.update(overdue.id, "Hi {first_name}, loan {loan_number} is {days_past_due} days late.", False)
    assert not saved.is_active and saved.template_text.startswith("Hi {first_name}")
    with engine.connect() as conn:
        logged = conn.execute(text("SELECT count(*) FROM audit_logs WHERE table_name = 'sms_templates' "
                                   "AND action = 'UPDATE'")).scalar_one()
    assert logged == 1

    with pytest.raises(Refused):
        SmsTemplateRepository(engine, actors["officer"]).update(overdue.id, "Hi {first_name}", True)


def test_the_preview_is_the_message_a_customer_receives():
    shown = preview("loan_overdue", "Dear {first_name}, loan {loan_number}: {amount_overdue} is "
                                    "{days_past_due} days late.", "KES")
    assert shown.text == "Dear Wanjiku, loan L-000107: KES 2,361.50 is 12 days late."
    assert shown.info.segments == 1 and shown.info.encoding == "GSM-7"
    long = preview("loan_overdue", "Habari {first_name} 🙂 " + "x" * 80)
    assert long.info.encoding == "UCS-2" and long.info.segments == 2


def test_par_trend_ends_today_and_matches_calculate_par(engine, actors):
    make_active_loan(engine, actors, "Ann", "Late", days_ago=100)
    make_active_loan(engine, actors, "Ben", "Ontime", days_ago=10)
    ReportRepository(engine, actors["accountant"]).refresh_monthly_summary()
    today = date.today()
    trend = PortfolioRepository(engine, actors["accountant"]).par_trend(today, 3)
    assert [p.as_of for p in trend] == month_ends(today, 3) and trend[-1].as_of == today
    now = ReportRepository(engine, actors["accountant"]).par(today)
    assert (trend[-1].par1, trend[-1].par30, trend[-1].par90) == (now.par1, now.par30, now.par90)
    assert now.par30 > Decimal("0")
    months = PortfolioRepository(engine, actors["accountant"]).monthly_summary(today - timedelta(days=40), 12)
    assert months and all(m.month <= today - timedelta(days=40) for m in months)
    assert month_ends(date(2025, 3, 10), 4) == [date(2024, 12, 31), date(2025, 1, 31), date(2025, 2, 28),
                                                date(2025, 3, 10)]


def test_the_accountant_adds_accounts_and_the_supervisor_may_not(engine, actors):
    repo = ChartRepository(engine, actors["accountant"])
    new_id = repo.add_account("1010", "Petty Cash", "asset", "1000")
    books = AccountingRepository(engine, actors["accountant"]).chart_of_accounts(date.today())
    added = next(a for a in books if a.account_code == "1010")
    assert added.id == new_id and added.parent_id == next(a.id for a in books if a.account_code == "1000")
    with pytest.raises(ValidationError, match="already exists"):
        repo.add_account("1010", "Again", "asset")
    with pytest.raises(ValidationError) as refused:
        repo.add_account("12", "", "cash")
    assert set(refused.value.fields) == {"code", "name", "type"}
    with pytest.raises(ValidationError, match="parent's type"):
        repo.add_account("4200", "Fees", "income", "1000")
    repo.set_active(added, False)
    with pytest.raises(Refused, match="cannot be deactivated"):
        repo.set_active(next(a for a in books if a.account_code == "1000"), False)
    with pytest.raises(Refused):
        ChartRepository(engine, actors["supervisor"]).add_account("1020", "Till", "asset")
