"""The day at a glance: real counts and sums per role, run under each role's database grants."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from db.engine import Actor
from db.repositories.dashboard import day_at_a_glance
from tests.tui.conftest import TODAY


def _insert(conn, sql: str, **params) -> int:  # type: ignore[no-untyped-def]
    return int(conn.execute(text(sql + " RETURNING id"), params).scalar_one())


@pytest.fixture
def portfolio(engine: Engine, actors: dict[str, Actor]) -> None:
    """Two customers; loans pending, approved, active (one late, one on time), closed; a day of payments."""
    officer = actors["officer"].user_id
    cashier = actors["cashier"].user_id
    with engine.begin() as conn:
        c1 = _insert(conn, "INSERT INTO customers (first_name, last_name) VALUES ('Wanjiku', 'Kamau')")
        c2 = _insert(conn, "INSERT INTO customers (first_name, last_name) VALUES ('Otieno', 'Ouma')")
        _insert(conn, "INSERT INTO customers (first_name, last_name, status) VALUES ('Old', 'Client', 'inactive')")

        def loan(customer: int, status: str, officer_id: int | None) -> int:
            return _insert(conn, "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, "
                           "term, repayment_frequency, status, loan_officer_id) "
                           "VALUES (:c, 10000, 24, 'flat', 12, 'monthly', :s, :o)", c=customer, s=status, o=officer_id)

        loan(c1, "pending", officer)
        loan(c2, "pending", None)
        loan(c2, "approved", officer)
        late = loan(c1, "active", officer)
        on_time = loan(c2, "active", None)
        loan(c2, "closed", officer)

        def installment(loan_id: int, n: int, due: date, principal: str, paid: str, status: str) -> None:
            _insert(conn, "INSERT INTO payment_schedules (loan_id, installment_number, due_date, principal_due, "
                    "interest_due, total_due, principal_paid, total_paid, status, paid_date) "
                    "VALUES (:l, :n, :d, :p, 0, :p, :pp, :pp, :s, :pd)",
                    l=loan_id, n=n, d=due, p=Decimal(principal), pp=Decimal(paid), s=status,
                    pd=due if status == "paid" else None)

        installment(late, 1, TODAY - timedelta(days=3), "1000.00", "400.00", "partial")
        installment(late, 2, TODAY + timedelta(days=27), "1000.00", "0.00", "pending")
        installment(on_time, 1, TODAY - timedelta(days=30), "500.00", "500.00", "paid")
        installment(on_time, 2, TODAY, "500.00", "0.00", "pending")

        def payment(loan_id: int, amount: str, day: date) -> int:
            return _insert(conn, "INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, "
                           "transaction_date, created_by) VALUES (:l, 'repayment', :a, :a, :d, :u)",
                           l=loan_id, a=Decimal(amount), d=day, u=cashier)

        payment(late, "250.50", TODAY)
        payment(on_time, "1200.25", TODAY)
        undone = payment(on_time, "99.99", TODAY)
        payment(late, "150.00", TODAY - timedelta(days=1))
        _insert(conn, "INSERT INTO transactions (loan_id, transaction_type, amount, transaction_date, "
                "reverses_transaction_id) VALUES (:l, 'reversal', 99.99, :d, :r)", l=on_time, d=TODAY, r=undone)

        accounts = dict(conn.execute(text("SELECT account_code, id FROM chart_of_accounts")).tuples().all())
        entry = _insert(conn, "INSERT INTO journal_entries (entry_date, description) VALUES (:d, 'repayment')",
                        d=TODAY)
        for account, debit, credit in (("1000", "1450.75", "0"), ("1200", "0", "1450.75")):
            _insert(conn, "INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit) "
                    "VALUES (:e, :a, :d, :c)", e=entry, a=accounts[account], d=Decimal(debit), c=Decimal(credit))
        conn.execute(text("UPDATE users SET locked_until = now() + interval '10 minutes' WHERE username = 'officer'"))
        conn.execute(text("INSERT INTO users (username, password_hash, full_name, role, is_active) VALUES "
                          "('retired', '$argon2id$v=19$m=65536,t=3,p=4$eA$eA', 'Retired Clerk', 'cashier', false)"))


def _figures(engine: Engine, actor: Actor) -> dict[str, int | Decimal]:
    glance = day_at_a_glance(engine, actor, TODAY)
    assert glance.as_of == TODAY
    for figure in glance.figures:
        assert isinstance(figure.value, Decimal) == figure.is_money
    return {figure.label: figure.value for figure in glance.figures}


@pytest.mark.usefixtures("portfolio")
def test_cashier_sees_the_counter_day(engine: Engine, actors: dict[str, Actor]) -> None:
    assert _figures(engine, actors["cashier"]) == {
        "Repayments today": 2,
        "Collected today": Decimal("1450.75"),
        "Installments due today": 1,
        "Awaiting disbursement": 1,
    }


@pytest.mark.usefixtures("portfolio")
def test_loan_officer_sees_own_portfolio(engine: Engine, actors: dict[str, Actor]) -> None:
    assert _figures(engine, actors["officer"]) == {
        "My active loans": 1,
        "My overdue loans": 1,
        "My pending applications": 1,
        "Active customers": 2,
    }


@pytest.mark.usefixtures("portfolio")
def test_supervisor_sees_the_branch(engine: Engine, actors: dict[str, Actor]) -> None:
    assert _figures(engine, actors["supervisor"]) == {
        "Pending applications": 2,
        "Awaiting disbursement": 1,
        "Active loans": 2,
        "Overdue loans": 1,
        "Repayments today": 2,
        "Collected today": Decimal("1450.75"),
        "Principal outstanding": Decimal("2100.00"),
    }


@pytest.mark.usefixtures("portfolio")
def test_accountant_sees_the_books(engine: Engine, actors: dict[str, Actor]) -> None:
    assert _figures(engine, actors["accountant"]) == {
        "Journal entries today": 1,
        "Debits posted today": Decimal("1450.75"),
        "Collected today": Decimal("1450.75"),
        "Principal outstanding": Decimal("2100.00"),
    }


@pytest.mark.usefixtures("portfolio")
def test_a_deactivated_account_sees_nothing_even_while_signed_in(engine: Engine, actors: dict[str, Actor]) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET is_active = false WHERE username = 'accountant'"))
    assert set(_figures(engine, actors["accountant"]).values()) == {0}


@pytest.mark.usefixtures("portfolio")
def test_admin_sees_accounts_and_activity(engine: Engine, actors: dict[str, Actor]) -> None:
    figures = _figures(engine, actors["admin"])
    assert figures["Active staff accounts"] == 5
    assert figures["Locked accounts"] == 1
    assert figures["Active customers"] == 2
    assert figures["Audit entries today"] == 0  # the audit log is dated by the server's clock, not TODAY
    with engine.connect() as conn:
        server_today = conn.execute(text("SELECT current_date")).scalar_one()
    today = {f.label: f.value for f in day_at_a_glance(engine, actors["admin"], server_today).figures}
    assert int(today["Audit entries today"]) >= 10


def test_an_empty_branch_shows_zeros(engine: Engine, actors: dict[str, Actor]) -> None:
    figures = _figures(engine, actors["supervisor"])
    assert figures["Collected today"] == Decimal("0.00")
    assert figures["Pending applications"] == 0


def test_the_day_is_a_parameter(engine: Engine, actors: dict[str, Actor], portfolio: None) -> None:
    tomorrow = day_at_a_glance(engine, actors["cashier"], TODAY + timedelta(days=1))
    values = {f.label: f.value for f in tomorrow.figures}
    assert values["Repayments today"] == 0 and values["Installments due today"] == 0
