"""Hypothesis input to every field of the front desk's forms, through Pilot: sign-in, customer lookup,
customer form, loan application, payment entry and the loan detail's find box.

The rule for every value: a clear message beside the field (or, when the value is valid, the save goes
through and keeps the value exactly), nothing written on a refusal (row counts of the eleven tables), what
was typed shown literally (never as markup), and the screen never crashes. One app per form, many examples
in it (tests/reliability/pilotlib.py); `ASTROFIN_FAULT_SCALE` multiplies the examples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from textual.pilot import Pilot
from textual.widgets import Input, Static

from db.engine import Actor
from db.repositories.customers import CustomerRepository
from db.validation import CustomerInput
from screens.confirm import ConfirmScreen
from screens.customer_detail import CustomerDetailScreen
from screens.customer_form import CustomerFormScreen
from screens.customer_lookup import CustomerLookupScreen
from screens.loan_application import LoanApplicationScreen
from screens.loan_detail import LoanDetailScreen
from screens.payment_entry import PaymentEntryScreen
from screens.sign_in import SignInScreen
from tests.reliability.pilotlib import HOSTILE, LiveApp, campaign_settings, counts, has_control, put, shown, tally
from tests.tui.conftest import TODAY, settle
from tests.tui.front import front_app, make_new_loan, press, sign_in
from widgets.fields import FieldRow


def _row_errors(screen: Any) -> dict[str, str]:
    return {row.field_name: row.message for row in screen.query(FieldRow) if row.message}


def _literal(screen: Any, field: str) -> None:
    """The message beside the field is shown as written (escaped markup shows as typed)."""
    row = screen.query_one(f"#field-{field}", FieldRow)
    plain = shown(row.query_one(".row-error", Static))
    assert plain.strip(), f"{field}: the message beside the field is empty on screen"


def test_sign_in_fields(app_engine: Engine, engine: Engine, access_log: Path) -> None:
    before = counts(engine)
    app = front_app(app_engine, access_log)
    with LiveApp(app) as live, tally("sign-in: username, password") as seen:
        @campaign_settings(8)
        @given(field=st.sampled_from(["username", "password"]), value=HOSTILE)
        def one(field: str, value: str) -> None:
            async def step(pilot: Pilot[Any]) -> None:
                screen = pilot.app.screen
                assert isinstance(screen, SignInScreen)
                other = {"username": "nobody-here", "password": "not-the-password"}
                other.pop(field)
                for name, good in other.items():
                    await put(pilot, f"#{name}", good)
                held = await put(pilot, f"#{field}", value)
                pilot.app.screen.query_one("#password", Input).focus()
                await pilot.press("enter")
                await settle(pilot)
                assert pilot.app.screen is screen, "a bad sign-in left the sign-in screen"
                message = shown(screen.query_one("#sign-in-status", Static))
                assert message in ("Enter your username.", "Enter your password.",
                                   "Wrong username or password."), (held, message)
                if field == "username":
                    assert screen.query_one("#username", Input).value == held
                seen["refused"] = seen.get("refused", 0) + 1

            live.run(step)
            live.alive()

        one()
    assert counts(engine) == before


def test_customer_lookup_search_box(app_engine: Engine, engine: Engine, access_log: Path,
                                    actors: dict[str, Actor]) -> None:
    CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="[bold]Shown[/bold]", last_name="Literally"), today=TODAY)
    before = counts(engine)
    app = front_app(app_engine, access_log)
    with LiveApp(app) as live, tally("customer lookup: search box") as seen:
        live.run(lambda pilot: sign_in(pilot, actors["cashier"]))
        live.run(lambda pilot: press(pilot, "f2"))

        @campaign_settings(20)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            async def step(pilot: Pilot[Any]) -> None:
                screen = pilot.app.screen
                assert isinstance(screen, CustomerLookupScreen)
                held = await put(pilot, "#search", value)
                await settle(pilot)
                assert pilot.app.screen is screen
                assert screen.query_one("#search", Input).value == held
                status = shown(screen.status)
                assert status, "the lookup says nothing"
                seen["found" if screen.query_one("#results").row_count else "no match"] = \
                    seen.get("found" if screen.query_one("#results").row_count else "no match", 0) + 1

            live.run(step)
            live.alive()

        one()

        async def markup_row(pilot: Pilot[Any]) -> None:
            await put(pilot, "#search", "Literally")
            await settle(pilot)
            table = pilot.app.screen.query_one("#results")
            cells = [str(cell) for cell in table.get_row_at(0)]
            assert "[bold]Shown[/bold] Literally" in cells, cells

        live.run(markup_row)
    assert counts(engine) == before


async def go_ahead(pilot: Pilot[Any]) -> None:
    """A warning (a phone another customer has, a customer with a loan in play) is not a refusal: go ahead."""
    if isinstance(pilot.app.screen, ConfirmScreen):
        await press(pilot, "y")


CUSTOMER_GOOD = {"first_name": "Amani", "last_name": "Otieno", "national_id": "", "phone": "+254711000222",
                 "email": "", "date_of_birth": "", "address": "", "occupation": ""}


def test_customer_form_every_field(app_engine: Engine, engine: Engine, access_log: Path,
                                  actors: dict[str, Actor]) -> None:
    app = front_app(app_engine, access_log)
    with LiveApp(app) as live, tally("customer form: first and last name, national ID, phone, email, date of "
                                     "birth, address, occupation") as seen:
        live.run(lambda pilot: sign_in(pilot, actors["officer"]))
        live.run(lambda pilot: press(pilot, "f5"))

        @campaign_settings(12)
        @given(field=st.sampled_from(list(CUSTOMER_GOOD)), value=HOSTILE)
        def one(field: str, value: str) -> None:
            before = counts(engine)

            async def step(pilot: Pilot[Any]) -> str:
                if not isinstance(pilot.app.screen, CustomerFormScreen):  # after a failed example, start over
                    await press(pilot, "escape")
                    await press(pilot, "f5")
                form = pilot.app.screen
                assert isinstance(form, CustomerFormScreen)
                for name, good in CUSTOMER_GOOD.items():
                    form.query_one(f"#{name}", Input).value = good
                held = await put(pilot, f"#{field}", value)
                await pilot.press("enter")
                await settle(pilot)
                await go_ahead(pilot)
                if pilot.app.screen is form:
                    errors = _row_errors(form)
                    assert list(errors) == [field], (field, held, errors, shown(form.status))
                    _literal(form, field)
                    assert form.query_one(f"#{field}", Input).value == held
                    return "refused"
                detail = pilot.app.screen
                assert isinstance(detail, CustomerDetailScreen), type(detail)
                with engine.connect() as conn:
                    row = conn.execute(text("SELECT to_jsonb(c) FROM customers c ORDER BY id DESC LIMIT 1"))\
                        .scalar_one()
                stored = row[field]
                assert not has_control(stored), f"{field}={held!r} was saved with control characters"
                cleaned = " ".join(held.split()) if field in ("first_name", "last_name") else held.strip()
                if field == "date_of_birth":
                    assert (stored is None) == (not held.strip()), (held, stored)
                elif field == "phone":
                    assert stored is None or stored.startswith("+"), (held, stored)
                else:
                    assert (stored or "") in (cleaned, held.strip()), (field, held, stored)
                if field in ("first_name", "last_name") and stored:
                    assert stored in shown(detail.query_one("#customer", Static)), "the name is not shown as typed"
                await press(pilot, "escape")
                await press(pilot, "f5")
                assert isinstance(pilot.app.screen, CustomerFormScreen)
                return "accepted"

            outcome = live.run(step)
            live.alive()
            after = counts(engine)
            if outcome == "refused":
                assert after == before, (field, value)
            else:
                assert after["customers"] == before["customers"] + 1
            seen[outcome] = seen.get(outcome, 0) + 1

        one()


APPLICATION_GOOD = {"principal": "10000", "interest_rate": "24", "term": "12", "first_repayment_date": "",
                    "purpose": ""}


def test_loan_application_every_field(app_engine: Engine, engine: Engine, access_log: Path,
                                      actors: dict[str, Actor]) -> None:
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Mutua", last_name="Musyoka"), today=TODAY)
    app = front_app(app_engine, access_log)

    async def open_form(pilot: Pilot[Any]) -> None:
        await press(pilot, "f6")
        screen = pilot.app.screen
        assert isinstance(screen, LoanApplicationScreen)
        await put(pilot, "#customer", customer.customer_number)
        await press(pilot, "enter")
        assert screen.customer_id == customer.id

    with LiveApp(app) as live, tally("loan application: customer box, principal, rate, installments, first "
                                     "due date, purpose") as seen:
        live.run(lambda pilot: sign_in(pilot, actors["officer"]))
        live.run(open_form)

        @campaign_settings(12)
        @given(field=st.sampled_from(["customer", *APPLICATION_GOOD]), value=HOSTILE)
        def one(field: str, value: str) -> None:
            before = counts(engine)

            async def step(pilot: Pilot[Any]) -> str:
                if not isinstance(pilot.app.screen, LoanApplicationScreen):  # after a failed example
                    await press(pilot, "escape")
                    await open_form(pilot)
                form = pilot.app.screen
                assert isinstance(form, LoanApplicationScreen)
                if field == "customer":
                    held = await put(pilot, "#customer", value)
                    await press(pilot, "enter")
                    assert pilot.app.screen is form
                    assert form.query_one("#customer", Input).value == held
                    outcome = "customer found" if form.customer_id else "no customer"
                    if not form.customer_id:
                        assert _row_errors(form).get("customer") or form.query_one("#customer-choices").display
                    await put(pilot, "#customer", customer.customer_number)  # back to the one applying
                    await press(pilot, "enter")
                    return outcome
                for name, good in APPLICATION_GOOD.items():
                    if form.query_one(f"#{name}", Input).value != good:  # each change asks for a preview
                        form.query_one(f"#{name}", Input).value = good
                held = await put(pilot, f"#{field}", value)
                await pilot.press("enter")
                await settle(pilot)
                await go_ahead(pilot)
                if pilot.app.screen is form:
                    errors = _row_errors(form)
                    assert list(errors) == [field], (field, held, errors, shown(form.status))
                    _literal(form, field)
                    assert form.query_one(f"#{field}", Input).value == held
                    return "refused"
                assert isinstance(pilot.app.screen, LoanDetailScreen)
                with engine.connect() as conn:
                    purpose = conn.execute(text("SELECT purpose FROM loans ORDER BY id DESC LIMIT 1")).scalar_one()
                assert not has_control(purpose), f"purpose {purpose!r} saved"
                await press(pilot, "escape")
                await open_form(pilot)
                return "accepted"

            outcome = live.run(step)
            live.alive()
            after = counts(engine)
            if outcome == "accepted":
                assert after["loans"] == before["loans"] + 1
            else:
                assert after == before, (field, value)
            seen[outcome] = seen.get(outcome, 0) + 1

        one()


def test_payment_entry_every_field(app_engine: Engine, engine: Engine, access_log: Path,
                                   actors: dict[str, Actor]) -> None:
    loan = make_new_loan(engine, actors, "Kiprono", "Langat")
    before = counts(engine)
    app = front_app(app_engine, access_log)

    async def open_loan(pilot: Pilot[Any]) -> None:
        await put(pilot, "#find", loan.loan_number)
        await press(pilot, "enter")
        assert isinstance(pilot.app.screen, PaymentEntryScreen) and pilot.app.screen.due is not None

    with LiveApp(app) as live, tally("payment entry: find box, amount, date (a valid one is declined at the "
                                     "confirmation)") as seen:
        live.run(lambda pilot: sign_in(pilot, actors["cashier"]))
        live.run(lambda pilot: press(pilot, "f3"))
        live.run(open_loan)

        @campaign_settings(20)
        @given(field=st.sampled_from(["find", "amount", "payment_date"]), value=HOSTILE)
        def one(field: str, value: str) -> None:
            async def step(pilot: Pilot[Any]) -> str:
                screen = pilot.app.screen
                assert isinstance(screen, PaymentEntryScreen)
                if field == "find":
                    held = await put(pilot, "#find", value)
                    await press(pilot, "enter")
                    outcome = "refused" if _row_errors(pilot.app.screen).get("find") else "found"
                    assert pilot.app.screen.query_one("#find", Input).value == held
                    await open_loan(pilot)
                    return outcome
                screen.query_one("#amount", Input).value = "100"
                screen.query_one("#payment_date", Input).value = TODAY.isoformat()
                held = await put(pilot, f"#{field}", value)
                await pilot.press("enter")
                await settle(pilot)
                if isinstance(pilot.app.screen, ConfirmScreen):
                    await press(pilot, "escape")  # valid: the person declines at the confirmation
                    assert pilot.app.screen is screen
                    return "accepted, declined at the confirmation"
                assert pilot.app.screen is screen
                errors = _row_errors(screen)
                assert list(errors) == [field], (field, held, errors, shown(screen.status))
                _literal(screen, field)
                assert screen.query_one(f"#{field}", Input).value == held
                return "refused"

            outcome = live.run(step)
            live.alive()
            seen[outcome] = seen.get(outcome, 0) + 1

        one()
    assert counts(engine) == before


def test_loan_detail_find_box(app_engine: Engine, engine: Engine, access_log: Path,
                              actors: dict[str, Actor]) -> None:
    before = counts(engine)
    app = front_app(app_engine, access_log)
    with LiveApp(app) as live, tally("loan detail: find box") as seen:
        live.run(lambda pilot: sign_in(pilot, actors["officer"]))
        live.run(lambda pilot: press(pilot, "f7"))

        @campaign_settings(15)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            async def step(pilot: Pilot[Any]) -> None:
                screen = pilot.app.screen
                assert isinstance(screen, LoanDetailScreen)
                held = await put(pilot, "#find", value)
                await press(pilot, "enter")
                assert pilot.app.screen is screen
                assert _row_errors(screen).get("find"), (held, shown(screen.status))
                assert screen.query_one("#find", Input).value == held

            live.run(step)
            live.alive()
            seen["refused"] = seen.get("refused", 0) + 1

        one()
    assert counts(engine) == before
