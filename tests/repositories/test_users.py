import pytest
from sqlalchemy import text

from db.errors import Refused, ValidationError
from db.passwords import verify_password
from db.repositories.users import UserRepository


def test_admin_creates_changes_locks_and_deactivates_but_never_deletes(engine, actors):
    repo = UserRepository(engine, actors["admin"])
    made = repo.create("mary.teller", "Mary Achieng", "cashier", "counter-pass-1", "counter-pass-1")
    assert made.role == "cashier" and made.is_active
    assert repo.change_role(made.id, "supervisor").role == "supervisor"
    assert repo.lock(made.id).locked_until is not None
    assert repo.unlock(made.id).locked_until is None
    repo.reset_password(made.id, "another-pass-2", "another-pass-2")
    assert not repo.deactivate(made.id).is_active
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE id = :i"), {"i": made.id}).scalar_one()
        audit = conn.execute(text("SELECT new_values::text FROM audit_logs WHERE table_name = 'users'")).scalars()
        logged = " ".join(audit)
    assert verify_password(stored, "another-pass-2")
    assert "argon2" not in logged  # no hash in the audit log's values
    assert "mary.teller" in [m.username for m in repo.list()]


def test_new_account_refusals_are_per_field(engine, actors):
    repo = UserRepository(engine, actors["admin"])
    with pytest.raises(ValidationError) as refused:
        repo.create("", " ", "teller", "short", "short")
    assert set(refused.value.fields) == {"username", "full_name", "role", "password"}
    with pytest.raises(ValidationError, match="taken"):
        repo.create("Cashier", "Someone", "cashier", "long-enough-1", "long-enough-1")


def test_the_admin_cannot_lock_themselves_out(engine, actors):
    repo = UserRepository(engine, actors["admin"])
    with pytest.raises(Refused):
        repo.deactivate(actors["admin"].user_id)


@pytest.mark.parametrize("role", ["cashier", "loan_officer", "supervisor", "accountant"])
def test_only_the_admin_manages_users(engine, actors, role):
    name = "officer" if role == "loan_officer" else role
    with pytest.raises(Refused, match="your role may not"):
        UserRepository(engine, actors[name]).create("x.y", "X Y", "cashier", "long-enough-1", "long-enough-1")


def test_an_account_locked_by_the_admin_says_so_at_sign_in(engine, actors):
    from db.repositories.auth import SignInRefused, authenticate

    repo = UserRepository(engine, actors["admin"])
    made = repo.create("locked.out", "Locked Out", "cashier", "counter-pass-1", "counter-pass-1")
    repo.lock(made.id)
    with pytest.raises(SignInRefused) as refused:
        authenticate(engine, "locked.out", "counter-pass-1")
    assert "locked by an administrator" in str(refused.value)
    assert "9999" not in str(refused.value)
