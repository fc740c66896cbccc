"""One customer: details, branch and loans; edit, apply for a loan, open a loan, take a payment or (a supervisor)
transfer the customer to another branch, as the role may."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, Static

from db.permissions import CREATE_APPLICATIONS, EDIT_CUSTOMERS, RECORD_PAYMENTS
from db.repositories.branches import Branch, BranchRepository
from db.repositories.customers import CustomerDetail, CustomerRepository
from screens.context import ScreenContext
from screens.data import DataScreen
from widgets.dates import format_date
from widgets.footer import KeysFooter
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable
from widgets.words import in_words

PAYABLE = ("active", "defaulted")
TRANSFERS_BY = "supervisor"
"""Only a supervisor moves a customer to another branch (the database's transfer_customer says the same)."""


def customer_text(detail: CustomerDetail, branch: Branch | None = None) -> str:
    data = detail.data
    born = format_date(data.date_of_birth)

    def show(value: str | None) -> str:
        return escape(value) if value else "—"

    return "\n".join((
        f"[b]{escape(detail.full_name)}[/b] · {escape(detail.customer_number)} · {escape(in_words(detail.status))}",
        f"Phone {show(data.phone)} · National ID {show(data.national_id)} · Born {born}",
        f"Email {show(data.email)} · {show(data.occupation)}",
        f"Address {show(data.address)}",
        f"Branch {show(branch.label if branch else None)}",
    ))


class CustomerDetailScreen(DataScreen):
    CSS_PATH = "customer_detail.tcss"
    screen_name = "customer_detail"
    AUTO_FOCUS = "#loans"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", "Edit"),
        Binding("a", "apply", "New loan"),
        Binding("p", "pay", "Pay"),
        Binding("t", "transfer", "Transfer"),
    ]

    def __init__(self, context: ScreenContext, customer_id: int) -> None:
        super().__init__(context)
        self.customer_id = customer_id
        self.detail: CustomerDetail | None = None
        self.branch: Branch | None = None
        self._said = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield Static("", id="customer")
        yield Static("Loans", classes="panel-title")
        yield PageTable(("Loan", "Principal", "Status", "Applied"), id="loans")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Customer"
        self.load()

    def on_screen_resume(self) -> None:
        if self.detail is not None:
            self.load()

    def load(self) -> None:
        repo, customer_id = CustomerRepository(self.ctx.engine, self.ctx.actor), self.customer_id
        branches = BranchRepository(self.ctx.engine, self.ctx.actor)
        self.start("load", lambda: (repo.get(customer_id), branches.customer_branch(customer_id)),
                   working="loading the customer…")

    def done(self, tag: str, result: Any) -> None:
        if tag != "load":
            return
        result, self.branch = result
        self.detail = result
        self.query_one("#customer", Static).update(customer_text(result, self.branch))
        table = self.query_one("#loans", PageTable)
        table.fill([(str(loan.id), (loan.loan_number, loan.principal_amount, in_words(loan.status),
                                       loan.application_date))
                    for loan in result.loans], keep_cursor=True)
        if self._said:
            self.status.say(self._said, kind="ok")
            self._said = ""
        else:
            self.status.say("enter opens a loan" if result.loans else "No loans yet.")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit":
            return self.ctx.can(EDIT_CUSTOMERS)
        if action == "apply":
            return self.ctx.can(CREATE_APPLICATIONS) and (self.detail is None or self.detail.status == "active")
        if action == "pay":
            return self.ctx.can(RECORD_PAYMENTS) and self._payable_loan() is not None
        if action == "transfer":
            return self.ctx.actor.role == TRANSFERS_BY
        return True

    def _payable_loan(self) -> int | None:
        if self.detail is None:
            return None
        key = self.query_one("#loans", PageTable).current_key()
        chosen = [loan for loan in self.detail.loans if str(loan.id) == key and loan.status in PAYABLE]
        if chosen:
            return chosen[0].id
        payable = [loan for loan in self.detail.loans if loan.status in PAYABLE]
        return payable[0].id if len(payable) == 1 else None

    @on(PageTable.RowHighlighted, "#loans")
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(PageTable.RowSelected, "#loans")
    def _open_loan(self, event: PageTable.RowSelected) -> None:
        from screens.loan_detail import LoanDetailScreen

        self.app.push_screen(LoanDetailScreen(self.ctx, int(str(event.row_key.value))))

    def action_edit(self) -> None:
        if self.detail is not None and self.ctx.can(EDIT_CUSTOMERS):
            from screens.customer_form import CustomerFormScreen

            self.app.push_screen(CustomerFormScreen(self.ctx, self.detail))

    def action_apply(self) -> None:
        if self.detail is not None and self.ctx.can(CREATE_APPLICATIONS):
            from screens.loan_application import LoanApplicationScreen

            self.app.push_screen(LoanApplicationScreen(self.ctx, customer=self.detail))

    def action_pay(self) -> None:
        loan_id = self._payable_loan()
        if loan_id is not None and self.ctx.can(RECORD_PAYMENTS):
            from screens.payment_entry import PaymentEntryScreen

            self.app.push_screen(PaymentEntryScreen(self.ctx, loan_id=loan_id))

    def action_transfer(self) -> None:
        if self.detail is not None and self.ctx.actor.role == TRANSFERS_BY:
            from screens.branch_dialogs import TransferDialog

            self.app.push_screen(TransferDialog(self.ctx, self.detail, self.branch), self._transferred)

    def _transferred(self, loans: object) -> None:
        if isinstance(loans, int):
            self._said = f"Transferred, with {loans} loan{'s' if loans != 1 else ''}."
            self.load()
