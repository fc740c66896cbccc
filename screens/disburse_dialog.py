"""The disbursement's confirmation, with how the money goes out: cash from the till (the default), M-Pesa or a
bank transfer, with its reference. It writes nothing: the loan screen disburses with the answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from screens.typeahead import typeahead_of
from widgets.fields import FieldRow
from widgets.payment_method import NEEDS_REFERENCE, REFERENCE_MAX, PaymentMethodPicker, reference_problem


@dataclass(frozen=True)
class PayOut:
    method: str
    reference: str | None


class DisburseDialog(ModalScreen[PayOut | None]):
    """The facts of the disbursement, how it is paid out; enter disburses, escape does not."""

    CSS_PATH = "disburse_dialog.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", priority=True),
                                             Binding("y", "yes", "Yes", show=False),
                                             Binding("n", "cancel", "No", show=False)]
    AUTO_FOCUS = "#method"

    def __init__(self, title: str, lines: Sequence[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = tuple(lines)
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = escape(self.title_text)
            yield Static("\n".join(escape(line) for line in self.lines), id="dialog-body")
            yield FieldRow("Paid out by", PaymentMethodPicker(id="method"), name="method")
            yield FieldRow("Reference", Input(id="reference", max_length=REFERENCE_MAX, compact=True),
                           name="reference")
            yield Static("c / m / b or ← / → choose how the money goes out\n"
                         "[b]Disburse?[/b]  y / enter = yes · n / escape = no", id="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#field-reference").display = False
        self.watch(self.query_one("#method", PaymentMethodPicker), "method", self._method_changed, init=False)

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
        queue = typeahead_of(self.app)
        if queue is not None:
            token = queue.hold(self)
            self.call_after_refresh(queue.release, token)

    @on(PaymentMethodPicker.Submitted, "#method")
    @on(Input.Submitted, "#reference")
    def _submit(self, event: PaymentMethodPicker.Submitted | Input.Submitted) -> None:
        event.stop()
        self.action_yes()

    def action_yes(self) -> None:
        """y (outside the reference field, where it is a letter) or enter: disburse, once the reference is there."""
        method = self.query_one("#method", PaymentMethodPicker).method
        raw = self.query_one("#reference", Input).value
        row = self.query_one("#field-reference", FieldRow)
        problem = reference_problem(method, raw)
        row.error(problem)
        if problem:
            self.query_one("#reference").focus()
            return
        if not self._answered:
            self._answered = True
            self.dismiss(PayOut(method, raw.strip() if method in NEEDS_REFERENCE else None))

    def on_unmount(self) -> None:
        queue = typeahead_of(self.app)
        if queue is not None:
            queue.release_all(self)

    def action_cancel(self) -> None:
        if not self._answered:
            self._answered = True
            self.dismiss(None)
