"""The M-Pesa suspense queue (accountant and supervisor): the receipts no loan took, or the part of one a loan did not
owe, newest first, a page at a time, with a filter; `a` applies the chosen receipt to a loan (found as the payment
entry finds one, with what it owes), `f` records its refund by its M-Pesa reversal code; `r` the day's
reconciliation of the statements (statement total = posted + suspense + refused).

Every call goes through the one database path (screens.data): the dialogs make their own calls, so a lost
connection shows their banner and keeps what was typed. Applying and refunding are never run again by themselves
after a lost connection (the database refuses a receipt no longer in suspense anyway, so a second press posts
nothing twice)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Header, Input, Static, TabbedContent, TabPane

from db.errors import NotFound, Refused, ValidationError
from db.repositories.mobile_money import (
    QUEUE_PAGE,
    MobileMoneyRepository,
    QueueStart,
    Reconciliation,
    SuspenseReceipt,
)
from db.repositories.payments import AmountsDue, PaymentRepository, Receipt
from db.validation import reason_problem
from screens.back_office import tab_beside, tab_bindings, when
from screens.context import ScreenContext
from screens.data import ASK, DatabaseCalls, DataScreen
from screens.payment_entry import PAYABLE, Candidate, find_payable
from widgets.dates import DateError, format_date, format_for_typing, parse_date
from widgets.fields import FieldRow
from widgets.footer import KeysFooter
from widgets.money import format_money
from widgets.status import ConnectionBanner, StatusLine
from widgets.tables import PageTable
from widgets.words import in_words

WIDE_FROM = 110
REFERENCE_MAX = 40
NOTE_MAX = 200
DIALOG_KEYS = "ctrl+s saves · escape closes"


def money(value: Decimal) -> Text:
    """An amount right-aligned under its column's title."""
    return Text(format_money(value).rjust(11), justify="right")


def receipt_facts(receipt: SuspenseReceipt, currency: str) -> list[str]:
    """What a dialog shows of the receipt it acts on."""
    payer = " · ".join(part for part in (receipt.payer_name, receipt.payer_phone) if part) or "payer unknown"
    return [f"{receipt.receipt_number} · paid {when(receipt.paid_at)} · {payer}",
            f"In suspense {format_money(receipt.suspense_amount, currency)} · A/C as sent: "
            f"{receipt.account_reference or '(empty)'}",
            f"Why: {receipt.reason or '—'}"]


def reconciliation_lines(figures: Reconciliation, currency: str) -> list[str]:
    """The day's figures, one a line, and whether they add up."""
    rows = (("Statement total", figures.statement_total), ("Posted to loans", figures.posted),
            ("To suspense", figures.suspense), ("Refused rows", figures.refused),
            ("Applied from suspense", figures.applied), ("Refunded from suspense", figures.refunded))
    lines = [f"{label:<24}{format_money(value, currency):>22}" for label, value in rows]
    lines.append("")
    lines.append("Balances: statement total = posted + suspense + refused." if figures.balanced else
                 "Does NOT balance: statement total ≠ posted + suspense + refused. Look for a statement still being "
                 "imported or a receipt still waiting to be posted.")
    return lines


class Gone(str):
    """A dialog's answer when its receipt left suspense meanwhile (resolved at another desk): the database's words."""


class SuspenseDialog(DatabaseCalls, ModalScreen[object]):
    """What the apply and refund dialogs share: the receipt, the repository, ctrl+s, escape, refusals beside their
    fields."""

    CSS_PATH = "suspense.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Close"),
                                             Binding("ctrl+s", "save", "Save")]
    FIELDS: ClassVar[dict[str, str]] = {}
    """The repository's names of the fields it refuses, as the dialog names them."""
    REFUSAL_FIELD = ""
    """Where a refusal of the database that names no field is shown (beside this field when its words are about
    it, else on the status line)."""

    def __init__(self, context: ScreenContext, receipt: SuspenseReceipt) -> None:
        super().__init__()
        self.ctx = context
        self.receipt = receipt

    @property
    def repo(self) -> MobileMoneyRepository:
        return MobileMoneyRepository(self.ctx.engine, self.ctx.actor)

    def failed(self, tag: str, error: BaseException) -> None:
        if isinstance(error, Refused) and "not in suspense" in str(error):
            self.dismiss(Gone(str(error)))  # someone else resolved it meanwhile: the list is read again
        elif isinstance(error, ValidationError):
            self.show_field_errors({self.FIELDS.get(name, name): message for name, message in error.fields.items()})
        elif isinstance(error, Refused | NotFound) and self.refusal_is_about_field(str(error)):
            self.show_field_errors({self.REFUSAL_FIELD: str(error)})
        else:
            super().failed(tag, error)

    def refusal_is_about_field(self, words: str) -> bool:
        return False

    def note(self) -> tuple[str, str | None]:
        note = self.query_one("#note", Input).value.strip()
        return note, reason_problem(note, "say why, in a few words (it is kept with the receipt)")

    def action_save(self) -> None:
        """Each dialog checks, then writes."""

    def action_cancel(self) -> None:
        self.dismiss(None)


