-- Database roles: one NOLOGIN role per application role with the matrix of docs/database.md "Who may do what", and the login role
-- the application connects as. Roles belong to the whole server, so they are created only when missing
-- and survive a downgrade (other databases on the server may use them).
DO $$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['astrofin_cashier', 'astrofin_loan_officer', 'astrofin_supervisor',
                                  'astrofin_accountant', 'astrofin_admin']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'astrofin_app') THEN
        -- NOINHERIT: the login role holds almost nothing itself; each transaction takes on a staff role.
        CREATE ROLE astrofin_app LOGIN NOINHERIT;
    END IF;
END $$;

GRANT astrofin_cashier, astrofin_loan_officer, astrofin_supervisor, astrofin_accountant, astrofin_admin
    TO astrofin_app;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO astrofin_app, astrofin_cashier, astrofin_loan_officer, astrofin_supervisor,
    astrofin_accountant, astrofin_admin;

-- Sign-in runs before any staff role is taken: the login role reads users and records attempts.
GRANT SELECT ON users TO astrofin_app;
GRANT UPDATE (failed_login_count, locked_until, last_login_at, password_hash) ON users TO astrofin_app;

-- Everyone finds and views customers and loans (and the names of staff on them).
GRANT SELECT ON customers, loans, transactions, payment_schedules
    TO astrofin_cashier, astrofin_loan_officer, astrofin_supervisor, astrofin_accountant, astrofin_admin;
GRANT SELECT (id, username, full_name, role, is_active) ON users
    TO astrofin_cashier, astrofin_loan_officer, astrofin_supervisor, astrofin_accountant;

-- Loan officers and supervisors create and edit customers and create applications.
GRANT INSERT, UPDATE ON customers TO astrofin_loan_officer, astrofin_supervisor;
GRANT USAGE ON SEQUENCE customer_number_seq TO astrofin_loan_officer, astrofin_supervisor;
GRANT INSERT ON loans TO astrofin_loan_officer, astrofin_supervisor;
GRANT USAGE ON SEQUENCE loan_number_seq TO astrofin_loan_officer, astrofin_supervisor;

-- Reminders and their history.
GRANT SELECT ON sms_templates TO astrofin_loan_officer, astrofin_supervisor, astrofin_admin;
GRANT SELECT ON sms_histories TO astrofin_loan_officer, astrofin_supervisor, astrofin_admin;

-- Accounting: the accountant keeps the books; the supervisor reads them.
GRANT SELECT ON chart_of_accounts, journal_entries, journal_entry_details TO astrofin_accountant, astrofin_supervisor;
GRANT INSERT, UPDATE ON chart_of_accounts TO astrofin_accountant;

-- Administration: users (never deleted), templates, the outbox, the audit log (read only).
GRANT SELECT, INSERT, UPDATE ON users TO astrofin_admin;
GRANT INSERT, UPDATE ON sms_templates TO astrofin_admin;
GRANT UPDATE (status, error_message, attempts) ON sms_histories TO astrofin_admin;
GRANT SELECT ON audit_logs TO astrofin_admin;
