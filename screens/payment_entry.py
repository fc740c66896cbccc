"""Payment entry at the counter: find the loan, see what is due, take the amount, confirm the split, record
once, then the receipt.

The idempotency key is made when a loan is picked and kept across retries: a double enter, or submitting
again after the connection dropped, records one payment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, Input, Label, Static

from db.errors import Refused
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanRepository
from db.repositories.payments import (
    AllocationLine,
    AmountsDue,
    PaymentRepository,
    PayoffQuote,
    Receipt,
    new_idempotency_key,
)
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import AUTO, describe
from screens.leaving import FormScreen
from screens.settlement_panel import RECOVERS, SettlementPanel
from screens.typeahead import ALL_KEYS
from widgets.dates import DateError, format_date, format_for_typing, parse_date
from widgets.fields import FieldRow, MoneyInput
from widgets.footer import KeysFooter
from widgets.money import MoneyError, format_money
from widgets.payment_method import NEEDS_REFERENCE, REFERENCE_MAX, PaymentMethodPicker, method_label, reference_problem
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable
from widgets.words import in_words

PAYABLE = ("active", "defaulted")
TAKES_MONEY = (*PAYABLE, RECOVERS)
"""A written-off loan takes a payment as a recovery (0021)."""
TILL_CLOSED = "open your till"
"""The database's refusal of cash taken with no till open, in a branch that requires tills."""
_LOAN_NUMBER = re.compile(r"^\s*L-?\d{1,9}\s*$", re.IGNORECASE)
MAX_CUSTOMERS = 8


@dataclass(frozen=True)
class Candidate:
    loan_id: int
    loan_number: str
    customer_name: str
    customer_number: str
    status: str
    principal: Decimal


def find_payable(engine: Any, actor: Any, query: str) -> list[Candidate]:
    """Loans that can take a payment, by loan number or by the customer (number, name, phone, ID)."""
    loans = LoanRepository(engine, actor)
    if _LOAN_NUMBER.match(query):
        loan = loans.find_by_number(query)
        return [Candidate(loan.id, loan.loan_number, loan.customer_name, loan.customer_number, loan.status,
                          loan.terms.principal)]
    customers = CustomerRepository(engine, actor)
    found: list[Candidate] = []
    for row in customers.search(query, limit=MAX_CUSTOMERS).rows:
        detail = customers.get(row.id)
        found.extend(Candidate(b.id, b.loan_number, detail.full_name, detail.customer_number, b.status,
                               b.principal_amount) for b in detail.loans if b.status in TAKES_MONEY)
    return found


def split_lines(due: AmountsDue, amount: Decimal, day: date, lines: list[AllocationLine], currency: str) -> list[str]:
    """What the confirmation shows: the payment, then how each installment takes its part."""
    out = [f"{due.loan_number} · {due.customer_name}",
           f"Pay {format_money(amount, currency)} on {format_date(day)}", "",
           f"{'#':>3} {'due':<11} {'penalty':>10} {'interest':>10} {'principal':>11}  after"]
    for line in lines:
        out.append(f"{line.installment_number:>3} {format_date(line.due_date):<11} {format_money(line.penalty):>10} "
                   f"{format_money(line.interest):>10} {format_money(line.principal):>11}  "
                   f"{in_words(line.status_after)}")
    totals = [sum((getattr(line, name) for line in lines), Decimal("0.00"))
              for name in ("penalty", "interest", "principal")]
    out.append(f"{'':>3} {'total':<11} {format_money(totals[0]):>10} {format_money(totals[1]):>10} "
               f"{format_money(totals[2]):>11}")
    return out