class ApplyDialog(SuspenseDialog):
    """Find the loan (loan number, customer number, name, phone or ID, as at the counter), see what it owes, say
    why, apply: the receipt leaves suspense as a repayment on that loan."""

    FIELDS: ClassVar[dict[str, str]] = {"loan": "find", "loan_id": "find", "loan_number": "find", "note": "note",
                                        "amount": "find"}
    REFUSAL_FIELD = "find"

    def __init__(self, context: ScreenContext, receipt: SuspenseReceipt) -> None:
        super().__init__(context, receipt)
        self.candidates: list[Candidate] = []
        self.due: AmountsDue | None = None
        self._round = 0

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        with Vertical(id="dialog-box") as box:
            box.border_title = f"Apply {self.receipt.receipt_number} to a loan"
            yield Static(escape("\n".join(receipt_facts(self.receipt, self.ctx.currency))), id="facts")
            yield FieldRow("Loan / customer", Input(self.receipt.account_reference or "", id="find",
                                                    placeholder="L-000123, C-000045, name, phone or ID",
                                                    max_length=100, compact=True), name="find")
            yield PageTable(("Loan", "Customer", "Number", "Status"), id="choices")
            yield Static("", id="owes")
            yield FieldRow("Note", Input(id="note", max_length=NOTE_MAX, compact=True,
                                         placeholder="e.g. customer typed the loan number wrong"), name="note")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply", id="save", variant="primary", compact=True)
            yield StatusLine("Type the loan or the customer, then enter.", id="status")

    def on_mount(self) -> None:
        self.query_one("#choices").display = False
        self.query_one("#owes").display = False
        self.query_one("#find", Input).focus()

    @on(Input.Changed, "#find")
    def _typed(self) -> None:
        """What was found for the old words no longer stands."""
        if self.due is not None or self.candidates:
            self._round += 1
            self.due = None
            self.candidates = []
            self.query_one("#choices").display = False
            self.query_one("#owes").display = False

    @on(Input.Submitted, "#find")
    def _find(self, event: Input.Submitted) -> None:
        event.stop()
        query = event.value.strip()
        if not query:
            self.show_field_errors({"find": "type a loan number, customer number, name, phone or national ID"})
            return
        self.show_field_errors({})
        self._round += 1
        engine, actor, round_ = self.ctx.engine, self.ctx.actor, self._round
        self.start("find", lambda: (round_, find_payable(engine, actor, query)), working="Finding the loan…",
                   on_done=self._found, on_failed=self._find_failed)

    def _find_failed(self, error: BaseException) -> None:
        if isinstance(error, NotFound | Refused):  # no such loan number: beside the field, in the database's words
            self.show_field_errors({"find": str(error)})
        else:
            self.failed("find", error)

    def _found(self, answer: tuple[int, list[Candidate]]) -> None:
        round_, found = answer
        if round_ != self._round:
            return
        self.candidates = [c for c in found if c.status in PAYABLE]
        query = self.query_one("#find", Input).value.strip()
        if not self.candidates:
            closed = [c for c in found if c.status not in PAYABLE]
            self.show_field_errors({"find": (f"{closed[0].loan_number} is {in_words(closed[0].status).lower()}: it "
                                             "takes no payments") if closed else
                                    f'no active loan matches "{query}"'})
            return
        if len(self.candidates) == 1:
            self.pick(self.candidates[0].loan_id)
            return
        choices = self.query_one("#choices", PageTable)
        choices.fill((str(c.loan_id), (c.loan_number, c.customer_name, c.customer_number, in_words(c.status)))
                     for c in self.candidates)
        choices.display = True
        choices.focus()
        self.status.say(f"{len(self.candidates)} loans match: choose one, then enter.")

    @on(PageTable.RowSelected, "#choices")
    def _chosen(self, event: PageTable.RowSelected) -> None:
        event.stop()
        self.pick(int(str(event.row_key.value)))

    def pick(self, loan_id: int) -> None:
        self.query_one("#choices").display = False
        repo, today, round_ = PaymentRepository(self.ctx.engine, self.ctx.actor), self.ctx.today(), self._round
        self.start("due", lambda: (round_, repo.amounts_due(loan_id, today)), working="Reading what the loan owes…",
                   on_done=self._owes)

    def _owes(self, answer: tuple[int, AmountsDue]) -> None:
        round_, due = answer
        if round_ != self._round:
            return
        self.due = due
        owes = self.query_one("#owes", Static)
        currency = self.ctx.currency
        owes.update(escape(f"{due.loan_number} · {due.customer_name} · owes "
                           f"{format_money(due.outstanding_total, currency)} in all · overdue "
                           f"{format_money(due.overdue, currency)}"))
        owes.display = True
        problem = self._loan_problem(due)
        self.show_field_errors({"find": problem} if problem else {})
        if not problem:
            self.query_one("#note", Input).focus()
            self.status.say("Say why, then ctrl+s (or enter) applies it.")

    def _loan_problem(self, due: AmountsDue) -> str | None:
        amount = self.receipt.suspense_amount
        if due.status not in PAYABLE:
            return f"{due.loan_number} is {in_words(due.status).lower()}: it takes no payments"
        if due.outstanding_total < amount:
            return (f"{due.loan_number} owes only {format_money(due.outstanding_total, self.ctx.currency)}, less than "
                    f"the {format_money(amount, self.ctx.currency)} in suspense")
        return None

    def refusal_is_about_field(self, words: str) -> bool:
        return "loan" in words.lower() or "owe" in words.lower()

    @on(Input.Submitted, "#note")
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.busy("apply") or self.busy("find") or self.busy("due"):
            return
        errors: dict[str, str] = {}
        due = self.due
        if due is None:
            errors["find"] = "find the loan first: type its number or the customer, then enter"
        else:
            problem = self._loan_problem(due)
            if problem:
                errors["find"] = problem
        note, problem = self.note()
        if problem:
            errors["note"] = problem
        self.show_field_errors(errors)
        if errors or due is None:
            return
        repo, payments = self.repo, PaymentRepository(self.ctx.engine, self.ctx.actor)
        receipt_id, loan_id = self.receipt.id, due.loan_id

        def apply() -> Receipt:
            return payments.receipt(repo.apply(receipt_id, loan_id, note))

        # Never run again by itself: a second apply is refused (the receipt left suspense), never posted twice.
        self.start("apply", apply, retry=ASK, working="Applying…", on_done=self._applied)

    def _applied(self, receipt: Receipt) -> None:
        self.dismiss(receipt)


