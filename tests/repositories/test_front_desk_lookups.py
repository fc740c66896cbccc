"""What the front desk screens ask of the repositories beyond the ledger's calls."""

from db.repositories.loans import LoanRepository


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