class PaymentEntryScreen(FormScreen):
    CSS_PATH = "payment_entry.tcss"
    screen_name = "payment_entry"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s", "submit", "Take payment"),
                                             Binding("ctrl+f", "find_again", "Other loan"),
                                             Binding("ctrl+t", "settle", "Pay off")]

    def __init__(self, context: ScreenContext, loan_id: int | None = None) -> None:
        super().__init__(context)
        self.loan_id = loan_id
        self.due: AmountsDue | None = None
        self.idempotency_key = ""
        self.receipt: Receipt | None = None
        self._candidates: list[Candidate] = []
        self._pending: tuple[Decimal, date, str, str | None] | None = None
        self._round = 0
        self._suggested = ""
        """The amount the screen filled in for the loan (an amount other than this was typed by the cashier)."""
        """Bumped by ctrl+f: an answer to a search or a loan asked for before it is dropped."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield FieldRow("Loan / customer", Input(id="find", placeholder="L-000123, C-000045, name or phone",
                                                max_length=100, compact=True), name="find")
        yield PageTable(("Loan", "Customer", "Number", "Status", "Principal"), id="choices")
        yield Static("", id="due")
        yield SettlementPanel(id="payoff")
        yield FieldRow("Amount", MoneyInput(id="amount"), name="amount")
        yield FieldRow("Paid by", PaymentMethodPicker(id="method"), name="method")
        yield FieldRow("Reference", Input(id="reference", max_length=REFERENCE_MAX, compact=True), name="reference")
        yield FieldRow("Date", Input(id="payment_date", max_length=20, compact=True), name="payment_date")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Payment entry"
        self.query_one("#choices").display = False
        self.query_one("#due").display = False
        self.query_one("#field-reference").display = False
        self.watch(self.query_one("#method", PaymentMethodPicker), "method", self._method_changed, init=False)
        self.query_one("#payment_date", Input).value = format_for_typing(self.ctx.today())
        if self.loan_id is not None:
            self.pick(self.loan_id)
        else:
            self._ready_to_find()

    def _ready_to_find(self) -> None:
        self.query_one("#find").focus()
        self.status.say("Type a loan number or the customer, then enter.")

    @property
    def payments(self) -> PaymentRepository:
        return PaymentRepository(self.ctx.engine, self.ctx.actor)

    # --- finding the loan -----------------------------------------------------------------------------

    @on(Input.Submitted, "#find")
    def _find(self, event: Input.Submitted) -> None:
        event.stop()
        query = event.value
        if not query.strip():
            self.query_one("#field-find", FieldRow).error("type a loan number, customer number, name or phone")
            return
        engine, actor, round_ = self.ctx.engine, self.ctx.actor, self._round
        self.start("find", lambda: (round_, find_payable(engine, actor, query)), working="finding the loan…")

    @on(PageTable.RowSelected, "#choices")
    def _chosen(self, event: PageTable.RowSelected) -> None:
        self.pick(int(str(event.row_key.value)))

    def pick(self, loan_id: int) -> None:
        """A new loan at the counter: a new idempotency key, then what it owes today."""
        self.loan_id = loan_id
        self.due = None
        self.receipt = None
        self.idempotency_key = new_idempotency_key()
        self.query_one("#choices").display = False
        repo, today, round_ = self.payments, self.ctx.today(), self._round
        self.start("due", lambda: (round_, repo.amounts_due(loan_id, today)), working="loading what is due…")

    def action_find_again(self) -> None:
        """Another loan: the find field, the list of loans found and what the last loan owed all go."""
        self._round += 1
        self._pending = None
        self.loan_id = None
        self.due = None
        self._candidates = []
        self.query_one("#find", Input).value = ""
        choices = self.query_one("#choices", PageTable)
        choices.clear()
        choices.display = False
        self.query_one("#due", Static).update("")
        self.query_one("#due").display = False
        self.query_one(SettlementPanel).clear()
        self.query_one("#amount", MoneyInput).value = self._suggested = ""
        self.query_one("#method", PaymentMethodPicker).method = "cash"
        self.query_one("#reference", Input).value = ""
        self.show_field_errors({})
        self._ready_to_find()

    # --- the amount, the split, the payment -----------------------------------------------------------

    @on(Input.Submitted, "#amount")
    @on(Input.Submitted, "#reference")
    @on(Input.Submitted, "#payment_date")
    @on(PaymentMethodPicker.Submitted, "#method")
    def _enter(self, event: Input.Submitted | PaymentMethodPicker.Submitted) -> None:
        event.stop()
        self.action_submit()

    def _method_changed(self, method: str) -> None:
        """M-Pesa and bank money is traced by its reference: the field shows for them and goes for cash, in the
        same key press that changed the method (a tab typed right after it lands in the field)."""
        row = self.query_one("#field-reference", FieldRow)
        row.display = method in NEEDS_REFERENCE
        row.error(None)
        if row.display:
            label = "M-Pesa receipt" if method == "mobile_money" else "Bank reference"
            row.query_one(".row-label", Label).update(label)
        # Focus follows the layout: keys typed ahead (tab, then the reference) wait until the field has its place.
        self._hold_keys("method", ALL_KEYS)
        self.call_after_refresh(self._release_keys, "method")

    @property
    def method(self) -> str:
        return self.query_one("#method", PaymentMethodPicker).method

    @property
    def reference(self) -> str | None:
        return self.query_one("#reference", Input).value.strip() if self.method in NEEDS_REFERENCE else None

    def action_submit(self) -> None:
        if self.due is None or self.busy("preview") or self.busy("record") or self.receipt is not None:
            return  # nothing to pay yet, or this payment is already on its way
        if isinstance(self.app.screen, ConfirmScreen):
            return
        errors: dict[str, str] = {}
        amount = day = None
        try:
            amount = self.query_one("#amount", MoneyInput).amount()
        except MoneyError as exc:
            errors["amount"] = str(exc)
        try:
            day = parse_date(self.query_one("#payment_date", Input).value, latest=self.ctx.today())
        except DateError as exc:
            errors["payment_date"] = "a payment cannot be dated in the future" if "after" in str(exc) else str(exc)
        recovery = self.due.status == RECOVERS
        left = self._recoverable()
        if amount is not None and recovery and left is not None and amount > left:
            errors["amount"] = (f"at most {format_money(left, self.ctx.currency)} of the write-off is left to recover")
        elif amount is not None and not recovery and amount > self.due.outstanding_total:
            errors["amount"] = (f"the loan owes only {format_money(self.due.outstanding_total, self.ctx.currency)}"
                                " in all")
        problem = reference_problem(self.method, self.query_one("#reference", Input).value)
        if problem:
            errors["reference"] = problem
        if self.due.status not in TAKES_MONEY:
            errors["find"] = f"{self.due.loan_number} is {in_words(self.due.status).lower()}: it takes no payments"
        self.show_field_errors(errors)
        if errors or amount is None or day is None:
            return
        self._pending = (amount, day, self.method, self.reference)
        if recovery:
            self._confirm_recovery()
            return
        repo, loan_id = self.payments, self.due.loan_id
        self.start("preview", lambda: repo.preview(loan_id, amount, day), working="working out the split…")

    def _confirm(self, lines: list[AllocationLine]) -> None:
        assert self.due is not None and self._pending is not None
        amount, day, method, reference = self._pending
        due, key, repo = self.due, self.idempotency_key, self.payments

        def answer(yes: bool | None) -> None:
            if yes and not self.busy("record") and self.receipt is None:
                self.start("record", lambda: repo.record(due.loan_id, amount, day, key, method=method,
                                                         reference=reference),
                           retry=AUTO, working="recording the payment…")
            elif not yes:
                self.status.say("Not recorded. Change the amount or press enter to take it.")
                self.query_one("#amount").focus()

        paid = method_label(method) + (f", ref {reference}" if reference else "")
        self.app.push_screen(ConfirmScreen("Take this payment?", [*split_lines(due, amount, day, lines,
                                                                               self.ctx.currency),
                                                                   "", f"Paid by: {paid}"],
                                           question="Record it?"), answer)

    # --- paying off, and recoveries (0021) ----------------------------------------------------------------

    def _recoverable(self) -> Decimal | None:
        recoveries = self.query_one(SettlementPanel).recoveries
        return recoveries.left if recoveries is not None else None

    def action_settle(self) -> None:
        """ctrl+t: the day's payoff quote fills the amount; once confirmed, settle_loan closes the loan."""
        if self.due is None or self.busy("payoff") or self.busy("record") or self.receipt is not None:
            return
        if isinstance(self.app.screen, ConfirmScreen):
            return
        if self.due.status not in PAYABLE:
            self.status.say(f"{self.due.loan_number} is {in_words(self.due.status).lower()}: it cannot be paid off",
                            kind="error")
            return
        try:
            day = parse_date(self.query_one("#payment_date", Input).value, latest=self.ctx.today())
        except DateError as exc:
            self.show_field_errors({"payment_date": "a payment cannot be dated in the future" if "after" in str(exc)
                                    else str(exc)})
            return
        if day is None:
            self.show_field_errors({"payment_date": "type the day the loan is paid off"})
            return
        problem = reference_problem(self.method, self.query_one("#reference", Input).value)
        if problem:
            self.show_field_errors({"reference": problem})
            return
        self.show_field_errors({})
        repo, loan_id = self.payments, self.due.loan_id
        self.start("payoff", lambda: repo.payoff_quote(loan_id, day), working="working out the payoff…")

    def _confirm_settlement(self, quote: PayoffQuote) -> None:
        assert self.due is not None
        currency, due, key, repo = self.ctx.currency, self.due, self.idempotency_key, self.payments
        method, reference = self.method, self.reference
        self.query_one("#amount", MoneyInput).value = self._suggested = format_money(quote.total)
        lines = [f"{due.loan_number} · {due.customer_name}",
                 f"Pay off on {format_date(quote.as_of)}: {format_money(quote.total, currency)}", "",
                 f"Principal {format_money(quote.principal):>14}",
                 f"Interest  {format_money(quote.interest):>14}",
                 f"Penalty   {format_money(quote.penalty):>14}", "",
                 "The rest of the interest is waived and the loan is closed.",
                 f"Paid by: {method_label(method)}" + (f", ref {reference}" if reference else "")]

        def answer(yes: bool | None) -> None:
            if yes and not self.busy("record") and self.receipt is None:
                self.start("record", lambda: repo.settle(due.loan_id, quote.total, quote.as_of, key, method=method,
                                                         reference=reference),
                           retry=AUTO, working="paying off the loan…")
            elif not yes:
                self.status.say("Not paid off. ctrl+t again, or enter takes the amount as an ordinary payment.")
                self.query_one("#amount").focus()

        self.app.push_screen(ConfirmScreen("Pay off the loan?", lines, question="Settle it?"), answer)

    def _confirm_recovery(self) -> None:
        assert self.due is not None and self._pending is not None
        amount, day, method, reference = self._pending
        due, key, repo, currency = self.due, self.idempotency_key, self.payments, self.ctx.currency

        def answer(yes: bool | None) -> None:
            if yes and not self.busy("record") and self.receipt is None:
                self.start("record", lambda: repo.record(due.loan_id, amount, day, key, method=method,
                                                         reference=reference),
                           retry=AUTO, working="recording the recovery…")
            elif not yes:
                self.status.say("Not recorded. Change the amount or press enter to take it.")
                self.query_one("#amount").focus()

        paid = method_label(method) + (f", ref {reference}" if reference else "")
        self.app.push_screen(ConfirmScreen("Take this recovery?", [
            f"{due.loan_number} · {due.customer_name} · written off",
            f"Recover {format_money(amount, currency)} on {format_date(day)}", "",
            "A payment on a written-off loan is a recovery:", "it goes to Bad Debt Recovered, the schedule stays.",
            "", f"Paid by: {paid}"], question="Record it?"), answer)

    def done(self, tag: str, result: Any) -> None:
        if tag == "payoff":
            self.status.clear()
            if self.due is not None and result.loan_id == self.due.loan_id:
                self._confirm_settlement(result)
            return
        if tag in ("find", "due"):
            round_, answer = result
            if round_ != self._round:
                return  # asked for before ctrl+f: the counter has moved on to another loan
            if tag == "find":
                self._found(answer)
            else:
                self._show_due(answer)
        elif tag == "preview":
            self.status.clear()
            if self.due is not None and self._pending is not None:  # not when ctrl+f came meanwhile
                self._confirm(result)
        elif tag == "record":
            self.receipt = result
            self.status.say(f"Recorded: receipt {result.receipt_number}.", kind="ok")
            from screens.receipt import ReceiptScreen

            self.app.push_screen(ReceiptScreen(self.ctx, receipt=result), lambda _: self._next_customer())

    def failed(self, tag: str, error: BaseException) -> None:
        if tag == "find":
            self.status.clear()
            self.query_one("#field-find", FieldRow).error(str(error))
        elif tag == "record" and isinstance(error, Refused) and TILL_CLOSED in str(error).lower():
            # Cash with no till open: one line, the form kept as typed (M-Pesa or bank still go through).
            self.drop_keys_typed_ahead()
            self.status.say(describe(error), kind="error")
            self.query_one("#method").focus()
        elif tag == "payoff" and isinstance(error, Refused):
            self.show_field_errors({"payment_date" if "day" in str(error).lower() else "amount": str(error)})
        elif tag in ("preview", "record") and isinstance(error, Refused):
            field = "payment_date" if "date" in str(error).lower() else "amount"
            self.show_field_errors({field: str(error)})
        else:
            super().failed(tag, error)

    def _found(self, candidates: list[Candidate]) -> None:
        self._candidates = candidates
        if not candidates:
            self.drop_keys_typed_ahead()  # an amount typed ahead was meant for a loan that was not found
            self.status.clear()
            self.query_one("#field-find", FieldRow).error("no loan that takes payments matches")
            return
        self.query_one("#field-find", FieldRow).error(None)
        if len(candidates) == 1:
            self.pick(candidates[0].loan_id)
            return
        table = self.query_one("#choices", PageTable)
        table.fill((str(c.loan_id), (c.loan_number, c.customer_name, c.customer_number, in_words(c.status),
                                           c.principal))
                   for c in candidates)
        table.display = True
        table.focus()
        self.status.say("Pick the loan and press enter.")

    def _show_due(self, due: AmountsDue) -> None:
        self.due = due
        self.show_field_errors({})  # a message about the previous loan's amount does not apply to this one
        currency = self.ctx.currency
        self.query_one("#find", Input).value = due.loan_number
        next_text = (f"{format_money(due.next_installment, currency)} on {format_date(due.next_due_date)}"
                     if due.next_due_date else "—")
        self.query_one("#due", Static).display = True
        self.query_one("#due", Static).update("\n".join((
            f"[b]{escape(due.loan_number)}[/b] · {escape(due.customer_name)} · {escape(in_words(due.status))}",
            f"Overdue          {format_money(due.overdue, currency)}"
            + (f" (penalties {format_money(due.penalties, currency)})" if due.penalties else ""),
            f"Due today        {format_money(due.due_today, currency)}",
            f"Next installment {next_text}",
            f"Still owed       {format_money(due.outstanding_total, currency)}",
        )))
        amount = self.query_one("#amount", MoneyInput)
        self.query_one(SettlementPanel).load(self, due.loan_id, due.status, self.ctx.today())
        if due.status in PAYABLE and due.outstanding_total > 0:
            amount.value = self._suggested = format_money(due.suggested)
            amount.focus()
            self.status.say("enter shows how the payment splits · ctrl+t pays off · ctrl+f another loan")
        elif due.status == RECOVERS:
            amount.value = self._suggested = ""
            amount.focus()
            self.status.say(f"{due.loan_number} is written off: a payment is taken as a recovery.")
        else:
            amount.value = ""
            self.status.say(f"{due.loan_number} is {in_words(due.status).lower()}: it takes no payments.",
                            kind="error")

    def unsaved_changes(self) -> list[str]:
        amount = self.query_one("#amount", MoneyInput).value.strip()
        reference = self.reference
        if self.receipt is None and reference and self.due is not None:
            return [f"{method_label(self.method)} ref {reference} ({self.due.loan_number}): no payment was recorded"]
        if self.receipt is not None or not amount or amount == self._suggested:
            return []
        loan = self.due.loan_number if self.due is not None else "no loan picked yet"
        return [f"Amount {amount} ({loan}): no payment was recorded"]

    def _next_customer(self) -> None:
        """Back from the receipt: the form is ready for the next person in the queue."""
        self.action_find_again()
