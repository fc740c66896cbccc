"""Create or edit a customer, checked field by field; every error beside its field, nothing typed is lost."""

from __future__ import annotations

import unicodedata
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Header, Input, Select

from db.repositories.customers import CustomerDetail, CustomerRepository, CustomerRow
from db.repositories.payments import new_idempotency_key
from db.validation import CustomerInput, customer_problems
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import ASK
from screens.leaving import FormScreen
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


def _plain(value: object) -> str:
    """A field's value as text ("" for an empty field or an unpicked choice)."""
    return value.strip() if isinstance(value, str) else ""


class CustomerFormScreen(FormScreen):
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
        self._as_opened: dict[str, object] = {}
        """What the fields held when the form opened: anything else is unsaved."""

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
        self._as_opened = self._values()

    def _values(self) -> dict[str, object]:
        values: dict[str, object] = {row.field_name: row.control.value for row in self.query(FieldRow)
                                     if isinstance(row.control, Input | Select)}
        return values

    def unsaved_changes(self) -> list[str]:
        if self.saved is not None:
            return []
        labels = {name: label for name, label, _ in (*TEXT_FIELDS, *TAIL_FIELDS)} | {"gender": "Gender"}
        lost = []
        for name, value in self._values().items():
            if _plain(value) != _plain(self._as_opened.get(name)):
                shown = _plain(value)
                lost.append(f"{labels.get(name, name)}: {shown}" if shown else f"{labels.get(name, name)} (emptied)")
        return lost

    def _text(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value

    def collect(self) -> tuple[CustomerInput, dict[str, str]]:
        """What the form holds (cleaned), and the message for every field that would be refused."""
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
        return data, errors

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        """Every field error at once: what the form can tell by itself is shown now, and a national ID
        another customer holds joins it as soon as the database answers; then, if another customer has
        the phone, a warning to confirm; then the save."""
        if self.busy("save") or self.busy("check") or self.saved is not None:
            return  # one save at a time: a second enter is not a second customer
        if isinstance(self.app.screen, ConfirmScreen):
            return
        data, errors = self.collect()
        self.show_field_errors(errors)
        repo, own = self.repo, (self.customer.id if self.customer else None)
        national_id = data.national_id if "national_id" not in errors else None
        phone = data.phone if "phone" not in errors else None

        def check() -> tuple[dict[str, str], CustomerInput, str | None, list[CustomerRow]]:
            holder = repo.national_id_holder(national_id, other_than=own) if national_id else None
            sharing = repo.phone_holders(phone, other_than=own) if phone and not errors else []
            return errors, data, holder, sharing

        self.start("check", check, retry=ASK, working="checking…")  # a save follows: the person asks again

    @property
    def repo(self) -> CustomerRepository:
        return CustomerRepository(self.ctx.engine, self.ctx.actor)

    def _checked(self, errors: dict[str, str], data: CustomerInput, holder: str | None,
                 sharing: list[CustomerRow]) -> None:
        if holder:
            errors = {**errors, "national_id": f"customer {holder} already has this national ID"}
        self.show_field_errors(errors)
        if errors:
            return
        self.status.clear()
        if not sharing:
            self._save(data)
            return
        lines = [f"{row.customer_number} {row.full_name} has the phone {row.phone}." for row in sharing]
        lines.append("Phones may be shared (a family, a business), but check it is not the same person.")

        def answer(yes: bool | None) -> None:
            if yes:
                self._save(data)
            else:
                self.status.say("Not saved. Change the phone or save again to go ahead.")
                self.query_one("#phone").focus()

        self.app.push_screen(ConfirmScreen("Another customer has this phone", lines, question="Save anyway?"),
                             answer)

    def _save(self, data: CustomerInput) -> None:
        if self.busy("save") or self.saved is not None:
            return
        repo, today, customer = self.repo, self.ctx.today(), self.customer
        if customer is None:
            key = self.idempotency_key
            self.start("save", lambda: repo.create(data, today=today, idempotency_key=key), retry=ASK,
                       working="saving…")
        else:
            self.start("save", lambda: repo.update(customer.id, data, today=today), retry=ASK, working="saving…")

    def done(self, tag: str, result: Any) -> None:
        if tag == "check":
            self._checked(*result)
            return
        if tag != "save":
            return
        self.saved = result
        self.status.say(f"Saved {result.customer_number}.", kind="ok")
        if self.customer is None:
            from screens.customer_detail import CustomerDetailScreen

            self.app.switch_screen(CustomerDetailScreen(self.ctx, result.id))
        else:
            self.dismiss()
