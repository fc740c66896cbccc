"""Bad input to every SQL function a role may call (0002, 0003, 0004), as that role, through the application's
login and unit_of_work: each call is refused with a clear message and a SQLSTATE of the project's scheme
(P01xx) or a standard one — never an internal error — and writes nothing (a hash of every table is equal
before and after)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.exc import DBAPIError

from db.engine import Actor, unit_of_work
from tests.reliability.faultlib import TODAY, make_active_loans, record, scale, staff_actors

NASTY_TEXT = ["", " ", "'; drop table loans; --", "\"; DROP TABLE users; --", "[bold]x[/bold]", "[/]", "%s", "%(x)s",
              "{first_name}", "\\", "\u202etxet", "Ñandú Zoë", "😀" * 40, "\r\n\t", "\x1b[31mred", "x" * 5000,
              "NULL", "null", "0", "-1", "1; SELECT pg_sleep(10)"]
UNICODE = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
TEXT = st.one_of(st.sampled_from(NASTY_TEXT), UNICODE)
BAD_BIGINT = st.one_of(st.sampled_from(["-1", "0", "9223372036854775807", "9223372036854775808",
                                        "-9223372036854775808", "1.5", "abc", "", " ", "1e3", "0x10", None]),
                       TEXT)
BAD_INT = st.one_of(st.sampled_from(["-1", "-2147483648", "2147483648", "99999999999", "1.5", "abc", "", None]),
                    TEXT)
BAD_NUMERIC = st.one_of(st.sampled_from(["0", "0.00", "-5", "-0.01", "0.001", "12.345", "NaN", "Infinity",
                                         "-Infinity", "1e400", "99999999999999999999.99", "1,250.50", "abc", "",
                                         None]), TEXT)
BAD_DATE = st.one_of(st.sampled_from(["", "abc", "0001-01-01", "9999-12-31", "infinity", "-infinity",
                                      "2024-02-30", "5874897-12-31", "4713-01-01 BC", "epoch", None,
                                      (TODAY + timedelta(days=3650)).isoformat()]), TEXT)
BAD_ARRAY = st.one_of(st.sampled_from(["{}", "{-1}", "{0,0,0}", "{abc}", "{9223372036854775808}", "{NULL}",
                                       "not an array", "", None]), TEXT)
BAD_METHOD = st.one_of(st.sampled_from(["", "flat ", "FLAT", "declining", "'; drop table loans; --", None]), TEXT)
BAD_FREQUENCY = st.one_of(st.sampled_from(["", "daily", "Monthly", "yearly", None]), TEXT)

# Well-typed but wrong values: they pass the casts, so the functions' own checks are what is tried.
TYPED = {
    "bigint": st.sampled_from(["-1", "0", "9223372036854775807", "424242", None]),
    "int": st.sampled_from(["-1", "0", "-2147483648", "2147483647", "1", "90", None]),
    "numeric": st.sampled_from(["0", "0.00", "-5", "-0.01", "0.001", "12.345", "NaN", "Infinity", "-Infinity",
                                "99999999999.99", "1e400", None]),
    "date": st.sampled_from(["0001-01-01", "9999-12-31", "infinity", "-infinity", "epoch", "4713-01-01 BC",
                             (TODAY + timedelta(days=3650)).isoformat(), None]),
    "text": TEXT,
    "array": st.sampled_from(["{}", "{-1}", "{0,0,0}", "{9223372036854775807}", "{NULL}", None]),
}

ALLOWED_CLASSES = ("22", "23")  # data exceptions, integrity violations: standard, and they say what was wrong


@dataclass
class Fixture:
    engine: Engine
    actors: dict[str, Actor]
    active_loan: str
    pending_loan: str
    disbursement: str


@dataclass
class Tally:
    calls: int = 0
    states: dict[str, int] = field(default_factory=dict)


@pytest.fixture(scope="module")
def campaign(pg_server: Any) -> Iterator[Fixture]:
    """One database for the whole campaign: an active loan, a pending one, and the staff."""
    import uuid

    name = f"t_bad_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name)
    owner = create_engine(url, poolclass=pool.NullPool)
    app = create_engine(url.set(username="astrofin_app"), poolclass=pool.NullPool)
    try:
        actors = staff_actors(owner)
        active = make_active_loans(owner, actors, 1)[0]
        with owner.begin() as conn:
            customer = conn.execute(text("SELECT customer_id FROM loans WHERE id = :l"), {"l": active}).scalar()
            pending = conn.execute(text(
                "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
                "repayment_frequency, application_date, loan_officer_id, created_by) "
                "VALUES (:c, 1000, 10, 'flat', 3, 'monthly', current_date, :o, :o) RETURNING id"),
                {"c": customer, "o": actors["officer"].user_id}).scalar()
            disbursement = conn.execute(text(
                "SELECT id FROM transactions WHERE loan_id = :l AND transaction_type = 'disbursement'"),
                {"l": active}).scalar()
        yield Fixture(app, actors, str(active), str(pending), str(disbursement))
    finally:
        app.dispose()
        owner.dispose()
        pg_server.drop_database(name)


def fingerprint(engine: Engine) -> str:
    """One hash over every table of the public schema, in one round trip."""
    with engine.connect() as conn:
        names = conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm') ORDER BY 1")).scalars().all()
        parts = []
        for number, relation in enumerate(names):
            quoted = conn.dialect.identifier_preparer.quote_identifier(relation)
            parts.append(f"SELECT {number} AS r, count(*)::text || md5(coalesce(string_agg(t::text, '|' "  # noqa: S608
                         f"ORDER BY t::text), '')) AS h FROM public.{quoted} t")
        # Relation names from the catalog, quoted; no input reaches this statement.
        return str(conn.execute(text(
            "SELECT md5(string_agg(r::text || h, '|' ORDER BY r)) FROM (" + " UNION ALL ".join(parts) + ") x"  # noqa: S608
        )).scalar_one())


def _superuser_fingerprint(fx: Fixture) -> dict[str, tuple[int, str]]:
    owner = create_engine(fx.engine.url.set(username="postgres"), poolclass=pool.NullPool)
    try:
        return fingerprint(owner)
    finally:
        owner.dispose()


ANY = {"bigint": BAD_BIGINT, "int": BAD_INT, "numeric": BAD_NUMERIC, "date": BAD_DATE, "text": TEXT,
       "array": BAD_ARRAY, "method": BAD_METHOD, "frequency": BAD_FREQUENCY}
TYPED_EXTRA = {"method": st.sampled_from(["flat", "declining_balance", "FLAT", ""]),
               "frequency": st.sampled_from(["monthly", "weekly", "daily", ""])}


@dataclass(frozen=True)
class Arg:
    kind: str
    """bigint, int, numeric, date, text, array, method, frequency, or me (the acting user's id)."""
    real: tuple[str, ...] = ()
    """Real values mixed in (loans in a status the function refuses, so its later checks are reached)."""


def _strategies(fx: Fixture, username: str, arg: Arg) -> tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]:
    """(anything bad, including values the casts refuse; well-typed but wrong values)."""
    if arg.kind == "me":
        return BAD_BIGINT, st.just(str(fx.actors[username].user_id))
    bad = ANY[arg.kind]
    typed = TYPED[arg.kind] if arg.kind in TYPED else TYPED_EXTRA[arg.kind]
    if arg.real:
        bad = st.one_of(bad, st.sampled_from(arg.real))
        typed = st.one_of(typed, st.sampled_from(arg.real))
    return bad, typed


