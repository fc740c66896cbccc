"""docs/database.md's "Who may do what", proved in the database table by table and function by function.

The expected matrix below is written from docs/database.md (each line says which capability grants it). The test
asks PostgreSQL for every role × relation × privilege, every role × column where grants are per column,
every role × function (EXECUTE) and every role × sequence, and compares: a privilege the matrix does not
name is a leak, one it names but is missing is a broken screen. A few real attempts follow, through the
login role the application uses (astrofin_app, NOINHERIT) and SET LOCAL ROLE as unit_of_work does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from db.engine import Actor, unit_of_work
from tests.reliability.faultlib import record, staff_actors

STAFF = ("cashier", "loan_officer", "supervisor", "accountant", "admin")
ROLES = (*STAFF, "app")  # app = astrofin_app, the login role, which holds almost nothing itself
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
ALL = set(STAFF)
S, INS, U = "SELECT", "INSERT", "UPDATE"

# relation -> role -> table-level privileges. Nobody deletes or truncates anything: never listed.
EXPECTED_TABLES: dict[str, dict[str, set[str]]] = {
    # users: the admin administers users; the login role reads them to sign in (hash check).
    "users": {"admin": {S, INS, U}, "app": {S}},
    # find and view customers and loans: everyone; create and edit customers: loan officer, supervisor.
    "customers": {**{r: {S} for r in ALL}, "loan_officer": {S, INS, U}, "supervisor": {S, INS, U}},
    # create loan applications: loan officer, supervisor (status changes go through functions).
    "loans": {**{r: {S} for r in ALL}, "loan_officer": {S, INS}, "supervisor": {S, INS}},
    # viewing a loan shows its payments and schedule; they are written only by functions.
    "transactions": {r: {S} for r in ALL},
    "payment_schedules": {r: {S} for r in ALL},
    # the loan product catalogue: everyone reads it (applications start from it); the admin keeps it.
    "loan_products": {**{r: {S} for r in ALL}, "admin": {S, INS, U}},
    # overdue queue and reminders: loan officer, supervisor; SMS templates: admin.
    "sms_templates": {"loan_officer": {S}, "supervisor": {S}, "admin": {S, INS, U}},
    "sms_histories": {"loan_officer": {S}, "supervisor": {S}, "admin": {S}},
    # accounting screens: supervisor reads, accountant keeps the chart; entries only through functions.
    "journal_entries": {"supervisor": {S}, "accountant": {S}},
    "journal_entry_details": {"supervisor": {S}, "accountant": {S}},
    "chart_of_accounts": {"supervisor": {S}, "accountant": {S, INS, U}},
    # audit log: admin reads; nobody writes it except the triggers.
    "audit_logs": {"admin": {S}},
    "audit_seals": {"admin": {S}},
    "audit_seal_ticks": {},
    "alembic_version": {},
    # views: loan summary is "find and view loans"; overdue is the overdue queue; the rest are reports.
    "vw_loan_summary": {r: {S} for r in ALL},
    "vw_overdue_loans": {"loan_officer": {S}, "supervisor": {S}},
    "vw_daily_transactions": {"loan_officer": {S}, "supervisor": {S}, "accountant": {S}},
    # the consolidated summary is the owner's; staff read monthly_financial_summary(), of their own branches
    "mvw_monthly_financial_summary": {},
    "mvw_branch_monthly_summary": {},
    # branches: everyone sees their branch tree (rows limited by row-level security); changed through functions
    "branches": {r: {S} for r in ALL},
    # transfers of customers between branches: the people who see customers' histories
    "customer_transfers": {r: {S} for r in ("loan_officer", "supervisor", "accountant", "admin")},
    # tills and their sessions: everyone sees their branch's (home screen, overview, a receipt's till); changed
    # through functions
    "tills": {r: {S} for r in ALL},
    "till_sessions": {r: {S} for r in ALL},
    # late penalties: everyone who views a loan sees its charges; written by the daily run, waived by a supervisor
    "loan_charges": {r: {S} for r in ALL},
    # reschedules and the schedule rows they replaced: part of viewing a loan; changed through functions
    "loan_reschedules": {r: {S} for r in ALL},
    "payment_schedule_history": {r: {S} for r in ALL},
    # groups, members and collection sheets: everyone sees their branch's (a loan's group, the group page, a sheet's
    # receipt); changed through functions
    **{name: {r: {S} for r in ALL} for name in ("groups", "group_members", "collection_sheets",
                                                 "collection_sheet_lines")},
    # the M-Pesa inbox and its statements: the counter and the books (the service user is a cashier); written only
    # by the functions
    **{name: {r: {S} for r in ("cashier", "supervisor", "accountant")} for name in ("mobile_money_receipts",
                                                                                 "mobile_money_statements")},
    # the keys of imported file rows (0025): only the import functions read and write them
    "import_rows": {},
    # PAR's running totals and the changes not yet folded into them (0026): only calculate_par reads them
    "loan_arrears_totals": {}, "loan_arrears_changes": {},
}

# Grants on some columns only: relation -> role -> privilege -> columns.
STAFF_NAMES = {"id", "username", "full_name", "role", "is_active"}  # names on loans and receipts; never the hash
EXPECTED_COLUMNS: dict[str, dict[str, dict[str, set[str]]]] = {
    "users": {
        **{r: {S: STAFF_NAMES} for r in ("cashier", "loan_officer", "supervisor", "accountant")},
        # sign-in counts failures, locks, records the time and rehashes an outdated hash
        "app": {U: {"failed_login_count", "locked_until", "last_login_at", "password_hash", "must_change_password"}},
    },
    # the admin retries failed SMS from the outbox screen
    "sms_histories": {"admin": {U: {"status", "error_message", "attempts"}}},
}

SUPERVISOR = {"supervisor"}
MONEY = {"cashier", "supervisor"}
REMINDERS = {"loan_officer", "supervisor"}
REPORTS = {"loan_officer", "supervisor", "accountant"}
ADMIN = {"admin"}
NOBODY: set[str] = set()
# function name -> roles with EXECUTE. Inner functions run only inside the SECURITY DEFINER workflow.
EXPECTED_FUNCTIONS: dict[str, set[str]] = {
    "approve_loan": SUPERVISOR, "reject_loan": SUPERVISOR,  # approve / reject loans
    "reverse_transaction": SUPERVISOR,  # reverse payments
    "write_off_loan": SUPERVISOR, "mark_defaulted_loans": SUPERVISOR,  # mark defaulted, write off
    "disburse_loan": MONEY, "record_loan_payment": MONEY, "preview_loan_payment": MONEY,  # counter
    "preview_payment_schedule": ALL,  # anyone viewing a loan may see its schedule
    "loan_product_fee": ALL,  # the processing fee an application's preview shows
    "loan_product_range_text": NOBODY,  # the product triggers' wording
    "loan_days_past_due": ALL, "loan_summary_as_of": ALL,  # find and view loans
    "overdue_loans_as_of": REMINDERS, "send_overdue_loan_notifications": REMINDERS,
    "send_loan_reminders": REMINDERS,  # overdue queue, send reminders
    "calculate_par": REPORTS, "monthly_financial_summary": REPORTS,  # portfolio reports
    "customer_name_matches": ALL,  # find customers by name (within the caller's branches)
    "customer_name_page_ids": ALL,  # a page of a name search, in order (within the caller's branches)
    "customer_phone_suffix_ids": ALL,  # the customers whose phone ends with digits (within the caller's branches)
    # the caller's branches: policies and screens ask; each answers from the caller's own session setting
    **{name: ALL | {"app"} for name in ("astrofin_user_branch", "astrofin_branch_scope", "astrofin_branch_lineage",
                                        "astrofin_default_branch", "branch_subtree", "astrofin_sees_head_office")},
    # branches: the admin keeps the tree and assigns staff; supervisors move customers; closes: supervisor, accountant
    "create_branch": ADMIN, "rename_branch": ADMIN, "set_branch_active": ADMIN, "assign_user_branch": ADMIN,
    "transfer_customer": SUPERVISOR, "close_branch_period": {"supervisor", "accountant"},
    # tills: the counter opens and counts its own till, a loan officer a field session for a meeting's cash; a second
    # supervisor approves a count that differs; supervisors and the admin keep the tills, the admin says which branches
    # require them; the vault's balance for the counter and the books; a session's cash for whoever sees the session
    "open_till": MONEY | {"loan_officer"}, "close_till": MONEY | {"loan_officer"}, "approve_till_close": SUPERVISOR,
    "create_till": SUPERVISOR | ADMIN, "rename_till": SUPERVISOR | ADMIN, "set_till_active": SUPERVISOR | ADMIN,
    "set_branch_tills_required": ADMIN, "till_vault_balance": MONEY | {"accountant"}, "till_session_cash": ALL,
    # penalties: the daily run (the maintenance job as the owner; a supervisor or the admin by hand); waivers by a
    # supervisor; what of a charge is unpaid for whoever sees the charge
    "apply_overdue_penalties": SUPERVISOR | ADMIN, "waive_charge": SUPERVISOR, "loan_charge_unpaid": ALL,
    "schedule_charges_unpaid": ALL,
    # early settlement (0021): the quote for whoever sees the loan, settling at the counter
    "payoff_quote": ALL, "settle_loan": MONEY,
    # reschedules: a loan officer or supervisor previews and requests; another supervisor approves or rejects
    "preview_reschedule": REMINDERS, "request_reschedule": REMINDERS,
    "approve_reschedule": SUPERVISOR, "reject_reschedule": SUPERVISOR,
    # groups: loan officers and supervisors keep groups and members; a meeting's sheet is read by those who collect,
    # post or check it, and posted by the loan officer from the meeting (or the counter; the cash goes into the
    # poster's till session); meeting days for everyone
    **{name: REMINDERS for name in ("create_group", "update_group", "close_group", "add_group_member",
                                    "remove_group_member")},
    "collection_sheet": ALL - ADMIN, "post_collection_sheet": MONEY | {"loan_officer"},
    # bulk import (0025): the people who move a book onto the system import customers, loans and repayments
    **{name: {"admin", "supervisor", "accountant"} for name in (
        "import_customer", "import_loan", "import_repayment", "import_keys_done", "import_national_ids_taken")},
    "next_meeting_date": ALL, "group_meeting_dates": ALL,
    # M-Pesa: the service user (a cashier), the counter and the books receive, post, validate, preview and import
    # statements and read their reconciliation; an accountant or a supervisor resolves suspense
    **{name: MONEY | {"accountant"} for name in (
        "mobile_money_receive", "mobile_money_receive_batch", "mobile_money_post", "mobile_money_post_batch",
        "mobile_money_validate", "mobile_money_preview", "mobile_money_statement_open", "mobile_money_statement_close",
        "mobile_money_statement_reconciliation", "mobile_money_reconciliation")},
    "mobile_money_apply": {"supervisor", "accountant"}, "mobile_money_refund": {"supervisor", "accountant"},
    "refresh_monthly_financial_summary": REPORTS - {"loan_officer"} | ADMIN,  # reports' refresh; maintenance
    "perform_database_maintenance": ADMIN, "seal_audit_log": ADMIN, "verify_audit_log": ADMIN,
    "audit_chain_genesis": ADMIN, "audit_full_xid": ADMIN, "audit_log_hash": ADMIN,  # audit log
    "requeue_failed_sms": ADMIN,  # SMS outbox
    "post_manual_journal_entry": {"accountant"}, "reverse_manual_journal_entry": {"accountant"},  # journal
    "audit_current_user_id": ALL | {"app"},  # reads the caller's own session setting; harmless
    # formats customer, loan and entry numbers in column defaults, so it runs as whoever inserts; pure
    "scale_padded_number": ALL | {"app"},
    **{name: NOBODY for name in (
        "generate_payment_schedule", "create_journal_entry", "ledger_money", "ledger_periods_per_year",
        "ledger_due_date", "ledger_moment", "ledger_check_amount", "ledger_require_actor", "ledger_account_id",
        "ledger_schedule_rows", "ledger_post_line", "ledger_check_payable", "ledger_allocate",
        "ledger_same_payment", "ledger_recompute_schedule", "reporting_assert_actor",
        "reporting_queue_reminders", "mark_defaulted_loans_unchecked", "scale_refresh_loan_summary",
        "ledger_schedule_amounts", "ledger_schedule_zero_installments", "ledger_longest_working_term",
        "ledger_check_entry_date", "ledger_manual_amount", "astrofin_is_owner_session", "branch_visible",
        "branch_check_name", "branch_code_taken", "branch_refuse_closed", "till_money", "till_check_cash",
        "till_check_method", "till_post_entry", "till_refuse_overdraw", "till_denominations_total",
        "till_check_name", "penalty_occurrences",
        "ledger_payoff_rows", "ledger_payoff_loan", "ledger_payoff_rule", "ledger_payoff_refusal",
        "ledger_take_recovery", "reschedule_owed", "reschedule_check_text", "reschedule_plan",
        "reschedule_for_decision", "group_next_meeting", "group_is_meeting_day", "group_meeting_text",
        "group_check_name", "group_check_meeting", "group_check_officer", "group_visible",
        "ledger_take_repayment", "mobile_money_clean", "mobile_money_reference", "mobile_money_match",
        "mobile_money_owed", "mobile_money_entry", "mobile_money_receive_row", "mobile_money_post_receipt",
        "mobile_money_check_note", "mobile_money_suspense_row", "mobile_money_receipt_error",
        "import_require_actor", "import_check_key", "import_branch", "par_percent",
        # PAR's running totals (0026): the loans' trigger feeds them, the maintenance job (the owner) folds them
        "loan_arrears_fold", "loan_arrears_rebuild", "loan_arrears_drift",
        # the audit chain's check without its head-office guard (0027)
        "verify_audit_log_unscoped")},
}
# sequence -> roles with USAGE/UPDATE (numbering customers and loans they create); the rest via functions.
EXPECTED_SEQUENCES = {"customer_number_seq": {"loan_officer", "supervisor"},
                      "loan_number_seq": {"loan_officer", "supervisor"}}


def db_role(role: str) -> str:
    return f"astrofin_{role}"


def _relations(conn: object) -> list[str]:
    return list(conn.execute(text(  # type: ignore[attr-defined]
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY 1")).scalars())


def test_every_privilege_of_every_role_matches_domain_md(engine: Engine) -> None:
    leaks: list[str] = []
    missing: list[str] = []
    tried = {role: 0 for role in ROLES}
    with engine.connect() as conn:
        relations = _relations(conn)
        assert set(relations) == set(EXPECTED_TABLES), (
            "relations without an expected row (add them to the matrix): "
            f"{sorted(set(relations) ^ set(EXPECTED_TABLES))}")
        for relation in relations:
            columns = list(conn.execute(text(
                "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:r AS regclass) AND attnum > 0 "
                "AND NOT attisdropped"), {"r": f"public.{relation}"}).scalars())
            for role in ROLES:
                want = EXPECTED_TABLES[relation].get(role, set())
                for privilege in TABLE_PRIVILEGES:
                    has = conn.execute(text("SELECT has_table_privilege(:role, CAST(:rel AS regclass), :p)"),
                                       {"role": db_role(role), "rel": f"public.{relation}", "p": privilege}).scalar()
                    tried[role] += 1
                    if has and privilege not in want:
                        leaks.append(f"{role} has {privilege} on {relation}")
                    if not has and privilege in want:
                        missing.append(f"{role} lacks {privilege} on {relation}")
                for privilege in (S, INS, U):
                    allowed = set(columns) if privilege in want else \
                        EXPECTED_COLUMNS.get(relation, {}).get(role, {}).get(privilege, set())
                    for column in columns:
                        has = conn.execute(text(
                            "SELECT has_column_privilege(:role, CAST(:rel AS regclass), :c, :p)"),
                            {"role": db_role(role), "rel": f"public.{relation}", "c": column,
                             "p": privilege}).scalar()
                        tried[role] += 1
                        if has and column not in allowed:
                            leaks.append(f"{role} has {privilege} on {relation}.{column}")
                        if not has and column in allowed:
                            missing.append(f"{role} lacks {privilege} on {relation}.{column}")

        functions = conn.execute(text(
            "SELECT p.oid::regprocedure::text, p.proname FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND p.prorettype <> 'trigger'::regtype "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass "
            "                AND d.objid = p.oid AND d.deptype = 'e') ORDER BY 1")).all()
        names = {name for _sig, name in functions}
        assert names == set(EXPECTED_FUNCTIONS), (
            f"functions without an expected row (add them to the matrix): {sorted(names ^ set(EXPECTED_FUNCTIONS))}")
        for signature, name in functions:
            for role in ROLES:
                has = conn.execute(text("SELECT has_function_privilege(:role, :f, 'EXECUTE')"),
                                   {"role": db_role(role), "f": signature}).scalar()
                tried[role] += 1
                if has and role not in EXPECTED_FUNCTIONS[name]:
                    leaks.append(f"{role} may EXECUTE {signature}")
                if not has and role in EXPECTED_FUNCTIONS[name]:
                    missing.append(f"{role} may not EXECUTE {signature}")

        sequences = conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'S'")).scalars().all()
        for sequence in sequences:
            for role in ROLES:
                for privilege in ("USAGE", "UPDATE", "SELECT"):
                    has = conn.execute(text("SELECT has_sequence_privilege(:role, CAST(:s AS regclass), :p)"),
                                       {"role": db_role(role), "s": f"public.{sequence}", "p": privilege}).scalar()
                    tried[role] += 1
                    want = EXPECTED_SEQUENCES.get(sequence, set())
                    if has and role not in want:
                        leaks.append(f"{role} has {privilege} on sequence {sequence}")
                    if not has and role in want and privilege == "USAGE":
                        missing.append(f"{role} lacks USAGE on sequence {sequence}")

        for role in ROLES:
            creates = conn.execute(text("SELECT has_schema_privilege(:role, 'public', 'CREATE')"),
                                   {"role": db_role(role)}).scalar()
            tried[role] += 1
            if creates:
                leaks.append(f"{role} may CREATE in schema public")
        # The login role must not inherit the staff roles' rights: it only takes one per transaction.
        inherits = conn.execute(text("SELECT rolinherit FROM pg_roles WHERE rolname = 'astrofin_app'")).scalar()
        assert inherits is False, "astrofin_app must be NOINHERIT"

    assert leaks == [], "privileges docs/database.md does not give: " + "; ".join(leaks)
    assert missing == [], "privileges docs/database.md gives that are missing: " + "; ".join(missing)
    for role in ROLES:
        record(f"privileges checked for {db_role(role)} (tables, columns, functions, sequences, schema)",
               tried[role], "0 leaks, 0 missing against the matrix written from docs/database.md", group="privileges")


@pytest.fixture
def app_engine(db_url: URL) -> Iterator[Engine]:
    """The connection the application makes: the login role astrofin_app (trust on the test socket)."""
    engine = create_engine(db_url.set(username="astrofin_app"), poolclass=pool.NullPool)
    yield engine
    engine.dispose()


def _sqlstate(engine: Engine, actor: Actor | None, sql: str, **params: object) -> str:
    try:
        with unit_of_work(engine, actor) as session:
            session.execute(text(sql), params)
    except DBAPIError as exc:
        return getattr(exc.orig, "sqlstate", None) or "?"
    return "ok"


def test_real_attempts_through_the_application_login_are_refused(app_engine: Engine, engine: Engine) -> None:
    actors = staff_actors(engine)
    role_of = {"officer": "loan_officer"}
    by_role = {role_of.get(name, name): actor for name, actor in actors.items()}
    attempts = {
        "cashier": ["SELECT * FROM journal_entries", "SELECT password_hash FROM users",
                    "INSERT INTO customers (first_name, last_name) VALUES ('x', 'y')",
                    "SELECT approve_loan(1, :me)", "UPDATE transactions SET amount = 1"],
        "loan_officer": ["SELECT record_loan_payment(1, 10, current_date, :me, 'k')", "SELECT * FROM audit_logs",
                         "SELECT ledger_take_repayment(1, 10, current_date, :me, NULL, 'cash', NULL)",
                         "UPDATE loans SET status = 'approved'", "INSERT INTO journal_entries (description) "
                         "VALUES ('x')"],
        "supervisor": ["DELETE FROM transactions", "UPDATE journal_entry_details SET debit = 0",
                       "INSERT INTO users (username, password_hash, full_name, role) VALUES ('x', 'h', 'x', 'admin')",
                       "SELECT create_journal_entry(1, :me)"],
        "accountant": ["SELECT record_loan_payment(1, 10, current_date, :me, 'k')", "SELECT * FROM sms_histories",
                       "INSERT INTO journal_entries (description) VALUES ('manual')",
                       "SELECT password_hash FROM users"],
        "admin": ["SELECT record_loan_payment(1, 10, current_date, :me, 'k')", "SELECT disburse_loan(1, :me)",
                  "UPDATE audit_logs SET changed_by = NULL", "DELETE FROM audit_logs", "TRUNCATE audit_logs",
                  "SELECT * FROM journal_entries"],
    }
    results = []
    for role, statements in attempts.items():
        for sql in statements:
            actor = by_role[role]
            state = _sqlstate(app_engine, actor, sql, **({"me": actor.user_id} if ":me" in sql else {}))
            results.append(state)
            assert state == "42501", f"{role}: {sql} gave {state}"
    # The login role alone (before sign-in) reads users and nothing else.
    for sql in ("SELECT * FROM customers", "SELECT * FROM transactions", "UPDATE users SET role = 'admin'"):
        assert _sqlstate(app_engine, None, sql) == "42501", sql
        results.append("42501")
    # Trigger functions cannot be called directly, whoever asks.
    state = _sqlstate(app_engine, by_role["admin"], "SELECT audit_row_change()")
    assert state == "0A000", state
    results.append(state)
    record("real attempts through astrofin_app + SET LOCAL ROLE: forbidden reads, writes, deletes, truncates "
           "and function calls", len(results), f"{results.count('42501')} refused with 42501 "
           "(insufficient_privilege), 1 trigger function refused with 0A000; none succeeded", group="privileges")


IMPERSONATIONS = [
    # (session role, signed-in user, SQL, user named in the call): acting without a signed-in user or in
    # another person's name must be refused (P0106), whatever function is used.
    ("loan_officer", None, "SELECT send_overdue_loan_notifications(1, :other)", "supervisor"),
    ("loan_officer", "officer", "SELECT send_overdue_loan_notifications(1, :other)", "supervisor"),
    ("loan_officer", None, "SELECT send_loan_reminders(ARRAY[1]::bigint[], :other, current_date)", "supervisor"),
    ("supervisor", None, "SELECT mark_defaulted_loans(90, :other)", "supervisor"),
    ("supervisor", "officer", "SELECT send_overdue_loan_notifications(1, :other)", "officer"),
    ("supervisor", "supervisor", "SELECT mark_defaulted_loans(90, :other)", "officer"),
    ("admin", None, "SELECT requeue_failed_sms(ARRAY[]::bigint[], :other)", "admin"),
    ("supervisor", None, "SELECT approve_loan(1, :other)", "supervisor"),
    ("cashier", "cashier", "SELECT record_loan_payment(1, 10, current_date, :other, 'k')", "supervisor"),
    ("supervisor", "supervisor", "SELECT reverse_transaction(1, :other, 'x')", "cashier"),
]


def test_no_staff_session_acts_without_a_signed_in_user_or_in_another_name(app_engine: Engine,
                                                                          engine: Engine) -> None:
    actors = staff_actors(engine)
    refused = 0
    for role, signed_in, sql, other in IMPERSONATIONS:
        with app_engine.connect() as conn:
            try:
                with conn.begin():
                    if signed_in:
                        conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"),
                                     {"u": str(actors[signed_in].user_id)})
                    conn.execute(text(f"SET LOCAL ROLE {db_role(role)}"))  # role names from the list above
                    conn.execute(text(sql), {"other": actors[other].user_id})
                state = "ok"
            except DBAPIError as exc:
                state = getattr(exc.orig, "sqlstate", None) or "?"
        assert state == "P0106", f"{role} (signed in: {signed_in}) ran {sql} for {other}: {state}"
        refused += 1
    record("impersonation: a staff session without a signed-in user, or naming another user, calls each "
           "workflow/reporting/SMS function", refused,
           f"{refused} refused with P0106 (after migration 0005; before it, 5 of these were accepted)",
           group="privileges")
