"""Create or edit a customer, checked field by field; every error beside its field, nothing typed is lost."""

from __future__ import annotations

import unicodedata
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Header, Input, Select

from db.repositories.customers import CustomerDetail, CustomerRepository
from db.repositories.payments import new_idempotency_key
from db.validation import CustomerInput, customer_problems
from screens.context import ScreenContext
from screens.data import ASK, DataScreen
from widgets.dates import DateError, format_for_typing, parse_date
from widgets.fields import FieldRow
from widgets.footer import KeysFooter
from widgets.status import ConnectionBanner, StatusLine

GENDERS = (("female", "female"), ("male", "male"), ("other", "other"))
TEXT_FIELDS = (
    ("first_name", "First name", "required"),
    ("last_name", "Last name", "required"),
    ("national_id", "National ID", "letters, digits, -"),
    ("phone", "Phone", "0712 345 678"),
    ("email", "Email", "name@example.com"),
    ("date_of_birth", "Date of birth", "day first, e.g. 25/12/1990"),
)
PHONE_HOW = "type a mobile number as people write it, e.g. 0712 345 678 or +254 712 345 678"
"""What the phone field asks for: Kenyan numbers as written locally or in the international form."""
TAIL_FIELDS = (("address", "Address", ""), ("occupation", "Occupation", ""))


def symbol_problem(value: str, label: str) -> str | None:
    """Names are written in letters: emoji, pictographs and other symbols are refused."""
    for char in value:
        if unicodedata.category(char)[0] in "SC" or unicodedata.category(char) == "Co":
            return f"the {label} may not contain symbols or emoji ({char!r})"
    return None


class CustomerFormScreen(DataScreen):
    CSS_PATH = "customer_form.tcss"
    screen_name = "customer_form"
    AUTO_FOCUS = "#first_name"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s", "save", "Save")]

    def __init__(self, context: ScreenContext, customer: CustomerDetail | None = None) -> None:
        super().__init__(context)
        self.customer = customer
        self.saved: CustomerDetail | None = None
        # Made when the form opens and kept across retries: a save whose reply was lost, saved again,
        # returns the customer the first save created instead of a second one.
        self.idempotency_key = new_idempotency_key() if customer is None else ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        with VerticalScroll(id="form"):
            for name, label, hint in TEXT_FIELDS:
                yield FieldRow(label, Input(id=name, placeholder=hint, max_length=1000, compact=True), name=name)
            yield FieldRow("Gender", Select(GENDERS, id="gender", prompt="—", compact=True), name="gender")
            for name, label, hint in TAIL_FIELDS:
                yield FieldRow(label, Input(id=name, placeholder=hint, max_length=1000, compact=True), name=name)
        yield StatusLine("enter or ctrl+s saves · tab moves to the next field · escape goes back", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = f"Edit {self.customer.customer_number}" if self.customer else "New customer"
        if self.customer is not None:
            data = self.customer.data
            values = {"first_name": data.first_name, "last_name": data.last_name, "national_id": data.national_id,
                      "phone": data.phone, "email": data.email, "address": data.address,
                      "occupation": data.occupation,
                      "date_of_birth": format_for_typing(data.date_of_birth) if data.date_of_birth else ""}
            for name, value in values.items():
                self.query_one(f"#{name}", Input).value = value or ""
            if data.gender:
                self.query_one("#gender", Select).value = data.gender

    def _text(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value

    def collect(self) -> tuple[CustomerInput | None, dict[str, str]]:
        """What the form holds, and the message for every field that would be refused."""
        errors: dict[str, str] = {}
        today = self.ctx.today()
        born = None
        try:
            born = parse_date(self._text("date_of_birth"), required=False)
        except DateError as exc:
            errors["date_of_birth"] = str(exc)
        gender = self.query_one("#gender", Select).value
        data = CustomerInput(
            first_name=self._text("first_name"), last_name=self._text("last_name"),
            national_id=self._text("national_id"), phone=self._text("phone"), email=self._text("email"),
            date_of_birth=born, gender=gender if isinstance(gender, str) else None,
            address=self._text("address"), occupation=self._text("occupation"),
        ).cleaned()
        for name, label in (("first_name", "first name"), ("last_name", "last name"), ("occupation", "occupation")):
            problem = symbol_problem(getattr(data, name) or "", label)
            if problem:
                errors[name] = problem
        for name, message in customer_problems(data, today).items():
            errors.setdefault(name, PHONE_HOW if name == "phone" else message)
        return (None if errors else data), errors

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        if self.busy("save") or self.saved is not None:
            return  # one save at a time: a second enter is not a second customer
        data, errors = self.collect()
        self.show_field_errors(errors)
        if data is None:
            return
        repo, today, customer = CustomerRepository(self.ctx.engine, self.ctx.actor), self.ctx.today(), self.customer
        if customer is None:
            key = self.idempotency_key
            self.start("save", lambda: repo.create(data, today=today, idempotency_key=key), retry=ASK,
                       working="saving…")
        else:
            self.start("save", lambda: repo.update(customer.id, data, today=today), retry=ASK, working="saving…")

    def done(self, tag: str, result: Any) -> None:
        if tag != "save":
            return
        self.saved = result
        self.status.say(f"Saved {result.customer_number}.", kind="ok")
        if self.customer is None:
            from screens.customer_detail import CustomerDetailScreen

            self.app.switch_screen(CustomerDetailScreen(self.ctx, result.id))
        else:
            self.dismiss()
