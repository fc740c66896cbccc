"""Row-level security, proved role × branch for every table, view and function, through the application's login.

The book (tests/branches/book.py) has HQ; NRB01 with NRB02 under it; MSA01 beside NRB01. For every relation in the
schema the test knows which branch each row belongs to (as the owner sees it) and asks, as each member of staff of
each branch through astrofin_app and SET LOCAL ROLE as the application does, which rows they see: exactly those of
their branch and the branches under it (users and branches: also those above), all of them at head office, none
without a signed-in user. Every function staff may execute either returns only their rows, refuses another branch's
row, or is listed as holding no branch data; a new relation or function fails the test until it is classified.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from db.engine import Actor, unit_of_work
from tests.branches.book import ROLES, Book, Branch

TODAY = date.today()

# relation -> SQL (as the owner) giving (row identity, owning branch); the same identity column read as staff.
OWNED: dict[str, tuple[str, str]] = {
    "branches": ("SELECT id, id FROM branches", "id"),
    "users": ("SELECT id, branch_id FROM users", "id"),
    "customers": ("SELECT id, branch_id FROM customers", "id"),
    "loans": ("SELECT id, branch_id FROM loans", "id"),
    "payment_schedules": ("SELECT id, branch_id FROM payment_schedules", "id"),
    "transactions": ("SELECT id, branch_id FROM transactions", "id"),
    "journal_entries": ("SELECT id, branch_id FROM journal_entries", "id"),
    "journal_entry_details": ("SELECT d.id, e.branch_id FROM journal_entry_details d "
                              "JOIN journal_entries e ON e.id = d.journal_entry_id", "id"),
    "sms_histories": ("SELECT s.id, c.branch_id FROM sms_histories s JOIN customers c ON c.id = s.customer_id", "id"),
    "audit_logs": ("SELECT id, coalesce(branch_id, (SELECT id FROM branches WHERE parent_id IS NULL)) "
                   "FROM audit_logs", "id"),
    "customer_transfers": ("SELECT id, to_branch_id FROM customer_transfers "
                           "UNION ALL SELECT id, from_branch_id FROM customer_transfers", "id"),
    "tills": ("SELECT id, branch_id FROM tills", "id"),
    "till_sessions": ("SELECT id, branch_id FROM till_sessions", "id"),
    "loan_charges": ("SELECT id, branch_id FROM loan_charges", "id"),
    "loan_reschedules": ("SELECT id, branch_id FROM loan_reschedules", "id"),
    "payment_schedule_history": ("SELECT id, branch_id FROM payment_schedule_history", "id"),
    "groups": ("SELECT id, branch_id FROM groups", "id"),
    "group_members": ("SELECT id, branch_id FROM group_members", "id"),
    "collection_sheets": ("SELECT id, branch_id FROM collection_sheets", "id"),
    "collection_sheet_lines": ("SELECT id, branch_id FROM collection_sheet_lines", "id"),
    "mobile_money_receipts": ("SELECT id, branch_id FROM mobile_money_receipts", "id"),
    "mobile_money_statements": ("SELECT id, branch_id FROM mobile_money_statements", "id"),
    "vw_loan_summary": ("SELECT l.id, l.branch_id FROM loans l", "loan_id"),
    "vw_overdue_loans": ("SELECT o.loan_id, l.branch_id FROM vw_overdue_loans o JOIN loans l ON l.id = o.loan_id",
                         "loan_id"),
}
# Seen with the branches above one's own as well: colleagues' names on loans, and the branch tree's parents.
WITH_ANCESTORS = {"branches", "users"}
# Aggregates over branch rows: staff read them only through functions that add up their own branches.
# import_rows (0025): the keys of imported file rows, read and written only by the import functions.
# loan_arrears_totals and loan_arrears_changes (0026): PAR's running totals, read only by calculate_par.
STAFF_MAY_NOT_READ = {"mvw_monthly_financial_summary", "mvw_branch_monthly_summary", "import_rows",
                      "loan_arrears_totals", "loan_arrears_changes"}
# No branch data: reference data, the migration marker, the audit chain's seals.
NOT_BRANCH_DATA = {"chart_of_accounts", "sms_templates", "alembic_version", "audit_seals", "audit_seal_ticks",
                   "loan_products"}
# Checked by totals below.
TOTALS = {"vw_daily_transactions"}


def scope_of(book: Book, branch: Branch) -> set[int]:
    below = {book.hq.id: {b.id for b in book.branches}, book.nrb.id: {book.nrb.id, book.nrb2.id}}
    return below.get(branch.id, {branch.id})


def ancestors_of(book: Book, branch: Branch) -> set[int]:
    above = {book.nrb.id: {book.hq.id}, book.nrb2.id: {book.hq.id, book.nrb.id}, book.msa.id: {book.hq.id}}
    return above.get(branch.id, set())


def _owned(engine: Engine, relation: str) -> dict[Any, set[int]]:
    rows: dict[Any, set[int]] = {}
    with engine.connect() as conn:
        for identity, branch in conn.execute(text(OWNED[relation][0])):
            rows.setdefault(identity, set()).add(branch)
    return rows


def _seen(app: Engine, actor: Actor | None, sql: str, role: str | None = None, **params: Any) -> list[Any]:
    with unit_of_work(app, actor) as session:
        if role is not None:
            session.execute(text(f"SET LOCAL ROLE astrofin_{role}"))  # role names from ROLES
        return list(session.execute(text(sql), params).scalars())


@functools.cache
def _may_select(engine: Engine, role: str, relation: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT has_table_privilege(:r, CAST(:t AS regclass), 'SELECT')"),
                                 {"r": f"astrofin_{role}", "t": f"public.{relation}"}).scalar())


def test_every_relation_shows_each_branch_only_its_rows(engine: Engine, app_engine: Engine, book: Book) -> None:
    with engine.connect() as conn:
        relations = set(conn.execute(text(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
            "AND c.relkind IN ('r', 'p', 'v', 'm')")).scalars())
    unclassified = relations - set(OWNED) - STAFF_MAY_NOT_READ - NOT_BRANCH_DATA - TOTALS
    assert not unclassified, f"classify these relations for row-level security: {sorted(unclassified)}"
    checked = 0
    for relation in sorted(set(OWNED) & relations):
        owned = _owned(engine, relation)
        column = OWNED[relation][1]
        kinds = {frozenset(b) for b in owned.values()}
        assert len(kinds) >= 2 or relation == "customer_transfers", f"{relation}: rows of one branch only"
        for branch in book.branches:
            visible = scope_of(book, branch) | (ancestors_of(book, branch) if relation in WITH_ANCESTORS else set())
            expected = {identity for identity, branches in owned.items() if branches & visible}
            for role, actor in branch.staff.items():
                if not _may_select(engine, role, relation):
                    continue
                seen = set(_seen(app_engine, actor, f"SELECT {column} FROM {relation}"))  # noqa: S608 (OWNED)
                assert seen == expected, (f"{actor.username} ({branch.code}) in {relation}: extra "
                                          f"{sorted(seen - expected)[:5]}, missing {sorted(expected - seen)[:5]}")
                checked += 1
            # Without the application's session settings: nothing at all.
            for role in ROLES:
                if _may_select(engine, role, relation):
                    assert _seen(app_engine, None, f"SELECT {column} FROM {relation}", role=role) == [], (  # noqa: S608
                        f"astrofin_{role} without a signed-in user reads {relation}")
    assert checked > 60
    for relation in STAFF_MAY_NOT_READ:
        assert not any(_may_select(engine, role, relation) for role in ROLES), relation
    # The login role alone sees no account, and with a name given, only that one.
    assert _seen(app_engine, None, "SELECT id FROM users") == []
    with unit_of_work(app_engine, None) as session:
        session.execute(text("SELECT set_config('astrofin.sign_in', 'cashier_msa01', true)"))
        assert list(session.execute(text("SELECT id FROM users")).scalars()) == [book.msa.staff["cashier"].user_id]
    # The daily totals add up only the branches in scope.
    for branch in (book.nrb, book.msa, book.hq):
        actor = branch.staff["supervisor"]
        total = _seen(app_engine, actor, "SELECT coalesce(sum(transaction_count), 0) FROM vw_daily_transactions")[0]
        with engine.connect() as conn:
            want = conn.execute(text("SELECT count(*) FROM transactions WHERE branch_id = ANY(:b)"),
                                {"b": list(scope_of(book, branch))}).scalar()
        assert total == want, branch.code


def _fingerprint(engine: Engine, branch: Branch) -> dict[str, str]:
    """Everything of one branch, as text: what 'nothing changed there' means."""
    sql = {
        "branches": "SELECT b::text FROM branches b WHERE id = :b",
        "users": "SELECT (to_jsonb(u) - 'updated_at')::text FROM users u WHERE branch_id = :b",
        "customers": "SELECT c::text FROM customers c WHERE branch_id = :b",
        "loans": "SELECT (to_jsonb(l) - 'updated_at')::text FROM loans l WHERE branch_id = :b",
        "payment_schedules": "SELECT (to_jsonb(s) - 'updated_at')::text FROM payment_schedules s WHERE branch_id = :b",
        "transactions": "SELECT t::text FROM transactions t WHERE branch_id = :b",
        "journal_entries": "SELECT e::text FROM journal_entries e WHERE branch_id = :b",
        "sms_histories": "SELECT s::text FROM sms_histories s JOIN customers c ON c.id = s.customer_id "
                         "WHERE c.branch_id = :b",
        "tills": "SELECT (to_jsonb(t) - 'updated_at')::text FROM tills t WHERE branch_id = :b",
        "till_sessions": "SELECT (to_jsonb(s) - 'updated_at')::text FROM till_sessions s WHERE branch_id = :b",
        "loan_charges": "SELECT (to_jsonb(c) - 'updated_at')::text FROM loan_charges c WHERE branch_id = :b",
        "loan_reschedules": "SELECT (to_jsonb(r) - 'updated_at')::text FROM loan_reschedules r WHERE branch_id = :b",
        "payment_schedule_history": "SELECT h::text FROM payment_schedule_history h WHERE branch_id = :b",
        "groups": "SELECT (to_jsonb(g) - 'updated_at')::text FROM groups g WHERE branch_id = :b",
        "group_members": "SELECT (to_jsonb(m) - 'updated_at')::text FROM group_members m WHERE branch_id = :b",
        "collection_sheets": "SELECT s::text FROM collection_sheets s WHERE branch_id = :b",
        "collection_sheet_lines": "SELECT l::text FROM collection_sheet_lines l WHERE branch_id = :b",
        "mobile_money_receipts": "SELECT (to_jsonb(r) - 'updated_at')::text FROM mobile_money_receipts r "
                                 "WHERE branch_id = :b",
        "mobile_money_statements": "SELECT (to_jsonb(s) - 'updated_at')::text FROM mobile_money_statements s "
                                   "WHERE branch_id = :b",
    }
    with engine.connect() as conn:
        return {name: "|".join(sorted(conn.execute(text(q), {"b": branch.id}).scalars())) for name, q in sql.items()}


# Functions staff may execute, by what they do with branch rows. A reader is called on another branch's row or for
# everything and must show nothing of it; a writer is pointed at another branch's row and must change nothing there.
READERS: dict[str, Callable[[Book, Branch], tuple[str, dict[str, Any]]]] = {
    "loan_summary_as_of": lambda b, o: ("SELECT loan_id FROM loan_summary_as_of(:d) WHERE loan_id = :l",
                                        {"d": TODAY, "l": o.loan}),
    "overdue_loans_as_of": lambda b, o: ("SELECT loan_id FROM overdue_loans_as_of(:d) WHERE loan_id = :l",
                                         {"d": TODAY, "l": o.loan}),
    "loan_days_past_due": lambda b, o: ("SELECT nullif(loan_days_past_due(:l, :d), 0)", {"l": o.loan, "d": TODAY}),
    "calculate_par": lambda b, o: ("SELECT nullif(calculate_par(30, :d, :br), 0)", {"d": TODAY, "br": o.id}),
    "branch_subtree": lambda b, o: ("SELECT unnest(branch_subtree(:br))", {"br": o.id}),
    "monthly_financial_summary": lambda b, o: (
        "SELECT nullif(sum(disbursed), 0) FROM monthly_financial_summary(:br, true)", {"br": o.id}),
    "preview_loan_payment": lambda b, o: ("SELECT principal FROM preview_loan_payment(:l, 100, :d)",
                                          {"l": o.loan, "d": TODAY}),
    "customer_name_matches": lambda b, o: ("SELECT m FROM customer_name_matches(:p, false, 50) m WHERE m = :c",
                                           {"p": f"%Of{o.code}%", "c": o.customer}),
    "customer_phone_suffix_ids": lambda b, o: (
        "SELECT m FROM unnest(customer_phone_suffix_ids('100000', 50)) m WHERE m = :c", {"c": o.customer}),
    "customer_name_page_ids": lambda b, o: (
        "SELECT m FROM unnest(customer_name_page_ids('surname_start', lower(:s), NULL, NULL, NULL, 50) || "
        "customer_name_page_ids('first_name_start', 'am', NULL, NULL, NULL, 50) || "
        "customer_name_page_ids('walk', :p, NULL, NULL, NULL, 50)) m WHERE m = :c",
        {"s": f"Of{o.code}", "p": f"%Of{o.code}%", "c": o.customer}),
    "till_vault_balance": lambda b, o: ("SELECT till_vault_balance(:br)", {"br": o.id}),
    "till_session_cash": lambda b, o: ("SELECT cash_in FROM till_session_cash(:s)", {"s": o.session}),
    "loan_charge_unpaid": lambda b, o: ("SELECT loan_charge_unpaid(:c)", {"c": o.charge}),
    "schedule_charges_unpaid": lambda b, o: (
        "SELECT u.unpaid FROM payment_schedules s, schedule_charges_unpaid(s.id) u WHERE s.loan_id = "
        "(SELECT loan_id FROM loan_charges WHERE id = :c) AND u.charge_id = :c", {"c": o.charge}),
    "payoff_quote": lambda b, o: ("SELECT total FROM payoff_quote(:l)", {"l": o.loan}),
    "preview_reschedule": lambda b, o: (
        "SELECT principal_due FROM preview_reschedule(:l, 2, :d, 1, NULL, 0, 'waive')",
        {"l": o.loan, "d": TODAY + timedelta(days=40)}),
    "next_meeting_date": lambda b, o: ("SELECT next_meeting_date(:g)", {"g": o.group}),
    "group_meeting_dates": lambda b, o: ("SELECT group_meeting_dates(:g, :d, :d + 14)", {"g": o.group, "d": TODAY}),
    "collection_sheet": lambda b, o: ("SELECT loan_id FROM collection_sheet(:g, :d)", {"g": o.group, "d": TODAY}),
    "mobile_money_validate": lambda b, o: ("SELECT nullif(accepted, false) FROM mobile_money_validate(:n, 10)",
                                           {"n": o.loan_number}),
    "mobile_money_preview": lambda b, o: (
        "SELECT loan_number FROM mobile_money_preview(CAST(:rows AS jsonb))",
        {"rows": f'[{{"receipt_number": "NEW1", "amount": "10", "account": "{o.loan_number}"}}]'}),
    "mobile_money_statement_reconciliation": lambda b, o: (
        "SELECT statement_total FROM mobile_money_statement_reconciliation(:s)", {"s": o.mm_statement}),
    # the day's figures less those of the statements seen outside the other branch: what the other branch adds
    "mobile_money_reconciliation": lambda b, o: (
        "SELECT nullif(r.statement_total - (SELECT coalesce(sum(s.paid_in_total), 0) FROM mobile_money_statements s "
        "WHERE s.imported_at::date = :d AND s.branch_id <> :br), 0) FROM mobile_money_reconciliation(:d) r",
        {"d": TODAY, "br": o.id}),
}
WRITERS: dict[str, Callable[[Book, Branch, Branch], tuple[str, str, dict[str, Any]]]] = {
    "approve_loan": lambda b, me, o: ("supervisor", "SELECT approve_loan(:l, :me)", {"l": o.pending_loan}),
    "reject_loan": lambda b, me, o: ("supervisor", "SELECT reject_loan(:l, :me, 'no')", {"l": o.pending_loan}),
    "disburse_loan": lambda b, me, o: ("cashier", "SELECT disburse_loan(:l, :me)", {"l": o.pending_loan}),
    "record_loan_payment": lambda b, me, o: ("cashier", "SELECT record_loan_payment(:l, 10, :d, :me)",
                                             {"l": o.loan, "d": TODAY}),
    "reverse_transaction": lambda b, me, o: ("supervisor", "SELECT reverse_transaction(:t, :me, 'x')",
                                             {"t": o.payment}),
    "write_off_loan": lambda b, me, o: ("supervisor", "SELECT write_off_loan(:l, :me, 'x')", {"l": o.loan}),
    "mark_defaulted_loans": lambda b, me, o: ("supervisor", "SELECT mark_defaulted_loans(0, :me)", {}),
    "send_loan_reminders": lambda b, me, o: ("loan_officer", "SELECT send_loan_reminders(ARRAY[:l]::bigint[], :me)",
                                             {"l": o.loan}),
    "send_overdue_loan_notifications": lambda b, me, o: (
        "loan_officer", "SELECT send_overdue_loan_notifications(1, :me)", {}),
    "requeue_failed_sms": lambda b, me, o: ("admin", "SELECT requeue_failed_sms(ARRAY[:s]::bigint[], :me)",
                                            {"s": o.sms}),
    "reverse_manual_journal_entry": lambda b, me, o: (
        "accountant", "SELECT reverse_manual_journal_entry(:e, 'x', :me)", {"e": o.entry}),
    "post_manual_journal_entry": lambda b, me, o: (
        "accountant", "SELECT post_manual_journal_entry(:d, 'x', CAST(:l AS jsonb), :me)",
        {"d": TODAY, "l": '[{"account_code": "1000", "debit": "1", "credit": "0"}, '
                          '{"account_code": "3000", "debit": "0", "credit": "1"}]'}),
    "transfer_customer": lambda b, me, o: ("supervisor", "SELECT transfer_customer(:c, :to, 'x', :me)",
                                           {"c": o.customer, "to": me.id}),
    "close_branch_period": lambda b, me, o: ("supervisor", "SELECT close_branch_period(:br, :d, :me)",
                                             {"br": o.id, "d": date(2020, 1, 1)}),
    "create_branch": lambda b, me, o: ("admin", "SELECT create_branch('ZZZ01', 'Under another', :br, :me)",
                                       {"br": o.id}),
    "rename_branch": lambda b, me, o: ("admin", "SELECT rename_branch(:br, 'Renamed', :me)", {"br": o.id}),
    "set_branch_active": lambda b, me, o: ("admin", "SELECT set_branch_active(:br, false, :me)", {"br": o.id}),
    "assign_user_branch": lambda b, me, o: ("admin", "SELECT assign_user_branch(:u, :br, :me)",
                                            {"u": o.staff["cashier"].user_id, "br": me.id}),
    "refresh_monthly_financial_summary": lambda b, me, o: (
        "supervisor", "SELECT refresh_monthly_financial_summary()", {}),
    "open_till": lambda b, me, o: ("cashier", "SELECT open_till(:t, 0, :me)", {"t": o.till}),
    "close_till": lambda b, me, o: ("cashier", "SELECT close_till(:s, 0, 'x', :me)", {"s": o.session}),
    "approve_till_close": lambda b, me, o: ("supervisor", "SELECT approve_till_close(:s, :me)", {"s": o.session}),
    "create_till": lambda b, me, o: ("supervisor", "SELECT create_till('T9', 'In my own branch', :me)", {}),
    "rename_till": lambda b, me, o: ("supervisor", "SELECT rename_till(:t, 'Renamed', :me)", {"t": o.till}),
    "set_till_active": lambda b, me, o: ("supervisor", "SELECT set_till_active(:t, false, :me)", {"t": o.till}),
    "set_branch_tills_required": lambda b, me, o: ("admin", "SELECT set_branch_tills_required(:br, true, :me)",
                                                   {"br": o.id}),
    "apply_overdue_penalties": lambda b, me, o: ("supervisor", "SELECT apply_overdue_penalties(NULL, :me)", {}),
    "waive_charge": lambda b, me, o: ("supervisor", "SELECT waive_charge(:c, 1, 'x', :me)", {"c": o.charge}),
    "settle_loan": lambda b, me, o: ("cashier", "SELECT settle_loan(:l, 1, :d, :me)", {"l": o.loan, "d": TODAY}),
    "request_reschedule": lambda b, me, o: (
        "loan_officer", "SELECT request_reschedule(:l, 2, :d, 1, NULL, 0, 'waive', 'x', :me)",
        {"l": o.loan, "d": TODAY + timedelta(days=40)}),
    "approve_reschedule": lambda b, me, o: ("supervisor", "SELECT approve_reschedule(:r, :me)", {"r": o.reschedule}),
    "reject_reschedule": lambda b, me, o: ("supervisor", "SELECT reject_reschedule(:r, :me, 'x')",
                                           {"r": o.reschedule}),
    "create_group": lambda b, me, o: ("loan_officer", "SELECT create_group('group', 'Under another', :g, :me, "
                                                      "NULL, NULL, NULL, NULL, :me)", {"g": o.center}),
    "update_group": lambda b, me, o: ("loan_officer", "SELECT update_group(:g, 'Renamed', :me, 1, 'weekly', NULL, "
                                                      "NULL, :me)", {"g": o.group}),
    "close_group": lambda b, me, o: ("supervisor", "SELECT close_group(:g, :me)", {"g": o.group}),
    "add_group_member": lambda b, me, o: ("loan_officer", "SELECT add_group_member(:g, :c, 'member', NULL, :me)",
                                          {"g": o.group, "c": me.customer}),
    "remove_group_member": lambda b, me, o: ("loan_officer", "SELECT remove_group_member(:m, NULL, :me)",
                                             {"m": o.member}),
    "post_collection_sheet": lambda b, me, o: (
        "loan_officer", "SELECT post_collection_sheet(:g, :d, CAST(:l AS jsonb), :me, 'scope')",
        {"g": o.group, "d": o.meeting, "l": f'[{{"loan_id": {o.group_loan}, "amount": "10.00"}}]'}),
    # M-Pesa (0024): a receipt naming the other branch's loan matches nothing here (it waits in the receiver's own
    # branch); the other branch's receipts and statements are not found
    "mobile_money_receive": lambda b, me, o: (
        "cashier", "SELECT receipt_id FROM mobile_money_receive('SCOPE1', now(), 10, NULL, NULL, :n, NULL, '{}', "
        "'callback', :me, :st)", {"n": o.loan_number, "st": o.mm_statement}),
    "mobile_money_receive_batch": lambda b, me, o: (
        "cashier", "SELECT receipt_id FROM mobile_money_receive_batch(CAST(:rows AS jsonb), :me, NULL)",
        {"rows": f'[{{"receipt_number": "MM{o.code}", "paid_at": "2026-01-01T10:00:00", "amount": "250", '
                 f'"account": "{o.loan_number}"}}]'}),
    "mobile_money_post": lambda b, me, o: ("cashier", "SELECT status FROM mobile_money_post(:r, :me)",
                                           {"r": o.mm_receipt}),
    "mobile_money_post_batch": lambda b, me, o: (
        "cashier", "SELECT status FROM mobile_money_post_batch(ARRAY[:r]::bigint[], :me)", {"r": o.mm_receipt}),
    "mobile_money_apply": lambda b, me, o: ("accountant", "SELECT mobile_money_apply(:r, :l, :me, 'x')",
                                            {"r": o.mm_receipt, "l": me.loan}),
    "mobile_money_refund": lambda b, me, o: ("accountant", "SELECT mobile_money_refund(:r, :me, 'R1', 'x')",
                                             {"r": o.mm_receipt}),
    "mobile_money_statement_open": lambda b, me, o: (
        "cashier", "SELECT statement_id FROM mobile_money_statement_open('x.csv', :h, :me)",
        {"h": f"{o.id:064x}"}),
    "mobile_money_statement_close": lambda b, me, o: (
        "cashier", "SELECT mobile_money_statement_close(:s, 9, 9, 9, NULL, NULL, :me)", {"s": o.mm_statement}),
    # Imports (0025): a row pointed at another branch (its code, its customer, its loan) is refused.
    "import_customer": lambda b, me, o: (
        "supervisor", "SELECT import_customer(:me, repeat('a', 64), 'SCOPE-1', 'A', 'B', NULL, NULL, NULL, NULL, "
        "NULL, NULL, :code)", {"code": o.code}),
    "import_loan": lambda b, me, o: (
        "supervisor", "SELECT import_loan(:me, repeat('a', 64), 'SCOPE-L', (SELECT customer_number FROM customers "
        "WHERE id = :c), NULL, :code, 1000, 10, 4, current_date, NULL, NULL, NULL)", {"c": o.customer, "code": o.code}),
    "import_repayment": lambda b, me, o: (
        "supervisor", "SELECT import_repayment(:me, repeat('a', 64), 'SCOPE-R', (SELECT loan_number FROM loans "
        "WHERE id = :l), 10, current_date, 'cash')", {"l": o.loan}),
}
# Executable by staff, holding no branch rows: schedule math, previews of terms and a product's fee, the caller's
# own settings, number formats, the audit chain's hashing and verification (admin, head-office figures without row
# contents), the maintenance job and the scope helpers themselves.
NO_BRANCH_ROWS = {"preview_payment_schedule", "loan_product_fee", "audit_current_user_id", "scale_padded_number",
                  "audit_chain_genesis", "audit_full_xid", "audit_log_hash", "seal_audit_log", "verify_audit_log",
                  "perform_database_maintenance", "astrofin_branch_scope", "astrofin_branch_lineage",
                  "astrofin_user_branch", "astrofin_default_branch", "astrofin_sees_head_office",
                  # imports (0025): which keys of a file are imported, which national IDs are taken (not whose)
                  "import_keys_done", "import_national_ids_taken"}


def test_every_function_keeps_to_the_callers_branches(engine: Engine, app_engine: Engine, book: Book) -> None:
    with engine.connect() as conn:
        executable = set(conn.execute(text(
            "SELECT DISTINCT p.proname FROM pg_proc p, unnest(ARRAY['astrofin_cashier', 'astrofin_loan_officer', "
            "'astrofin_supervisor', 'astrofin_accountant', 'astrofin_admin']) r "
            "WHERE p.pronamespace = 'public'::regnamespace AND p.prorettype <> 'trigger'::regtype "
            "AND has_function_privilege(r, p.oid, 'EXECUTE') "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass "
            "                AND d.objid = p.oid AND d.deptype = 'e')")).scalars())
    unclassified = executable - set(READERS) - set(WRITERS) - NO_BRANCH_ROWS
    assert not unclassified, f"classify these functions for row-level security: {sorted(unclassified)}"

    # Readers: NRB01's staff learn nothing of MSA01's rows; head office does.
    with engine.begin() as conn:
        conn.execute(text("SELECT refresh_monthly_financial_summary()"))
    for name, call in READERS.items():
        sql, params = call(book, book.msa)
        for branch, sees in ((book.nrb, False), (book.nrb2, False), (book.hq, True)):
            role = next(r for r in ("supervisor", "cashier") if _executes(engine, r, name))
            try:
                rows = [r for r in _seen(app_engine, branch.staff[role], sql, **params) if r is not None]
            except DBAPIError as exc:
                assert not sees, f"{name} refused head office: {exc.orig}"
                assert getattr(exc.orig, "sqlstate", "") in {"P0101", "42501"}, f"{name}: {exc.orig}"
                continue
            assert bool(rows) == sees, f"{name} as {branch.code}: {rows}"

    # Writers: pointed at MSA01 by NRB01's staff, they change nothing in MSA01.
    before = _fingerprint(engine, book.msa)
    outcomes: dict[str, str] = {}
    for name, call in WRITERS.items():
        role, sql, params = call(book, book.nrb, book.msa)
        actor = book.nrb.staff[role]
        try:
            with unit_of_work(app_engine, actor) as session:
                session.execute(text(sql), {**params, "me": actor.user_id})
            outcomes[name] = "ran"
        except DBAPIError as exc:
            outcomes[name] = getattr(exc.orig, "sqlstate", None) or "?"
    assert _fingerprint(engine, book.msa) == before, outcomes
    must_refuse = set(WRITERS) - {"mark_defaulted_loans", "send_overdue_loan_notifications",
                                  "post_manual_journal_entry", "refresh_monthly_financial_summary",
                                  "send_loan_reminders", "requeue_failed_sms", "create_till",
                                  "apply_overdue_penalties", "mobile_money_receive", "mobile_money_receive_batch",
                                  "mobile_money_post_batch"}
    assert {n for n in must_refuse if outcomes[n] == "ran"} == set(), outcomes
    # The entry NRB01's accountant posted is NRB01's.
    with engine.connect() as conn:
        newest = conn.execute(text("SELECT branch_id FROM journal_entries ORDER BY id DESC LIMIT 1")).scalar()
    assert newest == book.nrb.id


def _executes(engine: Engine, role: str, function: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT bool_or(has_function_privilege(:r, p.oid, 'EXECUTE')) FROM pg_proc p "
            "WHERE p.pronamespace = 'public'::regnamespace AND p.proname = :f"),
            {"r": f"astrofin_{role}", "f": function}).scalar())


def test_direct_writes_to_another_branch_are_refused(engine: Engine, app_engine: Engine, book: Book) -> None:
    officer, admin = book.nrb.staff["loan_officer"], book.nrb.staff["admin"]
    before = _fingerprint(engine, book.msa)
    with unit_of_work(app_engine, officer) as session:
        changed = session.execute(text("UPDATE customers SET occupation = 'Hacked' WHERE id = :c"),
                                  {"c": book.msa.customer}).rowcount
    assert changed == 0
    with pytest.raises(DBAPIError) as info, unit_of_work(app_engine, officer) as session:
        session.execute(text("INSERT INTO customers (first_name, last_name, branch_id) VALUES ('A', 'B', :b)"),
                        {"b": book.msa.id})
    assert getattr(info.value.orig, "sqlstate", None) == "42501"
    with pytest.raises(DBAPIError) as info, unit_of_work(app_engine, officer) as session:
        session.execute(text("UPDATE customers SET branch_id = :b WHERE id = :c"),
                        {"b": book.msa.id, "c": book.nrb.customer})
    assert getattr(info.value.orig, "sqlstate", None) == "42501"
    with unit_of_work(app_engine, admin) as session:
        changed = session.execute(text("UPDATE users SET is_active = false WHERE id = :u"),
                                  {"u": book.msa.staff["cashier"].user_id}).rowcount
    assert changed == 0
    # A loan for another branch's customer cannot be made: the loan takes the customer's branch, outside the scope.
    with pytest.raises(DBAPIError), unit_of_work(app_engine, officer) as session:
        session.execute(text(
            "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
            "repayment_frequency, loan_officer_id, created_by) VALUES (:c, 1000, 10, 'flat', 4, 'weekly', :me, :me)"),
            {"c": book.msa.customer, "me": officer.user_id})
    assert _fingerprint(engine, book.msa) == before


def test_receipts_are_numbered_per_branch_with_its_code(engine: Engine, app_engine: Engine, book: Book) -> None:
    cashier = book.msa.staff["cashier"]
    receipts = [book.msa.receipt]
    for _ in range(3):
        tid = _seen(app_engine, cashier, "SELECT record_loan_payment(:l, 100, :d, :me)", l=book.msa.loan,
                    d=TODAY, me=cashier.user_id)[0]
        with engine.connect() as conn:
            receipts.append(conn.execute(text("SELECT receipt_number FROM transactions WHERE id = :t"),
                                         {"t": tid}).scalar_one())
    assert receipts == [f"MSA01-R-{n:06d}" for n in range(1, 5)]
    assert book.nrb.receipt == "NRB01-R-000001" and book.nrb2.receipt == "NRB02-R-000001"
    # A payment rolled back leaves a gap and nothing else.
    with pytest.raises(DBAPIError), unit_of_work(app_engine, cashier) as session:
        session.execute(text("SELECT record_loan_payment(:l, 100, :d, :me)"),
                        {"l": book.msa.loan, "d": TODAY, "me": cashier.user_id})
        session.execute(text("SELECT 1/0"))
    tid = _seen(app_engine, cashier, "SELECT record_loan_payment(:l, 100, :d, :me)", l=book.msa.loan, d=TODAY,
                me=cashier.user_id)[0]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT receipt_number FROM transactions WHERE id = :t"),
                            {"t": tid}).scalar_one() == "MSA01-R-000006"


def test_transfer_moves_the_customer_with_loans_and_keeps_each_branchs_books_balanced(
        engine: Engine, app_engine: Engine, book: Book) -> None:
    with engine.connect() as conn:
        moved = conn.execute(text("SELECT * FROM customer_transfers")).one()
        assert (moved.from_branch_id, moved.to_branch_id, moved.loans_moved) == (book.nrb.id, book.nrb2.id, 1)
        assert moved.principal_moved == Decimal("12000.00")
        assert conn.execute(text(
            "SELECT count(*) FROM loans l JOIN customers c ON c.id = l.customer_id "
            "WHERE c.id = :c AND l.branch_id = :b AND c.branch_id = :b"),
            {"c": moved.customer_id, "b": book.nrb2.id}).scalar() == 1
        balances = dict(conn.execute(text(
            "SELECT e.branch_id, sum(d.debit - d.credit) FROM journal_entries e "
            "JOIN journal_entry_details d ON d.journal_entry_id = e.id GROUP BY e.branch_id")).all())
        assert set(balances.values()) == {Decimal("0.00")}
        portfolio = dict(conn.execute(text(
            "SELECT e.branch_id, sum(d.debit - d.credit) FROM journal_entries e "
            "JOIN journal_entry_details d ON d.journal_entry_id = e.id JOIN chart_of_accounts a ON a.id = d.account_id "
            "WHERE a.account_code = '1200' GROUP BY e.branch_id")).all())
        outstanding = dict(conn.execute(text(
            "SELECT branch_id, sum(principal_due - principal_paid) FROM payment_schedules GROUP BY branch_id")).all())
        assert portfolio == outstanding
        audited = conn.execute(text("SELECT count(*) FROM audit_logs WHERE table_name = 'customer_transfers' "
                                    "AND changed_by = :s"), {"s": book.nrb.staff["supervisor"].user_id}).scalar()
        assert audited == 1


def test_a_closed_period_refuses_postings_on_or_before_its_date(engine: Engine, app_engine: Engine,
                                                                 book: Book) -> None:
    sup, cashier, accountant = (book.msa.staff[r] for r in ("supervisor", "cashier", "accountant"))
    closed = TODAY - timedelta_days(10)
    _seen(app_engine, sup, "SELECT close_branch_period(:b, :d, :me)", b=book.msa.id, d=closed, me=sup.user_id)
    for day in (closed, closed - timedelta_days(1)):
        with pytest.raises(DBAPIError) as info:
            _seen(app_engine, cashier, "SELECT record_loan_payment(:l, 10, :d, :me)", l=book.msa.loan, d=day,
                  me=cashier.user_id)
        assert getattr(info.value.orig, "sqlstate", None) == "P0104"
        assert f"Mombasa (MSA01) are closed through {closed.isoformat()}" in str(info.value.orig)
        with pytest.raises(DBAPIError) as info:
            _seen(app_engine, accountant, "SELECT post_manual_journal_entry(:d, 'late', CAST(:l AS jsonb), :me)",
                  d=day, me=accountant.user_id,
                  l='[{"account_code": "1000", "debit": "1", "credit": "0"}, '
                    '{"account_code": "3000", "debit": "0", "credit": "1"}]')
        assert getattr(info.value.orig, "sqlstate", None) == "P0104"
    # The day after is open; another branch is not closed; a close never moves back or into today.
    _seen(app_engine, cashier, "SELECT record_loan_payment(:l, 10, :d, :me)", l=book.msa.loan,
          d=closed + timedelta_days(1), me=cashier.user_id)
    nrb_cashier = book.nrb.staff["cashier"]
    _seen(app_engine, nrb_cashier, "SELECT record_loan_payment(:l, 10, :d, :me)", l=book.nrb.loan, d=closed,
          me=nrb_cashier.user_id)
    for day, message in ((closed - timedelta_days(1), "already closed through"), (TODAY, "yesterday at the latest")):
        with pytest.raises(DBAPIError) as info:
            _seen(app_engine, sup, "SELECT close_branch_period(:b, :d, :me)", b=book.msa.id, d=day, me=sup.user_id)
        assert message in str(info.value.orig)


def timedelta_days(n: int) -> Any:
    from datetime import timedelta
    return timedelta(days=n)


def test_maintenance_is_head_office_work(app_engine: Engine, book: Book) -> None:
    with pytest.raises(DBAPIError) as info:
        _seen(app_engine, book.nrb.staff["admin"], "SELECT perform_database_maintenance()")
    assert "head-office administrator" in str(info.value.orig)
    # The audit chain's check too (0027): a branch's administrator, or nobody signed in, would see only some rows
    # and be told the others were deleted.
    for actor in (book.nrb.staff["admin"], None):
        with pytest.raises(DBAPIError) as info:
            _seen(app_engine, actor, "SELECT problem_kind FROM verify_audit_log()", role="admin")
        assert "head-office administrator verifies it" in str(info.value.orig)
    assert _seen(app_engine, book.hq.staff["admin"], "SELECT problem_kind FROM verify_audit_log()") == [None]
    report = _seen(app_engine, book.hq.staff["admin"], "SELECT perform_database_maintenance()")[0]
    assert report["monthly_summary_refreshed"] is True
