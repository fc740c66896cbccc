"""What the front desk screens ask of the repositories beyond the ledger's calls."""

import pytest

from db.errors import NotFound
from db.repositories.loans import LoanRepository, normalized_loan_number
from tests.repositories.conftest import make_active_loan


def test_loan_officers_are_active_officers_and_supervisors(engine, actors):
    for who in ("officer", "cashier", "supervisor"):
        staff = LoanRepository(engine, actors[who]).loan_officers()
        assert {(s.id, s.role) for s in staff} == {
            (actors["officer"].user_id, "loan_officer"), (actors["supervisor"].user_id, "supervisor")}
    engine.dispose()
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE users SET is_active = false WHERE username = 'officer'")
    staff = LoanRepository(engine, actors["supervisor"]).loan_officers()
    assert [s.role for s in staff] == ["supervisor"]


def test_loan_numbers_are_found_however_they_are_typed(engine, actors):
    loan = make_active_loan(engine, actors, "Otieno", "Ouma", days_ago=10)
    repo = LoanRepository(engine, actors["cashier"])
    digits = int(loan.loan_number[2:])
    for typed in (loan.loan_number, loan.loan_number.lower(), f"L{digits}", f" l-{digits} "):
        assert repo.find_by_number(typed).id == loan.id
    assert normalized_loan_number("L-0'; --") == "L-0'; --"
    with pytest.raises(NotFound):
        repo.find_by_number("L-0'; --")
