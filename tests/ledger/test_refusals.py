"""Every function given bad input refuses with a clear message and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Connection, Engine, text

from tests.ledger.helpers import TODAY, Staff, active_loan, fingerprint, load_staff, make_loan, pay, refused, scalar

TOMORROW = TODAY + timedelta(days=1)


@dataclass(frozen=True)
class World:
    staff: Staff
    pending: int
    approved: int
    active: int
    payment: int
    disbursement: int


@pytest.fixture
def world(engine: Engine) -> World:
    with engine.begin() as conn:
        staff = load_staff(conn)
        pending = make_loan(conn, staff)
        approved = make_loan(conn, staff)
        conn.execute(text("SELECT approve_loan(:l, :s)"), {"l": approved, "s": staff.supervisor})
        active = active_loan(conn, staff, disbursed=TODAY - timedelta(days=60))
        payment = pay(conn, staff, active, "100.00")
        disbursement = scalar(conn, "SELECT id FROM transactions WHERE loan_id = :l "
                                    "AND transaction_type = 'disbursement'", l=active)
    return World(staff, pending, approved, active, payment, disbursement)


# (SQL, parameters from the world, SQLSTATE, message fragment)
CASES: list[tuple[str, str, object, str, str]] = [
    ("approve unknown loan", "SELECT approve_loan(:l, :u)", lambda w: {"l": 999999, "u": w.staff.supervisor},
     "P0101", "does not exist"),
    ("approve active loan", "SELECT approve_loan(:l, :u)", lambda w: {"l": w.active, "u": w.staff.supervisor},
     "P0102", "only a pending application"),
    ("approve null loan", "SELECT approve_loan(:l, :u)", lambda w: {"l": None, "u": w.staff.supervisor},
     "P0107", "loan id is missing"),
    ("approve by nobody", "SELECT approve_loan(:l, :u)", lambda w: {"l": w.pending, "u": None},
     "P0107", "without the acting user"),
    ("approve by cashier", "SELECT approve_loan(:l, :u)", lambda w: {"l": w.pending, "u": w.staff.cashier},
     "P0106", "Only a supervisor may approve"),
    ("approve by unknown user", "SELECT approve_loan(:l, :u)", lambda w: {"l": w.pending, "u": 999999},
     "P0101", "User 999999 does not exist"),
    ("reject without reason", "SELECT reject_loan(:l, :u, :r)",
     lambda w: {"l": w.pending, "u": w.staff.supervisor, "r": "  "}, "P0107", "reason"),
    ("reject approved loan", "SELECT reject_loan(:l, :u, 'x')", lambda w: {"l": w.approved, "u": w.staff.supervisor},
     "P0102", "only a pending application"),
    ("reject unknown loan", "SELECT reject_loan(:l, :u, 'x')", lambda w: {"l": 999999, "u": w.staff.supervisor},
     "P0101", "does not exist"),
    ("disburse unknown loan", "SELECT disburse_loan(:l, :u)", lambda w: {"l": 999999, "u": w.staff.cashier},
     "P0101", "does not exist"),
    ("disburse pending loan", "SELECT disburse_loan(:l, :u)", lambda w: {"l": w.pending, "u": w.staff.cashier},
     "P0102", "only an approved loan"),
    ("disburse tomorrow", "SELECT disburse_loan(:l, :u, :d)",
     lambda w: {"l": w.approved, "u": w.staff.cashier, "d": TOMORROW}, "P0104", "in the future"),
    ("first repayment before disbursement", "SELECT disburse_loan(:l, :u, :d, :f)",
     lambda w: {"l": w.approved, "u": w.staff.cashier, "d": TODAY, "f": TODAY}, "P0104", "must be after"),
    ("disburse by officer", "SELECT disburse_loan(:l, :u)", lambda w: {"l": w.approved, "u": w.staff.officer},
     "P0106", "Only a cashier or supervisor"),
    ("pay unknown loan", "SELECT record_loan_payment(:l, 10, current_date, :u)",
     lambda w: {"l": 999999, "u": w.staff.cashier}, "P0101", "does not exist"),
    ("pay zero", "SELECT record_loan_payment(:l, 0, current_date, :u)",
     lambda w: {"l": w.active, "u": w.staff.cashier}, "P0103", "more than zero"),
    ("pay negative", "SELECT record_loan_payment(:l, -5, current_date, :u)",
     lambda w: {"l": w.active, "u": w.staff.cashier}, "P0103", "more than zero"),
    ("pay fractions of a cent", "SELECT record_loan_payment(:l, 12.345, current_date, :u)",
     lambda w: {"l": w.active, "u": w.staff.cashier}, "P0103", "more than two decimals"),
    ("pay null amount", "SELECT record_loan_payment(:l, NULL, current_date, :u)",
     lambda w: {"l": w.active, "u": w.staff.cashier}, "P0107", "amount is missing"),
    ("pay null date", "SELECT record_loan_payment(:l, 10, NULL, :u)",
     lambda w: {"l": w.active, "u": w.staff.cashier}, "P0107", "date is missing"),
    ("pay null loan", "SELECT record_loan_payment(NULL, 10, current_date, :u)",
     lambda w: {"u": w.staff.cashier}, "P0107", "loan id is missing"),
    ("pay by nobody", "SELECT record_loan_payment(:l, 10, current_date, NULL)",
     lambda w: {"l": w.active}, "P0107", "without the acting user"),
    ("pay tomorrow", "SELECT record_loan_payment(:l, 10, :d, :u)",
     lambda w: {"l": w.active, "d": TOMORROW, "u": w.staff.cashier}, "P0104", "in the future"),
    ("pay before disbursement", "SELECT record_loan_payment(:l, 10, :d, :u)",
     lambda w: {"l": w.active, "d": TODAY - timedelta(days=61), "u": w.staff.cashier}, "P0104", "before loan"),
    ("pay pending loan", "SELECT record_loan_payment(:l, 10, current_date, :u)",
     lambda w: {"l": w.pending, "u": w.staff.cashier}, "P0102", "only on active or defaulted"),
    ("pay too much", "SELECT record_loan_payment(:l, 1000000, current_date, :u)",
     lambda w: {"l": w.active, "u": w.staff.cashier}, "P0103", "outstanding amount is"),
    ("pay with a blank key", "SELECT record_loan_payment(:l, 10, current_date, :u, '')",
     lambda w: {"l": w.active, "u": w.staff.cashier}, "P0107", "idempotency key"),
    ("preview unknown loan", "SELECT * FROM preview_loan_payment(:l, 10, current_date)",
     lambda w: {"l": 999999}, "P0101", "does not exist"),
    ("preview zero", "SELECT * FROM preview_loan_payment(:l, 0, current_date)",
     lambda w: {"l": w.active}, "P0103", "more than zero"),
    ("preview tomorrow", "SELECT * FROM preview_loan_payment(:l, 10, :d)",
     lambda w: {"l": w.active, "d": TOMORROW}, "P0104", "in the future"),
    ("preview null date", "SELECT * FROM preview_loan_payment(:l, 10, NULL)",
     lambda w: {"l": w.active}, "P0107", "date is missing"),
    ("reverse unknown transaction", "SELECT reverse_transaction(999999, :u, 'x')",
     lambda w: {"u": w.staff.supervisor}, "P0101", "does not exist"),
    ("reverse a disbursement", "SELECT reverse_transaction(:t, :u, 'x')",
     lambda w: {"t": w.disbursement, "u": w.staff.supervisor}, "P0102", "Only repayments"),
    ("reverse without reason", "SELECT reverse_transaction(:t, :u, NULL)",
     lambda w: {"t": w.payment, "u": w.staff.supervisor}, "P0107", "reason"),
    ("reverse by cashier", "SELECT reverse_transaction(:t, :u, 'x')",
     lambda w: {"t": w.payment, "u": w.staff.cashier}, "P0106", "Only a supervisor"),
    ("reverse null", "SELECT reverse_transaction(NULL, :u, 'x')",
     lambda w: {"u": w.staff.supervisor}, "P0107", "transaction id is missing"),
    ("write off unknown loan", "SELECT write_off_loan(999999, :u, 'x')",
     lambda w: {"u": w.staff.supervisor}, "P0101", "does not exist"),
    ("write off pending loan", "SELECT write_off_loan(:l, :u, 'x')",
     lambda w: {"l": w.pending, "u": w.staff.supervisor}, "P0102", "only an active or defaulted"),
    ("write off tomorrow", "SELECT write_off_loan(:l, :u, 'x', :d)",
     lambda w: {"l": w.active, "u": w.staff.supervisor, "d": TOMORROW}, "P0104", "in the future"),
    ("write off without reason", "SELECT write_off_loan(:l, :u, '')",
     lambda w: {"l": w.active, "u": w.staff.supervisor}, "P0107", "reason"),
    ("write off by cashier", "SELECT write_off_loan(:l, :u, 'x')",
     lambda w: {"l": w.active, "u": w.staff.cashier}, "P0106", "Only a supervisor"),
    ("journal for unknown transaction", "SELECT create_journal_entry(999999, :u)",
     lambda w: {"u": w.staff.cashier}, "P0101", "does not exist"),
    ("journal for null", "SELECT create_journal_entry(NULL, :u)",
     lambda w: {"u": w.staff.cashier}, "P0107", "transaction id is missing"),
    ("schedule for unknown loan", "SELECT generate_payment_schedule(999999, :u)",
     lambda w: {"u": w.staff.cashier}, "P0101", "does not exist"),
    ("schedule for pending loan", "SELECT generate_payment_schedule(:l, :u)",
     lambda w: {"l": w.pending, "u": w.staff.cashier}, "P0102", "approved, active or defaulted"),
    ("schedule for a loan with payments", "SELECT generate_payment_schedule(:l, :u)",
     lambda w: {"l": w.active, "u": w.staff.cashier}, "P0102", "has repayments"),
    ("preview schedule of an unknown method", "SELECT * FROM preview_payment_schedule(100, 1, 'x', 1, 'monthly', NULL)",
     lambda w: {}, "P0107", "Unknown interest method"),
]


@pytest.mark.parametrize(("sql", "params", "code", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(engine: Engine, world: World, sql: str, params: object,
                                                  code: str, message: str) -> None:
    before = fingerprint(engine)
    with refused(code, message), engine.begin() as conn:
        conn.execute(text(sql), params(world))  # type: ignore[operator]
    assert fingerprint(engine) == before


def test_create_journal_entry_twice_returns_the_same_entry(engine: Engine, world: World) -> None:
    with engine.begin() as conn:
        first = scalar(conn, "SELECT create_journal_entry(:t, :u)", t=world.payment, u=world.staff.cashier)
        again = scalar(conn, "SELECT create_journal_entry(:t, :u)", t=world.payment, u=world.staff.cashier)
        assert first == again
        assert scalar(conn, "SELECT count(*) FROM journal_entries WHERE transaction_id = :t", t=world.payment) == 1


@pytest.mark.parametrize("sql", [
    "UPDATE transactions SET amount = amount + 1",
    "DELETE FROM transactions",
    "TRUNCATE transactions CASCADE",
    "UPDATE journal_entries SET description = 'edited'",
    "DELETE FROM journal_entries",
    "UPDATE journal_entry_details SET debit = debit",
    "DELETE FROM journal_entry_details",
])
def test_posted_money_cannot_be_edited_even_by_the_superuser(engine: Engine, world: World, sql: str) -> None:
    before = fingerprint(engine)
    with refused("P0108", "is posted and cannot be changed"), engine.begin() as conn:
        conn.execute(text(sql))
    assert fingerprint(engine) == before


def _entry(conn: Connection, lines: list[tuple[str, str, str]]) -> None:
    entry = scalar(conn, "INSERT INTO journal_entries (description) VALUES ('manual') RETURNING id")
    for code, debit, credit in lines:
        conn.execute(
            text("INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit) "
                 "SELECT :e, id, :d, :c FROM chart_of_accounts WHERE account_code = :code"),
            {"e": entry, "d": Decimal(debit), "c": Decimal(credit), "code": code})


@pytest.mark.parametrize(("lines", "message"), [
    ([("1000", "10.00", "0"), ("4000", "0", "9.99")], "does not balance"),
    ([("1000", "10.00", "0")], "needs at least two"),
    ([], "needs at least two"),
])
def test_an_unbalanced_entry_is_refused_at_commit(engine: Engine, world: World, lines: list[tuple[str, str, str]],
                                                  message: str) -> None:
    before = fingerprint(engine)
    with refused("P0108", message), engine.begin() as conn:
        _entry(conn, lines)
    assert fingerprint(engine) == before


def test_a_balanced_manual_entry_commits(engine: Engine, world: World) -> None:
    with engine.begin() as conn:
        _entry(conn, [("1100", "50.00", "0"), ("1000", "0", "50.00")])