# function -> (user it runs as, SQL with casts, its arguments). Each example tries one argument with anything
# bad and gives the others well-typed (but still wrong) values, so every check of the function is reached.
def _cases(fx: Fixture) -> dict[str, tuple[str, str, dict[str, Arg]]]:
    workflow_loan = Arg("bigint", (fx.active_loan,))  # an active loan: wrong status to approve or disburse
    any_loan = Arg("bigint", (fx.active_loan, fx.pending_loan))
    return {
        "preview_payment_schedule": ("cashier", "SELECT * FROM preview_payment_schedule(CAST(:p AS numeric), "
                                     "CAST(:r AS numeric), CAST(:m AS text), CAST(:n AS integer), CAST(:f AS text), "
                                     "CAST(:d AS date))",
                                     {"p": Arg("numeric"), "r": Arg("numeric"), "m": Arg("method"), "n": Arg("int"),
                                      "f": Arg("frequency"), "d": Arg("date")}),
        "approve_loan": ("supervisor", "SELECT approve_loan(CAST(:l AS bigint), CAST(:u AS bigint))",
                         {"l": workflow_loan, "u": Arg("me")}),
        "reject_loan": ("supervisor", "SELECT reject_loan(CAST(:l AS bigint), CAST(:u AS bigint), CAST(:t AS text))",
                        {"l": workflow_loan, "u": Arg("me"), "t": Arg("text")}),
        "disburse_loan": ("cashier", "SELECT disburse_loan(CAST(:l AS bigint), CAST(:u AS bigint), "
                          "CAST(:d AS date), CAST(:f AS date))",
                          {"l": workflow_loan, "u": Arg("me"), "d": Arg("date"), "f": Arg("date")}),
        "preview_loan_payment": ("cashier", "SELECT * FROM preview_loan_payment(CAST(:l AS bigint), "
                                 "CAST(:a AS numeric), CAST(:d AS date))",
                                 {"l": any_loan, "a": Arg("numeric"), "d": Arg("date")}),
        "record_loan_payment": ("cashier", "SELECT record_loan_payment(CAST(:l AS bigint), CAST(:a AS numeric), "
                                "CAST(:d AS date), CAST(:u AS bigint), CAST(:k AS text))",
                                {"l": any_loan, "a": Arg("numeric"), "d": Arg("date"), "u": Arg("me"),
                                 "k": Arg("text")}),
        "payoff_quote": ("cashier", "SELECT * FROM payoff_quote(CAST(:l AS bigint), CAST(:d AS date))",
                         {"l": any_loan, "d": Arg("date")}),
        "settle_loan": ("cashier", "SELECT settle_loan(CAST(:l AS bigint), CAST(:a AS numeric), CAST(:d AS date), "
                        "CAST(:u AS bigint), CAST(:k AS text))",
                        {"l": any_loan, "a": Arg("numeric"), "d": Arg("date"), "u": Arg("me"), "k": Arg("text")}),
        "reverse_transaction": ("supervisor", "SELECT reverse_transaction(CAST(:t AS bigint), CAST(:u AS bigint), "
                                "CAST(:r AS text))",
                                {"t": Arg("bigint", (fx.disbursement,)), "u": Arg("me"), "r": Arg("text")}),
        "write_off_loan": ("supervisor", "SELECT write_off_loan(CAST(:l AS bigint), CAST(:u AS bigint), "
                           "CAST(:r AS text), CAST(:d AS date))",
                           {"l": Arg("bigint", (fx.pending_loan,)), "u": Arg("me"), "r": Arg("text"),
                            "d": Arg("date")}),
        "loan_days_past_due": ("officer", "SELECT loan_days_past_due(CAST(:l AS bigint), CAST(:d AS date))",
                               {"l": any_loan, "d": Arg("date")}),
        "loan_summary_as_of": ("officer", "SELECT count(*) FROM loan_summary_as_of(CAST(:d AS date))",
                               {"d": Arg("date")}),
        "overdue_loans_as_of": ("officer", "SELECT count(*) FROM overdue_loans_as_of(CAST(:d AS date))",
                                {"d": Arg("date")}),
        "calculate_par": ("accountant", "SELECT calculate_par(CAST(:n AS integer), CAST(:d AS date))",
                          {"n": Arg("int"), "d": Arg("date")}),
        "mark_defaulted_loans": ("supervisor", "SELECT mark_defaulted_loans(CAST(:n AS integer), CAST(:u AS bigint), "
                                 "CAST(:d AS date))",
                                 {"n": Arg("int"), "u": Arg("me"), "d": Arg("date")}),
        "send_overdue_loan_notifications": ("officer", "SELECT send_overdue_loan_notifications(CAST(:n AS integer), "
                                            "CAST(:u AS bigint), CAST(:d AS date))",
                                            {"n": Arg("int"), "u": Arg("me"), "d": Arg("date")}),
        "send_loan_reminders": ("officer", "SELECT send_loan_reminders(CAST(:ids AS bigint[]), CAST(:u AS bigint), "
                                "CAST(:d AS date))",
                                {"ids": Arg("array"), "u": Arg("me"), "d": Arg("date")}),
        "requeue_failed_sms": ("admin", "SELECT requeue_failed_sms(CAST(:ids AS bigint[]), CAST(:u AS bigint))",
                               {"ids": Arg("array"), "u": Arg("me")}),
    }


