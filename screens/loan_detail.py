"""A loan: terms, schedule with paid/partial/overdue marks, transactions, status; and what the role may do,
each behind a confirmation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, Input, Static

from db.permissions import APPROVE_LOANS, DISBURSE_LOANS, RECORD_PAYMENTS, REVERSE_PAYMENTS, WRITE_OFF
from db.permissions import CREATE_APPLICATIONS as REQUEST_RESCHEDULES
from db.repositories.loans import LoanDetail, LoanRepository, TransactionRow
from db.repositories.reschedules import RescheduleRepository
from screens.confirm import ConfirmScreen, ReasonScreen
from screens.context import ScreenContext
from screens.data import ASK, DataScreen
from screens.disburse_dialog import DisburseDialog, PayOut
from screens.loan_charges import ChargesPanel, WaiveDialog
from screens.settlement_panel import RECOVERS, SettlementPanel
from widgets.dates import format_date
from widgets.fields import FieldRow
from widgets.footer import KeysFooter
from widgets.money import format_money
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable, ScheduleTable
from widgets.words import in_words

PAYABLE = ("active", "defaulted")


def installments(term: int, frequency: str) -> str:
    """'12 installments, monthly' (or 'every two weeks', 'weekly')."""
    return f"{term} installment{'s' * (term != 1)}, {in_words(frequency).lower()}"


def summary_text(loan: LoanDetail, currency: str) -> str:
    terms = loan.terms
    dates = [f"applied {format_date(loan.application_date)}"]
    if loan.disbursement_date:
        dates.append(f"disbursed {format_date(loan.disbursement_date)}")
    lines = [
        f"[b]{escape(loan.loan_number)}[/b] · {escape(loan.customer_name)} ({escape(loan.customer_number)}) · "
        f"[b]{escape(in_words(loan.status))}[/b]",
        f"{format_money(terms.principal, currency)} at {terms.interest_rate.normalize():f} % "
        f"{in_words(terms.interest_method).lower()}, {installments(terms.term, terms.repayment_frequency)}",
        " · ".join([f"officer {escape(loan.loan_officer_name or '—')}", *dates]),
    ]
    if loan.product_code or loan.fee_amount:
        product = f"Product {escape(loan.product_code)} · " if loan.product_code else ""
        lines.append(f"{product}processing fee {format_money(loan.fee_amount, currency)}, cash paid out "
                     f"{format_money(terms.principal - loan.fee_amount, currency)}")
    if loan.schedule:
        lines.append(f"Still owed {format_money(loan.outstanding_total, currency)} "
                     f"(principal {format_money(loan.outstanding_principal, currency)})")
    if loan.purpose:
        lines.append(f"Purpose: {escape(loan.purpose)}")
    if loan.rejection_reason:
        lines.append(f"Rejected: {escape(loan.rejection_reason)}")
    return "\n".join(lines)


def reschedule_summary(reschedules: list[Any], currency: str) -> str:
    """'Rescheduled 2× (last 06 Dec 2026, 9,700.00 moved) · a reschedule waits for approval', or ''."""
    done = [r for r in reschedules if r.status == "approved"]
    parts = []
    if done:
        last = done[0]
        moved = format_money(last.outstanding_moved, currency) if last.outstanding_moved is not None else "—"
        parts.append(f"Rescheduled {len(done)}× (last {format_date(last.decided_at.date())}, {moved} moved; "
                     "h shows the old schedules)")
    if any(r.status == "pending" for r in reschedules):
        parts.append("a reschedule waits for approval (s opens it)")
    return " · ".join(parts)


class LoanDetailScreen(DataScreen):
    CSS_PATH = "loan_detail.tcss"
    screen_name = "loan_detail"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve"),
        Binding("r", "reject", "Reject"),
        Binding("d", "disburse", "Disburse"),
        Binding("p", "pay", "Pay"),
        Binding("c", "receipt", "Receipt"),
        Binding("v", "reverse", "Reverse"),
        Binding("w", "write_off", "Write off"),
        Binding("x", "waive", "Waive"),
        Binding("ctrl+f", "find_again", "Other loan"),
        Binding("s", "reschedule", "Reschedule"),
        Binding("h", "old_schedules", "Old schedules"),
    ]

    def __init__(self, context: ScreenContext, loan_id: int | None = None) -> None:
        super().__init__(context)
        self.loan_id = loan_id
        self.loan: LoanDetail | None = None
        self._reload_on_resume = False
        self.reschedule_line = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield FieldRow("Loan number", Input(id="find", placeholder="L-000123, enter opens", max_length=30,
                                            compact=True), name="find")
        yield Static("", id="summary")
        yield SettlementPanel(id="payoff")
        yield Static("", id="reschedules")
        yield ScheduleTable(preview=False, id="schedule")
        yield PageTable(self._transaction_columns(), id="transactions")
        yield ChargesPanel(id="charges")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def _wide(self) -> bool:
        return self.app.size.width >= 100

    def _transaction_columns(self) -> tuple[str, ...]:
        if self._wide():
            return ("Date", "Type", "Amount", "Principal", "Interest", "Penalty", "Receipt", "By")
        return ("Date", "Type", "Amount", "Principal", "Interest", "Receipt")

    def on_mount(self) -> None:
        self.sub_title = "Loan detail"
        if self.loan_id is None:
            self.query_one("#find").focus()
            self.status.say("Type a loan number and press enter.")
        else:
            self.query_one("#field-find").display = False
            self.query_one("#schedule").focus()
            self.load()

    def action_find_again(self) -> None:
        """Back to the number field (shown again if the screen opened on a loan), emptied for the next one."""
        row = self.query_one("#field-find", FieldRow)
        row.display = True
        row.error(None)
        field = self.query_one("#find", Input)
        field.value = ""
        field.focus()
        self.status.say("Type a loan number and press enter.")

    def on_screen_resume(self) -> None:
        if self.loan is not None and self._reload_on_resume:
            self._reload_on_resume = False
            self.load()

    @property
    def repo(self) -> LoanRepository:
        return LoanRepository(self.ctx.engine, self.ctx.actor)

    def load(self) -> None:
        repo, loan_id = self.repo, self.loan_id
        if loan_id is not None:
            self.start("load", lambda: repo.get(loan_id), working="loading the loan…")

    @on(Input.Submitted, "#find")
    def _find(self, event: Input.Submitted) -> None:
        number = event.value.strip()
        if not number:
            self.query_one("#field-find", FieldRow).error("type a loan number, e.g. L-000123")
            return
        repo = self.repo
        self.start("find", lambda: repo.find_by_number(number), working="finding the loan…")

    def failed(self, tag: str, error: BaseException) -> None:
        if tag == "find":
            self.status.clear()
            self.query_one("#field-find", FieldRow).error(str(error))
            return
        super().failed(tag, error)

    def done(self, tag: str, result: Any) -> None:
        if tag in ("load", "find"):
            self.query_one("#field-find", FieldRow).error(None)
            self.show_loan(result)
        elif tag == "reschedules":
            self.show_reschedules(result)
        elif tag == "act":
            self.status.say(self._done_text, kind="ok")
            self.load()
        elif tag == "disburse":  # the receipt the customer signs for the cash follows, as after a payment
            self.show_loan(result)
            self.status.say("Disbursed; the schedule is made. c shows the disbursement receipt again.", kind="ok")
            txn = result.disbursement
            if txn is not None:
                from screens.receipt import ReceiptScreen

                self.app.push_screen(ReceiptScreen(self.ctx, transaction_id=txn.id, disbursement=True))

    def show_loan(self, loan: LoanDetail) -> None:
        self.loan = loan
        self.loan_id = loan.id
        self.query_one("#summary", Static).update(summary_text(loan, self.ctx.currency))
        if self.focused is None or isinstance(self.focused, Input):
            self.query_one("#schedule").focus()  # the action keys are letters: they must not go into the box
        today = self.ctx.today()
        self.query_one(SettlementPanel).load(self, loan.id, loan.status, today)
        self.query_one("#schedule", ScheduleTable).show(loan.schedule, today)
        wide = self._wide()
        rows = [(str(t.id), (t.transaction_date, in_words(t.transaction_type) + (" (reversed)" if t.reversed else ""),
                             t.amount, t.principal_amount, t.interest_amount,
                             *((t.penalty_amount, t.receipt_number or "", t.created_by_name) if wide
                               else (t.receipt_number or "",))))
                for t in loan.transactions]
        self.query_one("#transactions", PageTable).fill(rows, keep_cursor=True)
        self.query_one("#charges", ChargesPanel).load(self.ctx, loan.id)
        if loan.schedule:
            reschedules = RescheduleRepository(self.ctx.engine, self.ctx.actor)
            self.start("reschedules", lambda: reschedules.for_loan(loan.id), working=None, hold=None)
        else:
            self.show_reschedules([])
        if not self.status.has_class("-ok"):
            self.status.say("tab moves between schedule and transactions" if loan.schedule else
                            "No schedule yet: it is made at disbursement.")
        self.refresh_bindings()

    # --- what the role may do -------------------------------------------------------------------------

    def _transaction(self) -> TransactionRow | None:
        if self.loan is None:
            return None
        key = self.query_one("#transactions", PageTable).current_key()
        return next((t for t in self.loan.transactions if str(t.id) == key), None)

    def _payment(self) -> TransactionRow | None:
        """The highlighted repayment that still stands (what reprint and reverse act on)."""
        txn = self._transaction()
        if txn is None or txn.transaction_type not in ("repayment", "recovery") or txn.reversed:
            return None
        return txn

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        loan, can = self.loan, self.ctx.can
        if action in ("approve", "reject"):
            return can(APPROVE_LOANS) and loan is not None and loan.status == "pending"
        if action == "disburse":
            return can(DISBURSE_LOANS) and loan is not None and loan.status == "approved"
        if action == "pay":
            return can(RECORD_PAYMENTS) and loan is not None and loan.status in (*PAYABLE, RECOVERS)
        if action == "write_off":
            return can(WRITE_OFF) and loan is not None and loan.status in PAYABLE
        if action == "receipt":
            txn = self._transaction()
            return (can(RECORD_PAYMENTS) and txn is not None
                    and txn.transaction_type in ("repayment", "disbursement", "recovery"))
        if action == "reverse":
            return can(REVERSE_PAYMENTS) and self._payment() is not None
        if action == "waive":  # waiving a penalty is a supervisor's, as a write-off is
            return (can(WRITE_OFF) and loan is not None and loan.status in PAYABLE
                    and self.query_one("#charges", ChargesPanel).unpaid)
        if action == "reschedule":
            return (loan is not None and loan.status in PAYABLE and (can(REQUEST_RESCHEDULES) or can(APPROVE_LOANS))
                    or bool(self.reschedule_line))
        if action == "old_schedules":
            return "Rescheduled" in self.reschedule_line
        return True

    @on(PageTable.RowHighlighted, "#transactions")
    def _highlighted(self) -> None:
        self.refresh_bindings()

    def _act(self, done_text: str, job: Any) -> None:
        if self.busy("act"):
            return
        self._done_text = done_text
        self.start("act", job, retry=ASK)

    def _facts(self) -> list[str]:
        assert self.loan is not None
        loan = self.loan
        return [f"{loan.loan_number} · {loan.customer_name} ({loan.customer_number})",
                f"Principal {format_money(loan.terms.principal, self.ctx.currency)}, "
                f"{installments(loan.terms.term, loan.terms.repayment_frequency)}"]

    def action_approve(self) -> None:
        if self.check_action("approve", ()) and self.loan is not None:
            loan_id, repo = self.loan.id, self.repo

            def answer(yes: bool | None) -> None:
                if yes:
                    self._act("Approved.", lambda: repo.approve(loan_id))

            self.app.push_screen(ConfirmScreen("Approve the application", self._facts()), answer)

    def action_reject(self) -> None:
        if self.check_action("reject", ()) and self.loan is not None:
            loan_id, repo = self.loan.id, self.repo

            def answer(reason: str | None) -> None:
                if reason:
                    self._act("Rejected.", lambda: repo.reject(loan_id, reason))

            self.app.push_screen(ReasonScreen("Reject the application", self._facts()), answer)

    def action_disburse(self) -> None:
        if self.check_action("disburse", ()) and self.loan is not None:
            loan, repo, today = self.loan, self.repo, self.ctx.today()
            first, currency = loan.terms.first_repayment_date, self.ctx.currency
            cash = loan.terms.principal - loan.fee_amount
            fee = (f" (principal less the processing fee of {format_money(loan.fee_amount, currency)})"
                   if loan.fee_amount else "")
            facts = [*self._facts(), f"Pay out {format_money(cash, currency)}{fee} today, {format_date(today)}",
                     f"First installment due {format_date(first) if first else 'one period from today'}"]

            def answer(out: PayOut | None) -> None:
                if out is not None and not self.busy("disburse"):
                    self.start("disburse", lambda: repo.disburse(loan.id, today, first, method=out.method,
                                                                 reference=out.reference), retry=ASK)

            self.app.push_screen(DisburseDialog("Disburse the loan", facts), answer)

    def action_write_off(self) -> None:
        if self.check_action("write_off", ()) and self.loan is not None:
            loan, repo, today = self.loan, self.repo, self.ctx.today()
            facts = [*self._facts(), f"Principal still owed {format_money(loan.outstanding_principal)} "
                     "goes to loan loss expense"]

            def answer(reason: str | None) -> None:
                if reason:
                    self._act("Written off.", lambda: repo.write_off(loan.id, reason, today))

            self.app.push_screen(ReasonScreen("Write off the loan", facts), answer)

    def action_reverse(self) -> None:
        txn = self._payment()
        if txn is not None and self.check_action("reverse", ()):
            repo = self.repo
            facts = [*self._facts(), f"Payment {txn.receipt_number or txn.id} of {format_money(txn.amount)} on "
                     f"{format_date(txn.transaction_date)} by {txn.created_by_name or '—'}"]

            def answer(reason: str | None) -> None:
                if reason:
                    self._act("Payment reversed; the schedule is recomputed.",
                              lambda: repo.reverse_payment(txn.id, reason))

            self.app.push_screen(ReasonScreen("Reverse a payment", facts), answer)

    def action_waive(self) -> None:
        panel = self.query_one("#charges", ChargesPanel)
        charge = panel.current()
        if self.loan is None or not self.check_action("waive", ()):
            return
        if charge is None or charge.unpaid <= 0:
            panel.focus()
            self.status.say("Highlight a penalty with something unpaid in the penalties table, then press x.",
                            kind="error")
            return
        currency, repo, loan_id = self.ctx.currency, self.repo, self.loan.id

        def answer(waived: Decimal | None) -> None:
            if waived is not None:
                def shown(loan: LoanDetail) -> None:
                    self.show_loan(loan)
                    self.status.say(f"Waived {format_money(waived, currency)} of the penalty.", kind="ok")

                self.start("load", lambda: repo.get(loan_id), working="loading the loan…", on_done=shown)

        self.app.push_screen(WaiveDialog(self.ctx, self.loan.loan_number, charge), answer)

    def action_pay(self) -> None:
        if self.check_action("pay", ()) and self.loan is not None:
            from screens.payment_entry import PaymentEntryScreen

            self._reload_on_resume = True
            self.app.push_screen(PaymentEntryScreen(self.ctx, loan_id=self.loan.id))

    def action_receipt(self) -> None:
        txn = self._transaction()
        if txn is not None and self.check_action("receipt", ()):
            from screens.receipt import ReceiptScreen

            self.app.push_screen(ReceiptScreen(self.ctx, transaction_id=txn.id,
                                               disbursement=txn.transaction_type == "disbursement"))

    # --- reschedules (screens.reschedule) -------------------------------------------------------------

    def show_reschedules(self, reschedules: list[Any]) -> None:
        line = self.query_one("#reschedules", Static)
        self.reschedule_line = reschedule_summary(reschedules, self.ctx.currency)
        line.update(escape(self.reschedule_line))
        line.display = bool(self.reschedule_line)
        self.refresh_bindings()

    def action_reschedule(self) -> None:
        if self.check_action("reschedule", ()) and self.loan is not None:
            from screens.reschedule import RescheduleScreen

            self._reload_on_resume = True
            self.app.push_screen(RescheduleScreen(self.ctx, self.loan.id))

    def action_old_schedules(self) -> None:
        if self.check_action("old_schedules", ()) and self.loan is not None:
            from screens.reschedule_history import RescheduleHistoryScreen

            self.app.push_screen(RescheduleHistoryScreen(self.ctx, self.loan.id, self.loan.loan_number))
