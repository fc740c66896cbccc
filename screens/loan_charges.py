"""A loan's late penalties on the loan detail: each charge (date, installment, occurrence, amount, waived, moved by a
reschedule, what is unpaid, the reason of a waiver or the reschedule it was moved by), and the supervisor's dialog
that waives what of the highlighted one is unpaid.

The panel loads its rows through the screen's one database path (`run_in`); the dialog checks what was typed first
and shows each refusal, its own or the database's, beside its field: the amount or the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from db.errors import ValidationError
from db.repositories.penalties import Charge, PenaltyRepository
from db.validation import reason_problem
from screens.context import ScreenContext
from screens.data import ASK, DatabaseCalls, run_in
from widgets.dates import format_date
from widgets.fields import FieldRow, MoneyInput
from widgets.money import MoneyError, format_money
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable

REASON_MAX = 500
KEYS = "enter or ctrl+s waives · escape closes"


class ChargesPanel(PageTable):
    """The penalties charged on the loan, oldest first; hidden when there are none."""

    DEFAULT_CSS = """
    ChargesPanel { height: auto; max-height: 7; margin: 0 1; border-top: hkey $primary; display: none; }
    """
    COLUMNS = ("Charged", "Inst.", "No.", "Amount", "Waived", "Moved", "Unpaid", "Note")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(self.COLUMNS, **kwargs)
        self.charges: list[Charge] = []

    def load(self, context: ScreenContext, loan_id: int) -> None:
        repo = PenaltyRepository(context.engine, context.actor)
        run_in(self, "charges", lambda: repo.charges(loan_id), self.show, working=None, hold=None)

    def show(self, charges: Sequence[Charge]) -> None:
        self.charges = list(charges)
        self.display = bool(self.charges)
        self.border_title = f"Late penalties ({len(self.charges)})" if self.charges else None
        self.fill(((str(c.id), (c.charge_date, c.installment_number, c.occurrence, c.amount, c.waived_amount,
                                c.moved_amount, c.unpaid, c.note)) for c in self.charges), keep_cursor=True)
        self.screen.refresh_bindings()

    def current(self) -> Charge | None:
        key = self.current_key()
        return next((c for c in self.charges if str(c.id) == key), None)

    @property
    def unpaid(self) -> bool:
        return any(c.unpaid > 0 for c in self.charges)


class WaiveDialog(DatabaseCalls, ModalScreen[Decimal | None]):
    """Waive part or all of what of one charge is unpaid, saying why (the amount starts at what is unpaid)."""

    CSS_PATH = "loan_charges.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Close"),
                                             Binding("ctrl+s", "save", "Waive")]

    def __init__(self, context: ScreenContext, loan_number: str, charge: Charge) -> None:
        super().__init__()
        self.ctx = context
        self.loan_number = loan_number
        self.charge = charge

    def compose(self) -> ComposeResult:
        charge, currency = self.charge, self.ctx.currency
        yield ConnectionBanner()
        with Vertical(id="dialog-box") as box:
            box.border_title = "Waive a penalty"
            yield Static(escape(
                f"{self.loan_number}, installment {charge.installment_number}, penalty {charge.occurrence} of "
                f"{format_date(charge.charge_date)}: {format_money(charge.amount, currency)}, waived "
                f"{format_money(charge.waived_amount, currency)}, unpaid {format_money(charge.unpaid, currency)}"),
                id="waive-facts")
            yield FieldRow("Amount", MoneyInput(format_money(charge.unpaid), id="waive-amount"), name="amount")
            yield FieldRow("Reason", Input(id="waive-reason", compact=True, placeholder="why it is waived"),
                           name="reason")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Waive", id="waive-save", variant="primary", compact=True)
            yield StatusLine(KEYS, id="status")

    def on_mount(self) -> None:
        self.query_one("#waive-reason", Input).focus()

    @on(Input.Submitted, "#waive-amount")
    def _next(self) -> None:
        self.query_one("#waive-reason", Input).focus()

    @on(Input.Submitted, "#waive-reason")
    @on(Button.Pressed, "#waive-save")
    def action_save(self) -> None:
        if self.busy("waive"):
            return
        errors: dict[str, str] = {}
        amount: Decimal | None = None
        try:
            amount = self.query_one("#waive-amount", MoneyInput).amount()
        except MoneyError as exc:
            errors["amount"] = str(exc)
        if amount is not None and amount > self.charge.unpaid:
            errors["amount"] = f"only {format_money(self.charge.unpaid)} of this penalty is unpaid; waive that or less"
        reason = self.query_one("#waive-reason", Input).value.strip()
        problem = reason_problem(reason, "say why the penalty is waived")
        if problem is None and len(reason) > REASON_MAX:
            problem = f"the reason has at most {REASON_MAX} characters (it has {len(reason):,})"
        if problem:
            errors["reason"] = problem
        self.show_field_errors(errors)
        if errors or amount is None:
            return
        repo, charge_id, waived = PenaltyRepository(self.ctx.engine, self.ctx.actor), self.charge.id, amount
        # A waiver is not idempotent: after a lost connection the person submits again (the database refuses a
        # second waiver beyond what is unpaid).
        self.start("waive", lambda: repo.waive(charge_id, waived, reason), retry=ASK, working="Waiving…",
                   on_done=lambda _left: self._waived(waived))

    def _waived(self, amount: Decimal) -> None:
        self.dismiss(amount)

    def failed(self, tag: str, error: BaseException) -> None:
        if isinstance(error, ValidationError):
            self.show_field_errors(error.fields)
        else:
            super().failed(tag, error)

    def action_cancel(self) -> None:
        self.dismiss(None)
