"""The receipt of a payment: number, date, customer, loan, amount and split, balance after, cashier; or of a
disbursement: loan, customer, principal, processing fee, cash paid out, date, who disbursed.

`p` prints it to a private text file in the data folder, or to the configured printer command.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center
from textual.widgets import Header, Static

from db.repositories.payments import DisbursementReceipt, PaymentRepository, Receipt
from screens.context import ScreenContext
from screens.data import DataScreen
from screens.output import print_receipt, receipt_text
from widgets.footer import KeysFooter
from widgets.status import ConnectionBanner, StatusLine


class ReceiptScreen(DataScreen):
    CSS_PATH = "receipt.tcss"
    screen_name = "receipt"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("p", "print", "Print")]

    def __init__(self, context: ScreenContext, *, receipt: Receipt | DisbursementReceipt | None = None,
                 transaction_id: int | None = None, disbursement: bool = False) -> None:
        super().__init__(context)
        self.receipt = receipt
        self.disbursement = disbursement or isinstance(receipt, DisbursementReceipt)
        self.transaction_id = transaction_id if receipt is None else receipt.transaction_id
        self.printed: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        with Center():
            yield Static("", id="receipt")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Receipt"
        if self.receipt is not None:
            self._show(self.receipt)
        elif self.transaction_id is not None:
            repo, txn = PaymentRepository(self.ctx.engine, self.ctx.actor), self.transaction_id
            load = repo.disbursement_receipt if self.disbursement else repo.receipt
            self.start("load", lambda: load(txn), working="loading the receipt…")

    def _show(self, receipt: Receipt | DisbursementReceipt) -> None:
        self.receipt = receipt
        self.query_one("#receipt", Static).update(escape(receipt_text(receipt, self.ctx.currency).rstrip("\n")))
        self.status.say("p prints · escape goes back")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "print":
            return self.receipt is not None
        return True

    def action_print(self) -> None:
        if self.receipt is None or self.busy("print"):
            return
        receipt, currency = self.receipt, self.ctx.currency
        self.start("print", lambda: print_receipt(receipt, currency), working="printing…")

    def done(self, tag: str, result: Any) -> None:
        if tag == "load":
            self._show(result)
        elif tag == "print":
            self.printed = result
            self.status.say(result, kind="ok")