class RefundDialog(SuspenseDialog):
    """The money went back to the payer through M-Pesa: its reversal code and why, then the receipt leaves suspense
    (Dr suspense, Cr M-Pesa)."""

    FIELDS: ClassVar[dict[str, str]] = {"reference": "reference", "refund_reference": "reference", "note": "note"}
    REFUSAL_FIELD = "reference"

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        with Vertical(id="dialog-box") as box:
            box.border_title = f"Refund {self.receipt.receipt_number}"
            yield Static(escape("\n".join(receipt_facts(self.receipt, self.ctx.currency))), id="facts")
            yield FieldRow("Reversal code", Input(id="reference", max_length=REFERENCE_MAX, compact=True,
                                                  placeholder="the M-Pesa reversal receipt, e.g. RKT9XY12AB"),
                           name="reference")
            yield FieldRow("Note", Input(id="note", max_length=NOTE_MAX, compact=True,
                                         placeholder="e.g. paid to the wrong paybill"), name="note")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Record refund", id="save", variant="primary", compact=True)
            yield StatusLine(DIALOG_KEYS, id="status")

    def on_mount(self) -> None:
        self.query_one("#reference", Input).focus()

    @on(Input.Submitted, "#reference")
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#note", Input).focus()

    def refusal_is_about_field(self, words: str) -> bool:
        return "reference" in words.lower() or "reversal" in words.lower()

    @on(Input.Submitted, "#note")
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.busy("refund"):
            return
        errors: dict[str, str] = {}
        reference = self.query_one("#reference", Input).value.strip().upper()
        problem = reason_problem(reference, "type the M-Pesa reversal code of the refund")
        if problem:
            errors["reference"] = problem
        note, problem = self.note()
        if problem:
            errors["note"] = problem
        self.show_field_errors(errors)
        if errors:
            return
        repo, receipt_id = self.repo, self.receipt.id
        self.start("refund", lambda: repo.refund(receipt_id, reference, note), retry=ASK, working="Recording…",
                   on_done=lambda _none: self._refunded(reference))

    def _refunded(self, reference: str) -> None:
        self.dismiss(reference)