def acceptable(sqlstate: str) -> bool:
    """A refusal's SQLSTATE must be the project's scheme (P01xx, P0010) or a standard class that names the
    problem; never XX (internal), P0001 (a RAISE without a code) or a syntax/undefined-object error."""
    return (sqlstate.startswith("P01") or sqlstate == "P0010" or sqlstate[:2] in ALLOWED_CLASSES
            or sqlstate == "42501")


FUNCTIONS = ["preview_payment_schedule", "approve_loan", "reject_loan", "disburse_loan", "preview_loan_payment",
             "record_loan_payment", "reverse_transaction", "write_off_loan", "loan_days_past_due",
             "loan_summary_as_of", "overdue_loans_as_of", "calculate_par", "mark_defaulted_loans",
             "send_overdue_loan_notifications", "send_loan_reminders", "requeue_failed_sms", "payoff_quote",
             "settle_loan"]
READ_ONLY = {"preview_payment_schedule", "preview_loan_payment", "loan_days_past_due", "loan_summary_as_of",
             "overdue_loans_as_of", "calculate_par", "payoff_quote"}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_bad_arguments_are_refused_clearly_and_write_nothing(campaign: Fixture, function: str) -> None:
    username, sql, args = _cases(campaign)[function]
    actor = campaign.actors[username]
    strategies = {name: _strategies(campaign, username, arg) for name, arg in args.items()}
    tally = Tally()
    before = _superuser_fingerprint(campaign)

    @settings(max_examples=8 * scale(), deadline=None, derandomize=True, database=None)
    @given(st.data())
    def attempt(data: st.DataObject) -> None:
        focus = data.draw(st.sampled_from(sorted(strategies)), label="argument tried")
        arguments = {name: data.draw(bad if name == focus else typed, label=name)
                     for name, (bad, typed) in strategies.items()}
        tally.calls += 1
        try:
            with unit_of_work(campaign.engine, actor) as session:
                session.execute(text(sql), arguments).all()
            state = "answered, nothing to do" if function not in READ_ONLY else "answered"
        except DBAPIError as exc:
            state = getattr(exc.orig, "sqlstate", None) or "no sqlstate"
            diag = getattr(exc.orig, "diag", None)
            message = (getattr(diag, "message_primary", None) or "").strip()
            assert acceptable(state), f"{function}{arguments}: {state} {message}"
            assert message, f"{function}{arguments}: {state} without a message"
        tally.states[state] = tally.states.get(state, 0) + 1
        assert _superuser_fingerprint(campaign) == before, f"{function}{arguments} wrote something"

    attempt()
    outcomes = ", ".join(f"{count} {state}" for state, count in sorted(tally.states.items()))
    record(f"{function}(…) as {actor.role}", tally.calls, f"{outcomes}; 0 internal errors, 0 crashes, 0 writes",
           group="sql")
