"""A loan application: the customer, the loan product, the terms and purpose; the schedule preview follows
every change.

Picking a product fills its method, frequency, usual rate and term, locks method and frequency, and shows its
ranges in a line under the form; terms outside them are refused beside the field (the database refuses them
too). The preview shows the processing fee and the cash the customer receives. "(no product)" keeps the
general rules. The form sits in two columns above the preview, so that at 80×24 the preview has room for all
its columns.
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Header, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from db.errors import ValidationError
from db.repositories.customers import CustomerDetail, CustomerRepository, CustomerRow, LoanBrief
from db.repositories.groups import GroupRepository, GroupSummary
from db.repositories.loans import (
    FREQUENCIES,
    LoanApplication,
    LoanRepository,
    LoanTerms,
    SchedulePreview,
    terms_problems,
)
from db.repositories.payments import new_idempotency_key
from db.repositories.products import LoanProduct, ProductRepository, rate_text
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import ASK, describe
from screens.leaving import FormScreen
from widgets.dates import DateError, format_date, parse_date
from widgets.fields import FieldRow, MoneyInput, parse_rate, parse_whole
from widgets.footer import KeysFooter
from widgets.money import MoneyError, format_money
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import ScheduleTable
from widgets.words import in_words

METHODS = tuple((in_words(code), code) for code in ("declining_balance", "flat"))
TERM_LABELS = {"product": "the product", "principal": "the principal", "interest_rate": "the rate",
               "interest_method": "the method", "term": "the installments", "repayment_frequency": "the frequency",
               "first_repayment_date": "the first due date"}
"""The terms the preview follows, as the message under it names them."""
PERIOD = {"weekly": timedelta(days=7), "biweekly": timedelta(days=14)}


def one_period_after(day: date, frequency: str) -> date:
    if frequency in PERIOD:
        return day + PERIOD[frequency]
    month = day.month % 12 + 1
    year = day.year + (day.month == 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def open_loan_lines(loans: list[LoanBrief], currency: str) -> list[str]:
    return [f"{loan.loan_number} · {in_words(loan.status)} · {format_money(loan.principal_amount, currency)} · "
            f"applied {format_date(loan.application_date)}" for loan in loans]


class LoanApplicationScreen(FormScreen):
    CSS_PATH = "loan_application.tcss"
    screen_name = "loan_application"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s", "submit", "Submit")]

    def __init__(self, context: ScreenContext, customer: CustomerDetail | None = None) -> None:
        super().__init__(context)
        self.customer_id: int | None = customer.id if customer else None
        self._preset = customer
        self.submitted: Any = None
        self._matches: tuple[CustomerRow, ...] = ()
        self._picked_number = ""
        self._picked_name = ""
        # Made when the form opens (and again when another customer is picked), kept across retries: a
        # submit whose reply was lost, submitted again, returns the first application instead of a second.
        self.idempotency_key = new_idempotency_key()
        self._key_customer: int | None = self.customer_id
        self._preview_for: LoanTerms | None = None
        """The terms the schedule preview is for (None while they are incomplete or wrong)."""
        self._as_opened: dict[str, object] = {}
        self.open_loans: list[LoanBrief] = []
        """The picked customer's applications and loans still in play: a warning, never a refusal."""
        self.products: dict[int, LoanProduct] = {}
        """The active loan products, by id, as the application offers them."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        with Vertical(id="body"):
            with Horizontal(id="form"):
                with Vertical(classes="form-column"):
                    yield from self._left_column()
                with Vertical(classes="form-column"):
                    yield from self._right_column()
            yield Static("", id="product-hint")
            yield Static("", id="customer-warning")
            with Vertical(id="preview") as preview:
                preview.border_title = "Schedule preview"
                yield ScheduleTable(preview=True, id="schedule")
                yield Static("", id="totals")
        yield StatusLine("enter or ctrl+s submits the application", id="status")
        yield KeysFooter()

    def _left_column(self) -> ComposeResult:
        yield FieldRow("Customer", Input(id="customer", placeholder="name or C-000123, enter",
                                         max_length=100, compact=True), name="customer")
        yield Static("", id="customer-name")
        yield OptionList(id="customer-choices", compact=True)
        yield FieldRow("Product", Select([], id="product", prompt="(no product)", compact=True), name="product")
        yield FieldRow("Principal", MoneyInput(id="principal", placeholder="e.g. 10,000"), name="principal")
        yield FieldRow("Rate %/year", Input("24", id="interest_rate", max_length=20, compact=True),
                       name="interest_rate")
        yield FieldRow("Method", Select(METHODS, id="interest_method", value="declining_balance",
                                        allow_blank=False, compact=True), name="interest_method")

    def _right_column(self) -> ComposeResult:
        yield FieldRow("Installments", Input("12", id="term", max_length=10, compact=True), name="term")
        yield FieldRow("Frequency", Select([(in_words(f), f) for f in FREQUENCIES], id="repayment_frequency",
                                           value="monthly", allow_blank=False, compact=True),
                       name="repayment_frequency")
        yield FieldRow("First due", Input(id="first_repayment_date", placeholder="optional, 06/12/2026",
                                          max_length=20, compact=True), name="first_repayment_date")
        yield FieldRow("Purpose", Input(id="purpose", max_length=1000, compact=True), name="purpose")
        yield FieldRow("Loan officer", Select([], id="loan_officer", prompt="(me)", compact=True),
                       name="loan_officer")
        # Shown only for a customer who is an active member of a group (0023).
        yield FieldRow("Group", Select([], id="group_id", prompt="(individual loan)", compact=True), name="group_id")

    def on_mount(self) -> None:
        self.sub_title = "Loan application"
        self.query_one("#customer-choices").display = False
        self.query_one("#field-group_id").display = False
        if self._preset is not None:
            self._pick(self._preset.id, self._preset.customer_number, self._preset.full_name)
            self._focus_terms()
        else:
            self.query_one("#customer").focus()
        self._as_opened = self._values()
        repo = self.repo
        self.start("officers", repo.loan_officers, working=None, hold=None)  # a background fill: no key waits
        products = ProductRepository(self.ctx.engine, self.ctx.actor)
        self.start("products", lambda: products.list(active_only=True), working=None, hold=None)

    def _values(self) -> dict[str, object]:
        """The fields a person fills in (the loan officer, filled in by the screen, is not one of them)."""
        return {row.field_name: row.control.value for row in self.query(FieldRow)
                if isinstance(row.control, Input | Select) and row.field_name != "loan_officer"}

    def unsaved_changes(self) -> list[str]:
        if self.submitted is not None:
            return []
        opened = self._as_opened
        labels = {row.field_name: str(row.label) for row in self.query(FieldRow)}
        return [f"{labels.get(name, name)}: {value}" for name, value in self._values().items()
                if value != opened.get(name) and str(value).strip() != str(opened.get(name) or "").strip()]

    @property
    def repo(self) -> LoanRepository:
        return LoanRepository(self.ctx.engine, self.ctx.actor)

    # --- the customer ---------------------------------------------------------------------------------

    def _pick(self, customer_id: int, number: str, name: str) -> None:
        if self._key_customer is not None and customer_id != self._key_customer:
            self.idempotency_key = new_idempotency_key()
        self._key_customer = customer_id
        self.customer_id = customer_id
        self._picked_number = number
        self._picked_name = name
        self.query_one("#customer", Input).value = number
        self.query_one("#customer-name", Static).update(f"[b]{escape(name)}[/b]")
        self.query_one("#customer-choices").display = False
        self.query_one("#field-customer", FieldRow).error(None)
        self._warn_open_loans([])
        repo = self.repo
        self.start("open_loans", lambda: (customer_id, repo.open_loans_of(customer_id)), working=None, hold=None)
        groups = GroupRepository(self.ctx.engine, self.ctx.actor)
        self.start("group", lambda: (customer_id, groups.active_group_of(customer_id)), working=None, hold=None)

    def _warn_open_loans(self, loans: list[LoanBrief]) -> None:
        self.open_loans = loans
        warning = self.query_one("#customer-warning", Static)
        numbers = ", ".join(f"{loan.loan_number} ({in_words(loan.status).lower()})" for loan in loans)
        warning.update(f"Already has {escape(numbers)}; you may still apply." if loans else "")
        warning.set_class(bool(loans), "-shown")

    @on(Input.Changed, "#customer")
    def _customer_typed(self, event: Input.Changed) -> None:
        if event.value != self._picked_number:  # typing again undoes the pick
            self.customer_id = None
            self.query_one("#customer-name", Static).update("")
            self._warn_open_loans([])

    @on(Input.Submitted, "#customer")
    def _find_customer(self, event: Input.Submitted) -> None:
        event.stop()
        query = event.value
        if not query.strip():
            self.query_one("#field-customer", FieldRow).error("type a name or customer number, then enter")
            return
        customers = CustomerRepository(self.ctx.engine, self.ctx.actor)
        self.start("customer", lambda: customers.search(query, limit=6), working="finding the customer…")

    @on(OptionList.OptionSelected, "#customer-choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        row = next(r for r in self._matches if str(r.id) == event.option.id)
        self._pick(row.id, row.customer_number, row.full_name)
        self._focus_terms()

    # --- terms and preview ----------------------------------------------------------------------------

    def read_terms(self) -> tuple[LoanTerms | None, dict[str, str]]:
        errors: dict[str, str] = {}
        principal = rate = None
        term = 0
        try:
            principal = self.query_one("#principal", MoneyInput).amount()
        except MoneyError as exc:
            errors["principal"] = str(exc)
        try:
            rate = parse_rate(self.query_one("#interest_rate", Input).value)
        except ValueError as exc:
            errors["interest_rate"] = str(exc)
        try:
            term = parse_whole(self.query_one("#term", Input).value, 1, 520, "number of installments")
        except ValueError as exc:
            errors["term"] = str(exc)
        first = None
        try:
            first = parse_date(self.query_one("#first_repayment_date", Input).value, required=False,
                               earliest=self.ctx.today())
        except DateError as exc:
            errors["first_repayment_date"] = str(exc)
        method = str(self.query_one("#interest_method", Select).value)
        frequency = str(self.query_one("#repayment_frequency", Select).value)
        product = self.product
        if errors or principal is None or rate is None:
            return None, errors
        terms = LoanTerms(principal, rate, method, term, frequency, first, product.id if product else None)
        errors.update(terms_problems(terms, product))
        return (None if errors else terms), errors

    @on(Input.Changed)
    @on(Select.Changed)
    def _terms_changed(self, event: Input.Changed | Select.Changed) -> None:
        if event.control.id in ("customer", "purpose", "loan_officer", "group_id"):
            return
        if event.control.id == "product":
            self._product_picked()
        terms, errors = self.read_terms()
        typed = {row.field_name for row in self.query(FieldRow)
                 if isinstance(row.control, Input) and row.control.value.strip()}
        for row in self.query(FieldRow):
            if row.field_name in ("principal", "interest_rate", "term", "first_repayment_date"):
                row.error(errors.get(row.field_name) if row.field_name in typed else None)
            elif row.field_name == "product":
                row.error(errors.get("product"))
        if terms is None:
            self.clear_preview(errors)
            return
        first = terms.first_repayment_date or one_period_after(self.ctx.today(), terms.repayment_frequency)
        repo = self.repo
        self._preview_for = terms
        # The preview follows the typing and moves no focus: nothing typed waits for it.
        self.start("preview", lambda: (terms, repo.preview(terms, first)), working=None, hold=None)

    def _focus_terms(self) -> None:
        """After the customer: the product when there is a catalogue, else the principal."""
        self.query_one("#product" if self.products else "#principal").focus()

    @property
    def product(self) -> LoanProduct | None:
        value = self.query_one("#product", Select).value
        return self.products.get(value) if isinstance(value, int) else None

    def _product_picked(self) -> None:
        """The product's method, frequency and usual rate and term go into the form; method and frequency are
        locked while a product is picked, and its ranges are shown under the form."""
        product = self.product
        method = self.query_one("#interest_method", Select)
        frequency = self.query_one("#repayment_frequency", Select)
        hint = self.query_one("#product-hint", Static)
        method.disabled = frequency.disabled = product is not None
        if product is None:
            hint.update("")
            hint.set_class(False, "-shown")
            return
        method.value = product.interest_method
        frequency.value = product.repayment_frequency
        if product.rate_default is not None:
            self.query_one("#interest_rate", Input).value = rate_text(product.rate_default)
        if product.term_default is not None:
            self.query_one("#term", Input).value = str(product.term_default)
        hint.update(f"{escape(product.code)}: {escape(product.hint)}")
        hint.set_class(True, "-shown")

    def clear_preview(self, errors: dict[str, str]) -> None:
        """Terms that cannot be lent on show no schedule: the old one goes at once, and the line under the
        preview names the fields to put right."""
        self._preview_for = None
        self.query_one("#schedule", ScheduleTable).clear()
        wrong = [TERM_LABELS[name] for name in TERM_LABELS if name in errors]
        self.query_one("#totals", Static).update(
            f"No preview: check {', '.join(wrong)}." if wrong else "The preview follows once the terms are complete.")

    # --- submit ---------------------------------------------------------------------------------------

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        if event.control.id != "customer":
            self.action_submit()

    def action_submit(self) -> None:
        if self.busy("submit") or self.busy("check") or self.submitted is not None:
            return
        if isinstance(self.app.screen, ConfirmScreen):
            return
        terms, errors = self.read_terms()
        purpose = self.query_one("#purpose", Input).value
        if len(purpose) > 500:
            errors["purpose"] = "the purpose has at most 500 characters"
        elif any(unicodedata.category(char) == "Cc" for char in purpose.strip()):
            errors["purpose"] = "the purpose contains control characters (tabs, line breaks, escapes)"
        if self.customer_id is None:
            errors["customer"] = "pick a customer: type a name or number and press enter"
        self.show_field_errors(errors)
        if terms is None or errors or self.customer_id is None:
            return
        officer = self.query_one("#loan_officer", Select).value
        group = self.query_one("#group_id", Select).value
        application = LoanApplication(self.customer_id, terms, purpose,
                                      officer if isinstance(officer, int) else None,
                                      group if isinstance(group, int) else None)
        repo, customer_id = self.repo, self.customer_id
        self.start("check", lambda: (application, repo.open_loans_of(customer_id)), retry=ASK,
                   working="checking…")  # a submit follows: after an outage the person submits again

    def _confirm_another(self, application: LoanApplication, loans: list[LoanBrief]) -> None:
        """A customer with an application or loan in play: say which, and let the officer go on."""
        if application.customer_id != self.customer_id:
            return  # another customer was picked meanwhile
        self._warn_open_loans(loans)
        if not loans:
            self._submit(application)
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._submit(application)
            else:
                self.status.say("Not submitted. Change the application, or submit again to go ahead.")

        name = self._picked_name
        self.app.push_screen(ConfirmScreen(f"{name} already has {'a loan' if len(loans) == 1 else 'loans'} in play",
                                           open_loan_lines(loans, self.ctx.currency),
                                           question="Submit another application?"), answer)

    def _submit(self, application: LoanApplication) -> None:
        if self.busy("submit") or self.submitted is not None:
            return
        repo, today, key = self.repo, self.ctx.today(), self.idempotency_key
        self.start("submit", lambda: repo.apply(application, today=today, idempotency_key=key), retry=ASK,
                   working="submitting the application…")

    def done(self, tag: str, result: Any) -> None:
        if tag == "officers":
            select = self.query_one("#loan_officer", Select)
            select.set_options((f"{staff.full_name}", staff.id) for staff in result)
            if any(staff.id == self.ctx.actor.user_id for staff in result):
                select.value = self.ctx.actor.user_id
            return
        if tag == "products":
            self.products = {product.id: product for product in result}
            picker = self.query_one("#product", Select)
            picker.set_options((Text(f"{product.code} {product.name}"), product.id) for product in result)
            return
        if tag == "group":
            self._show_group(*result)
            return
        if tag == "open_loans":
            customer_id, loans = result
            if customer_id == self.customer_id:
                self._warn_open_loans(loans)
            return
        self.status.clear()
        if tag == "check":
            self._confirm_another(*result)
        elif tag == "customer":
            self._customer_found(result.rows)
        elif tag == "preview":
            terms, preview = result
            if terms != self._preview_for:
                return  # the terms changed (or went wrong) while this preview was on its way
            self.show_preview(preview)
        elif tag == "submit":
            self.submitted = result
            self.status.say(f"Application {result.loan_number} saved; it waits for approval.", kind="ok")
            from screens.loan_detail import LoanDetailScreen

            self.app.switch_screen(LoanDetailScreen(self.ctx, result.id))

    def _show_group(self, customer_id: int, group: GroupSummary | None) -> None:
        """The group field, for a member of a group: the loan is individual unless the group is chosen."""
        if customer_id != self.customer_id:
            return
        select = self.query_one("#group_id", Select)
        select.set_options([] if group is None else
                           [(Text(f"{group.group_number} {group.name} ({group.meetings})"), group.id)])
        self.query_one("#field-group_id").display = group is not None

    def show_preview(self, preview: SchedulePreview) -> None:
        rows = preview.rows
        self.query_one("#schedule", ScheduleTable).show(list(rows), self.ctx.today())
        interest = sum((row.interest_due for row in rows), Decimal("0.00"))
        total = sum((row.total_due for row in rows), Decimal("0.00"))
        said = f"Interest {format_money(interest)} · to repay {format_money(total)} in {len(rows)}"
        if preview.fee or self.product is not None:
            said += f" · Fee {format_money(preview.fee)} · Paid out {format_money(preview.paid_out)}"
        self.query_one("#totals", Static).update(said)

    def failed(self, tag: str, error: BaseException) -> None:
        if tag == "preview":  # the person is typing: say what is wrong, leave the cursor where it is
            self.clear_preview(error.fields if isinstance(error, ValidationError) else {})
            if isinstance(error, ValidationError):  # the database's reason, across the form's whole width
                reasons = "; ".join(error.fields.values())
                self.query_one("#totals", Static).update(f"No preview: {escape(reasons)}.")
            else:
                self.status.say(describe(error), kind="error")
            return
        if tag == "customer" and not isinstance(error, ValidationError):  # a search refused: say so beside it
            self.status.clear()
            self.query_one("#field-customer", FieldRow).error(describe(error))
            return
        super().failed(tag, error)

    def _customer_found(self, rows: tuple[CustomerRow, ...]) -> None:
        self._matches = rows
        if not rows:
            self.query_one("#field-customer", FieldRow).error("no customer matches; check the name or number")
        elif len(rows) == 1:
            self._pick(rows[0].id, rows[0].customer_number, rows[0].full_name)
            self._focus_terms()
        else:
            choices = self.query_one("#customer-choices", OptionList)
            choices.clear_options()
            choices.add_options(Option(f"{escape(r.customer_number)}  {escape(r.full_name)}", id=str(r.id))
                                for r in rows)
            choices.display = True
            choices.focus()