class SuspenseScreen(DataScreen):
    CSS_PATH = "suspense.tcss"
    screen_name = "mobile_money_suspense"
    AUTO_FOCUS = "#queue"
    BINDINGS: ClassVar[list[BindingType]] = [
        *tab_bindings(),
        Binding("a", "apply", "Apply to loan"),
        Binding("f", "refund", "Refund"),
        Binding("r", "reconcile", "Reconciliation"),
        Binding("ctrl+n", "page(1)", "Next page"),
        Binding("ctrl+b", "page(-1)", "Prev page"),
    ]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self.rows: list[SuspenseReceipt] = []
        self.more = False
        self._starts: list[QueueStart | None] = [None]
        self._said: str | None = None
        self._said_kind = "ok"

    def _wide(self) -> bool:
        return self.app.size.width >= WIDE_FROM

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        with TabbedContent(id="tabs"):
            with TabPane("Suspense", id="tab-queue"):
                yield FieldRow("Filter", Input(id="filter", max_length=60, compact=True,
                                               placeholder="receipt, payer, phone or A/C as sent; enter"),
                               name="filter")
                columns = (("Receipt", "Paid at", "Payer", "Phone", "A/C as sent", "In suspense", "Why")
                           if self._wide() else ("Receipt", "Paid at", "Payer", "A/C as sent", "In suspense"))
                yield PageTable(columns, id="queue")
                yield Static("", id="detail")
                yield Static("", id="paging")
            with TabPane("Reconciliation", id="tab-reconcile"):
                yield FieldRow("Day", Input(id="day", max_length=20, compact=True), name="day")
                yield Static("", id="figures")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "M-Pesa suspense"
        self.query_one("#day", Input).value = format_for_typing(self.ctx.today())
        self.load()

    @property
    def repo(self) -> MobileMoneyRepository:
        return MobileMoneyRepository(self.ctx.engine, self.ctx.actor)

    # --- the queue --------------------------------------------------------------------------------------

    def load(self, said: str | None = None, kind: str = "ok") -> None:
        if said:  # shown once the list is read again (the reading's own words replace the line meanwhile)
            self._said, self._said_kind = said, kind
        repo, search, after = self.repo, self.query_one("#filter", Input).value.strip(), self._starts[-1]
        # One row more than a page: whether there is a next page, without counting.
        self.start("queue", lambda: repo.newest_in_suspense(search, after, limit=QUEUE_PAGE + 1),
                   working="Reading the suspense queue…", hold=None)

    @on(Input.Submitted, "#filter")
    def _filter(self, event: Input.Submitted) -> None:
        event.stop()
        self._starts = [None]
        self.load()
        self.query_one("#queue").focus()

    def done(self, tag: str, result: Any) -> None:
        if tag == "queue":
            self._show(result)
        elif tag == "reconcile":
            self._show_figures(result)

    def _show(self, rows: list[SuspenseReceipt]) -> None:
        self.more = len(rows) > QUEUE_PAGE
        self.rows = rows[:QUEUE_PAGE]
        wide = self._wide()
        table = self.query_one("#queue", PageTable)

        def cells(r: SuspenseReceipt) -> tuple[object, ...]:
            paid = when(r.paid_at)
            if wide:
                return (Text(r.receipt_number), paid, Text((r.payer_name or "—")[:24]), Text(r.payer_phone or "—"),
                        Text((r.account_reference or "—")[:20]), money(r.suspense_amount),
                        Text((r.reason or "")[:40]))
            return (Text(r.receipt_number), paid, Text((r.payer_name or "—")[:18]),
                    Text((r.account_reference or "—")[:14]), money(r.suspense_amount))

        table.fill(((str(r.id), cells(r)) for r in self.rows), keep_cursor=True)
        self._detail()
        parts = [f"Page {len(self._starts)}"]
        if self.more:
            parts.append("ctrl+n next page")
        if len(self._starts) > 1:
            parts.append("ctrl+b previous page")
        self.query_one("#paging", Static).update(" · ".join(parts))
        if self._said:
            self.status.say(self._said, kind=self._said_kind)
            self._said = None
        elif self.status.has_class("-ok") or self.status.has_class("-error"):
            pass  # a notice stays until the next action
        elif self.rows:
            self.status.say("a applies to a loan · f records a refund · r reconciliation")
        else:
            filtered = bool(self.query_one("#filter", Input).value.strip())
            self.status.say("No receipt in suspense matches the filter." if filtered
                            else "Nothing waits in suspense: every receipt found its loan.")
        self.refresh_bindings()

    def chosen(self) -> SuspenseReceipt | None:
        key = self.query_one("#queue", PageTable).current_key()
        return next((r for r in self.rows if str(r.id) == key), None)

    def _detail(self) -> None:
        r = self.chosen()
        text = ""
        if r is not None:
            payer = " · ".join(part for part in (r.payer_name, r.payer_phone) if part) or "payer unknown"
            paid = f"paid {format_money(r.amount, self.ctx.currency)}"
            if r.loan_number:
                paid += f" (the rest of a payment to {r.loan_number})"
            text = escape(f"{payer} · {paid} · {r.branch_code}\n{r.reason or ''}")
        self.query_one("#detail", Static).update(text)

    @on(DataTable.RowHighlighted, "#queue")
    def _highlighted(self) -> None:
        self._detail()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        tabs = self.query("#tabs")
        on_queue = bool(tabs) and tabs.first(TabbedContent).active == "tab-queue"
        if action in ("apply", "refund"):
            return on_queue and self.chosen() is not None
        if action == "page":
            forward = bool(parameters) and int(str(parameters[0])) > 0
            return on_queue and (self.more if forward else len(self._starts) > 1)
        return True

    def action_page(self, step: int) -> None:
        if step > 0 and self.more and self.rows:
            last = self.rows[-1]
            self._starts.append(QueueStart(last.paid_at, last.id))
        elif step < 0 and len(self._starts) > 1:
            self._starts.pop()
        else:
            return
        self.status.clear()
        self.load()

    def action_next_tab(self, step: int) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        target = tab_beside(tabs, step)
        if target:
            self._show_tab(target)

    def _show_tab(self, tab: str) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        tabs.active = tab
        self.query_one("#day" if tab == "tab-reconcile" else "#queue").focus()
        self.refresh_bindings()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    # --- apply, refund ----------------------------------------------------------------------------------

    def action_apply(self) -> None:
        receipt = self.chosen()
        if receipt is None:
            return
        self.status.clear()

        def applied(result: object) -> None:
            if isinstance(result, Gone):
                self.gone(result)
            elif isinstance(result, Receipt):
                self.load(f"{receipt.receipt_number} applied to {result.loan_number}: repayment receipt "
                          f"{result.receipt_number}, {format_money(result.amount, self.ctx.currency)}.")

        self.app.push_screen(ApplyDialog(self.ctx, receipt), applied)

    def action_refund(self) -> None:
        receipt = self.chosen()
        if receipt is None:
            return
        self.status.clear()

        def refunded(result: object) -> None:
            if isinstance(result, Gone):
                self.gone(result)
            elif isinstance(result, str):
                self.load(f"{receipt.receipt_number}: refund {result} of "
                          f"{format_money(receipt.suspense_amount, self.ctx.currency)} recorded.")

        self.app.push_screen(RefundDialog(self.ctx, receipt), refunded)

    def gone(self, words: str) -> None:
        self.load(words[:1].upper() + words[1:], kind="error")

    # --- reconciliation ---------------------------------------------------------------------------------

    def action_reconcile(self) -> None:
        self._show_tab("tab-reconcile")
        self._reconcile()

    @on(Input.Submitted, "#day")
    def _day(self, event: Input.Submitted) -> None:
        event.stop()
        self._reconcile()

    def _reconcile(self) -> None:
        try:
            day = parse_date(self.query_one("#day", Input).value)
        except DateError as exc:
            self.show_field_errors({"day": str(exc)})
            return
        if day is None:
            self.show_field_errors({"day": "type a day, e.g. " + format_for_typing(self.ctx.today())})
            return
        self.show_field_errors({})
        repo, chosen = self.repo, day
        self.start("reconcile", lambda: (chosen, repo.reconciliation(chosen)), working="Adding up the day…",
                   hold=None)

    def _show_figures(self, answer: tuple[date, Reconciliation]) -> None:
        day, figures = answer
        lines = [f"M-Pesa statements imported on {format_date(day)}", "",
                 *reconciliation_lines(figures, self.ctx.currency)]
        self.query_one("#figures", Static).update(escape("\n".join(lines)))
        self.status.say("Balances." if figures.balanced else "The day does not balance.",
                        kind="ok" if figures.balanced else "error")

