"""A schedule never holds installments of 0.00: terms whose rounded installment would repay the loan before
its last installment are refused with the longest shorter term that works, in the one schedule function behind
the preview, the disbursement and the repositories; a loan on the longest term repays to a closed loan that
owes nothing, has no unpaid installment and is 0 days past due; revision 0013 repairs loans written before."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from db import migrate
from db.errors import ValidationError
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.validation import CustomerInput
from tests.ledger.helpers import TODAY, Staff, active_loan, make_loan, owed, pay, refused, scalar, schedule
from tests.repositories.conftest import actor_for

PREVIEW = "SELECT * FROM preview_payment_schedule(:p, :r, :m, :n, :f, :d)"
# The two cases seen at the counter: (principal, rate, frequency, term asked, installments of 0.00 it had).
CASES = [
    (Decimal("1000.00"), Decimal("99.99"), "monthly", 104, 2),
    (Decimal("5000.00"), Decimal("60.00"), "biweekly", 520, 86),
]


def _preview(conn: Connection, principal: Decimal, rate: Decimal, frequency: str, term: int,
             method: str = "declining_balance") -> list[Any]:
    return list(conn.execute(text(PREVIEW), {"p": principal, "r": rate, "m": method, "n": term, "f": frequency,
                                             "d": TODAY}))


def _works(conn: Connection, principal: Decimal, rate: Decimal, frequency: str, term: int) -> bool:
    conn.execute(text("SAVEPOINT try_term"))
    try:
        _preview(conn, principal, rate, frequency, term)
    except DBAPIError:
        conn.execute(text("ROLLBACK TO SAVEPOINT try_term"))
        return False
    conn.execute(text("RELEASE SAVEPOINT try_term"))
    return True


@pytest.mark.parametrize(("principal", "rate", "frequency", "term", "zeros"), CASES)
def test_terms_with_installments_of_zero_are_refused_with_the_longest_term_that_works(
        engine: Engine, principal: Decimal, rate: Decimal, frequency: str, term: int, zeros: int) -> None:
    with engine.connect() as conn:
        with refused("P0107") as info:
            _preview(conn, principal, rate, frequency, term)
        diag = info.value.orig.diag  # type: ignore[union-attr]
        assert diag.column_name == "term"
        message = diag.message_primary
        found = re.fullmatch(
            rf"at {re.escape(format(rate.normalize(), 'f'))} % a {frequency} loan of {principal:,} can run at most "
            rf"(\d+) installments: over {term} installments the rounded installment repays it early and the last "
            rf"{zeros} would be 0\.00", message)
        assert found, message
        most = int(found.group(1))
        conn.rollback()
        # N itself works: no installment of 0.00, principals sum to the principal, the balance ends at 0.
        rows = _preview(conn, principal, rate, frequency, most)
        assert len(rows) == most
        assert all(r.total_due > 0 for r in rows)
        assert sum(r.principal_due for r in rows) == principal and rows[-1].balance_after == 0
        # …and it is the longest: every term from N + 1 to the one asked is refused.
        assert not any(_works(conn, principal, rate, frequency, n) for n in range(most + 1, term + 1))


def test_the_counter_cases_name_these_terms(engine: Engine) -> None:
    """The figures a loan officer reads for the two cases seen at the counter."""
    with engine.connect() as conn:
        for (principal, rate, frequency, term, _zeros), most in zip(CASES, (102, 434), strict=True):
            with refused("P0107", f"can run at most {most} installments"):
                _preview(conn, principal, rate, frequency, term)
            conn.rollback()


@pytest.mark.parametrize(("principal", "rate", "frequency", "most"),
                         [(Decimal("1000.00"), Decimal("99.99"), "monthly", 102),
                          (Decimal("5000.00"), Decimal("60.00"), "biweekly", 434)])
def test_a_loan_on_the_longest_term_repays_to_a_closed_loan_with_nothing_unpaid(
        engine: Engine, staff: Staff, principal: Decimal, rate: Decimal, frequency: str, most: int) -> None:
    """Disbursed on the longest term that works and repaid in one payment: closed, owes nothing, no unpaid
    installment, 0 days past due, whatever day it is asked about."""
    first = TODAY - timedelta(days=30)
    with engine.begin() as conn:
        loan = active_loan(conn, staff, principal=principal, rate=rate, term=most, frequency=frequency,
                           disbursed=TODAY - timedelta(days=60), first=first)
        rows = schedule(conn, loan)
        assert len(rows) == most and all(r.total_due > 0 for r in rows)
        assert sum(r.principal_due for r in rows) == principal
        pay(conn, staff, loan, owed(conn, loan))
        assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan) == "closed"
        assert owed(conn, loan) == 0
        assert scalar(conn, "SELECT count(*) FROM payment_schedules WHERE loan_id = :l AND paid_date IS NULL",
                      l=loan) == 0
        later = rows[-1].due_date + timedelta(days=365)
        assert scalar(conn, "SELECT loan_days_past_due(:l, :d)", l=loan, d=later) == 0
        assert scalar(conn, "SELECT days_past_due FROM vw_loan_summary WHERE loan_id = :l", l=loan) == 0
        assert scalar(conn, "SELECT oldest_unpaid_due_date FROM loans WHERE id = :l", l=loan) is None


def test_disbursement_refuses_such_terms(engine: Engine, staff: Staff) -> None:
    """An application written past the repository (straight into loans) cannot be disbursed either."""
    with engine.begin() as conn:
        loan = make_loan(conn, staff, principal=Decimal("1000.00"), rate=Decimal("99.99"), term=104)
        conn.execute(text("SELECT approve_loan(:l, :s)"), {"l": loan, "s": staff.supervisor})
    with engine.begin() as conn, refused("P0107", "can run at most 102 installments"):
        conn.execute(text("SELECT disburse_loan(:l, :c, :d, NULL)"),
                     {"l": loan, "c": staff.cashier, "d": TODAY})
    with engine.connect() as conn:
        assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=loan) == "approved"
        assert scalar(conn, "SELECT count(*) FROM payment_schedules WHERE loan_id = :l", l=loan) == 0


def test_the_repository_puts_the_refusal_beside_the_term(engine: Engine) -> None:
    officer = actor_for(engine, "officer")
    loans = LoanRepository(engine, officer)
    terms = LoanTerms(Decimal("1000.00"), Decimal("99.99"), "declining_balance", 104, "monthly")
    with pytest.raises(ValidationError) as preview:
        loans.preview_schedule(terms, TODAY + timedelta(days=30))
    assert set(preview.value.fields) == {"term"}
    assert "can run at most 102 installments" in preview.value.fields["term"]
    customer = CustomerRepository(engine, officer).create(CustomerInput("Amina", "Otieno"), today=TODAY)
    with pytest.raises(ValidationError) as applied:
        loans.apply(LoanApplication(customer.id, terms), today=TODAY)
    assert applied.value.fields == preview.value.fields
    with engine.connect() as conn:
        assert scalar(conn, "SELECT count(*) FROM loans") == 0
    ok = loans.apply(LoanApplication(customer.id, LoanTerms(terms.principal, terms.interest_rate,
                                                            terms.interest_method, 102, "monthly")), today=TODAY)
    assert ok.status == "pending" and ok.terms.term == 102


SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
terms = st.fixed_dictionaries({
    "p": st.integers(1, 10_000_000).map(lambda cents: Decimal(cents) / 100),
    "r": st.integers(0, 100_000).map(lambda bp: Decimal(bp) / 100),
    "m": st.sampled_from(["declining_balance", "flat"]),
    "n": st.integers(1, 520),
    "f": st.sampled_from(["weekly", "biweekly", "monthly"]),
})


@settings(max_examples=300, deadline=None, suppress_health_check=SUPPRESS)
@given(loan=terms)
def test_an_accepted_schedule_has_no_installment_of_zero_and_sums_to_the_principal(
        engine: Engine, loan: dict[str, Any]) -> None:
    with engine.connect() as conn:
        try:
            rows = conn.execute(text(PREVIEW), {**loan, "d": TODAY}).all()
        except DBAPIError as exc:
            # Refused: only for installments of 0.00, with a shorter term that is accepted.
            diag = exc.orig.diag  # type: ignore[union-attr]
            assert (exc.orig.sqlstate, diag.column_name) == ("P0107", "term"), str(exc.orig)  # type: ignore[union-attr]
            most = int(re.search(r"at most (\d+) installment", diag.message_primary).group(1))  # type: ignore[union-attr]
            assert 1 <= most < loan["n"]
            conn.rollback()
            rows = conn.execute(text(PREVIEW), {**loan, "n": most, "d": TODAY}).all()
            assert len(rows) == most
        assert all(r.total_due > 0 for r in rows)
        assert sum(r.principal_due for r in rows) == loan["p"]
        assert rows[-1].balance_after == 0


# Revision 0013 repairs what 0012 wrote: a closed and an active loan with installments of 0.00.
def _loan_at_0012(conn: Connection, staff: Staff, term: int, first: date) -> int:
    return active_loan(conn, staff, principal=Decimal("1000.00"), rate=Decimal("99.99"), term=term,
                       disbursed=first - timedelta(days=31), first=first)


def test_revision_0013_repairs_schedules_with_installments_of_zero(empty_database: URL) -> None:
    from sqlalchemy import create_engine, pool

    from db.seed import seed_database
    from tests.ledger.helpers import load_staff

    url = empty_database
    migrate.upgrade(url, "0012")
    seed_database(url, demo=True, staff_only=True)
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        first = TODAY - timedelta(days=400)
        with engine.begin() as conn:
            staff = load_staff(conn)
            closed = _loan_at_0012(conn, staff, 104, first)
            pay(conn, staff, closed, owed(conn, closed))
            open_ = _loan_at_0012(conn, staff, 104, first)
            fine = _loan_at_0012(conn, staff, 12, first)
            assert [r.total_due for r in schedule(conn, closed)][-2:] == [0, 0]
            assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=closed) == "closed"
            # The defect: a closed loan with unpaid installments, and days past due once they fall due.
            assert scalar(conn, "SELECT loan_days_past_due(:l, :d)", l=closed, d=first + timedelta(days=3300)) > 0
            before_fine = schedule(conn, fine)
            owed_open = owed(conn, open_)
        engine.dispose()
        migrate.upgrade(url, "0013")
        with engine.begin() as conn:
            for loan in (closed, open_):
                rows = schedule(conn, loan)
                assert len(rows) == 102 and all(r.total_due > 0 for r in rows)
                assert scalar(conn, "SELECT term FROM loans WHERE id = :l", l=loan) == 102
            assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=closed) == "closed"
            assert scalar(conn, "SELECT count(*) FROM payment_schedules WHERE loan_id = :l AND paid_date IS NULL",
                          l=closed) == 0
            assert scalar(conn, "SELECT loan_days_past_due(:l, :d)", l=closed, d=first + timedelta(days=3300)) == 0
            assert owed(conn, open_) == owed_open
            assert schedule(conn, fine) == before_fine
            # The open loan closes with the payment of what it owes.
            pay(conn, staff, open_, owed_open)
            assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=open_) == "closed"
            audited = scalar(conn, "SELECT count(*) FROM audit_logs WHERE table_name = 'payment_schedules' "
                                   "AND action = 'DELETE' AND (old_values->>'loan_id')::bigint IN (:a, :b)",
                             a=closed, b=open_)
            assert audited == 4
        engine.dispose()
    finally:
        engine.dispose()
