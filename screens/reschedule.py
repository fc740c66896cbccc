"""Rescheduling a loan: the request's fields, and beside each other the unpaid tail as it stands and the tail the
request would write, following the fields as they are typed (the one schedule math, in the database). Saving makes
the request; while one waits, a supervisor who did not make it approves or rejects it here, each with a note.

Loan officers and supervisors request (the holders of "create loan applications"); supervisors decide (the holders
of "approve loans"); the database enforces both and four eyes.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Header, Input, Select, Static

from db.errors import ValidationError
from db.permissions import APPROVE_LOANS, CREATE_APPLICATIONS
from db.repositories.loans import ScheduleRow
from db.repositories.reschedules import LoanTail, Reschedule, RescheduleRepository, RescheduleTerms
from db.validation import reason_problem
from screens.confirm import ReasonScreen
from screens.context import ScreenContext
from screens.data import ASK, DataScreen
from widgets.dates import DateError, format_date, format_for_typing, parse_date
from widgets.fields import FieldRow, parse_rate, parse_whole
from widgets.footer import KeysFooter
from widgets.money import format_money
from widgets.status import ConnectionBanner, StatusLine
from widgets.tail_table import TailTable

RESCHEDULABLE = ("active", "defaulted")
TERM_FIELDS = ("from_installment", "new_next_due_date", "extra_installments", "new_rate", "grace_periods",
               "arrears_handling")
LABELS = {"from_installment": "from installment", "new_next_due_date": "next due date",
          "extra_installments": "extra installments", "new_rate": "new rate", "grace_periods": "grace periods",
          "arrears_handling": "arrears"}
ARREARS = (("keep on 1st new", "keep"), ("waive", "waive"))


def terms_text(terms: RescheduleTerms, keep_rate: Decimal | None = None) -> str:
    rate = (f"{terms.new_rate.normalize():f} %" if terms.new_rate is not None
            else f"rate kept{f' ({keep_rate.normalize():f} %)' if keep_rate is not None else ''}")
    return (f"from #{terms.from_installment}, next due {format_date(terms.new_next_due_date)}, "
            f"+{terms.extra_installments} installments, {rate}, {terms.grace_periods} grace, "
            f"arrears {'kept' if terms.arrears_handling == 'keep' else 'waived'}")


class RescheduleScreen(DataScreen):
    CSS_PATH = "reschedule.tcss"
    screen_name = "reschedule"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Request"),
        Binding("ctrl+a", "approve", "Approve"),
        Binding("ctrl+r", "reject", "Reject"),
    ]

    def __init__(self, context: ScreenContext, loan_id: int) -> None:
        super().__init__(context)
        self.loan_id = loan_id
        self.tail: LoanTail | None = None
        self.pending: Reschedule | None = None
        self._preview_for: RescheduleTerms | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield Static("Loading the loan…", id="facts")
        with Horizontal(id="form"):
            with Vertical(classes="column"):
                yield FieldRow("From #", Input(id="from_installment", max_length=4, compact=True),
                               name="from_installment")
                yield FieldRow("Next due", Input(id="new_next_due_date", max_length=20, compact=True,
                                                 placeholder="dd/mm/yyyy"), name="new_next_due_date")
                yield FieldRow("Extra inst.", Input("0", id="extra_installments", max_length=6, compact=True),
                               name="extra_installments")
            with Vertical(classes="column"):
                yield FieldRow("New rate %", Input(id="new_rate", max_length=12, compact=True), name="new_rate")
                yield FieldRow("Grace", Input("0", id="grace_periods", max_length=4, compact=True),
                               name="grace_periods")
                yield FieldRow("Arrears", Select(ARREARS, value="keep", allow_blank=False, compact=True,
                                                 id="arrears_handling"), name="arrears_handling")
        yield FieldRow("Reason", Input(id="reason", compact=True, placeholder="why, in a few words"), name="reason")
        with Horizontal(id="sides"):
            with Vertical(id="old") as old:
                old.border_title = "Now"
                yield TailTable(id="old-table")
            with Vertical(id="new") as new:
                new.border_title = "After"
                yield TailTable(id="new-table")
        yield Static("", id="totals")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Reschedule"
        self.load()

    @property
    def repo(self) -> RescheduleRepository:
        return RescheduleRepository(self.ctx.engine, self.ctx.actor)

    def load(self, working: str | None = "loading the loan…") -> None:
        repo, loan_id = self.repo, self.loan_id
        self.start("load", lambda: (repo.loan_tail(loan_id), repo.for_loan(loan_id)), working=working)

    # --- what the person may do -----------------------------------------------------------------------

    @property
    def may_request(self) -> bool:
        tail = self.tail
        return (self.ctx.can(CREATE_APPLICATIONS) and tail is not None and tail.status in RESCHEDULABLE
                and tail.first_unpaid is not None and self.pending is None)

    @property
    def may_decide(self) -> bool:
        return (self.ctx.can(APPROVE_LOANS) and self.pending is not None
                and self.pending.requested_by != self.ctx.actor.user_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "submit":
            return self.may_request
        if action in ("approve", "reject"):
            return self.may_decide
        return True

    # --- showing --------------------------------------------------------------------------------------

    def done(self, tag: str, result: Any) -> None:
        if tag == "load":
            self.tail, reschedules = result
            self.pending = next((r for r in reschedules if r.status == "pending"), None)
            self.show_loan(reschedules)
        elif tag == "preview":
            terms, old, new = result
            if terms == self._preview_for:
                self.show_preview(terms, old, new)
        elif tag in ("request", "decide"):
            self.status.say(result, kind="ok")
            self.load(working=None)  # the loan as it is now; the line says what was done

    def failed(self, tag: str, error: BaseException) -> None:
        if tag == "preview":  # the person is typing: say what is wrong, leave the cursor where it is
            fields = error.fields if isinstance(error, ValidationError) else {}
            for row in self.query(FieldRow):
                if row.field_name in TERM_FIELDS:
                    row.error(fields.get(row.field_name))
            self.clear_preview(fields, None if fields else str(error))
            return
        super().failed(tag, error)

    def show_loan(self, reschedules: list[Reschedule]) -> None:
        tail = self.tail
        assert tail is not None
        done = [r for r in reschedules if r.status == "approved"]
        lines = [f"[b]{escape(tail.loan_number)}[/b] · {escape(tail.status)} · {tail.installments} installments, "
                 f"first unpaid #{tail.first_unpaid or '—'} due {format_date(tail.first_unpaid_due)} · rate "
                 f"{tail.interest_rate.normalize():f} %"
                 + (f" · rescheduled {len(done)}×" if done else "")]
        pending = self.pending
        if pending is not None:
            lines.append(f"Waiting: {escape(terms_text(pending.terms))} — {escape(pending.reason)} "
                         f"(by {escape(pending.requested_by_name)}, {format_date(pending.requested_at.date())})")
            self._fill(pending.terms, pending.reason)
        else:
            default_next = max(self.ctx.today() + timedelta(days=14), (tail.first_unpaid_due or date.min)
                               + timedelta(days=1))
            if tail.first_unpaid is not None:
                self._fill(RescheduleTerms(tail.first_unpaid, default_next), "")
        self.query_one("#new_rate", Input).placeholder = f"keep {tail.interest_rate.normalize():f}"
        self.query_one("#facts", Static).update("\n".join(lines))
        editable = self.may_request
        for row in self.query(FieldRow):
            row.control.disabled = not editable
        if not self.status.has_class("-ok"):
            if pending is not None:
                self.status.say("ctrl+a approves, ctrl+r rejects." if self.may_decide else
                                "Waiting for a supervisor who did not request it.")
            elif tail.status not in RESCHEDULABLE or tail.first_unpaid is None:
                self.status.say(f"Loan {tail.loan_number} is {tail.status} with nothing to reschedule.")
            elif not editable:
                self.status.say("Loan officers and supervisors request reschedules.")
            else:
                self.status.say("Change the fields; the preview follows. ctrl+s requests.")
        if editable:
            self.query_one("#new_next_due_date", Input).focus()
        self.refresh_bindings()
        self.update_preview()

    def _fill(self, terms: RescheduleTerms, reason: str) -> None:
        with self.prevent(Input.Changed, Select.Changed):
            self.query_one("#from_installment", Input).value = str(terms.from_installment)
            self.query_one("#new_next_due_date", Input).value = format_for_typing(terms.new_next_due_date)
            self.query_one("#extra_installments", Input).value = str(terms.extra_installments)
            self.query_one("#new_rate", Input).value = (f"{terms.new_rate.normalize():f}"
                                                        if terms.new_rate is not None else "")
            self.query_one("#grace_periods", Input).value = str(terms.grace_periods)
            self.query_one("#arrears_handling", Select).value = terms.arrears_handling
            self.query_one("#reason", Input).value = reason

    # --- the preview ----------------------------------------------------------------------------------

    def read_terms(self) -> tuple[RescheduleTerms | None, dict[str, str]]:
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        readers = {
            "from_installment": lambda raw: parse_whole(raw, 1, 520, "installment"),
            "extra_installments": lambda raw: parse_whole(raw, 0, 519, "number of extra installments"),
            "grace_periods": lambda raw: parse_whole(raw, 0, 519, "number of grace periods"),
            "new_rate": lambda raw: parse_rate(raw) if raw.strip() else None,
            "new_next_due_date": lambda raw: parse_date(raw),
        }
        for name, read in readers.items():
            try:
                values[name] = read(self.query_one(f"#{name}", Input).value)
            except (ValueError, DateError) as exc:
                errors[name] = str(exc)
        if errors:
            return None, errors
        arrears = str(self.query_one("#arrears_handling", Select).value)
        return RescheduleTerms(values["from_installment"], values["new_next_due_date"], values["extra_installments"],
                               values["new_rate"], values["grace_periods"], arrears), {}

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event: Input.Changed | Select.Changed) -> None:
        if event.control.id == "reason":
            self.query_one("#field-reason", FieldRow).error(None)
            return
        self.update_preview()

    def update_preview(self) -> None:
        if self.tail is None:
            return
        terms, errors = self.read_terms()
        for row in self.query(FieldRow):
            if row.field_name in TERM_FIELDS:
                row.error(errors.get(row.field_name))
        if terms is None:
            self.clear_preview(errors)
            return
        repo, loan_id = self.repo, self.loan_id
        self._preview_for = terms
        # The preview follows the typing and moves no focus: nothing typed waits for it; a newer one supersedes.
        self.start("preview", lambda: (terms, repo.old_tail(loan_id, terms.from_installment),
                                       repo.preview(loan_id, terms)), working=None, hold=None)

    def clear_preview(self, errors: dict[str, str], other: str | None = None) -> None:
        self._preview_for = None
        self.query_one("#new-table", TailTable).clear()
        wrong = [LABELS[name] for name in TERM_FIELDS if name in errors]
        self.query_one("#totals", Static).update(escape(
            f"No preview: check {', '.join(wrong)}." if wrong else f"No preview: {other}" if other else
            "The preview follows once the fields are complete."))

    def show_preview(self, terms: RescheduleTerms, old: list[ScheduleRow], new: list[ScheduleRow]) -> None:
        self.query_one("#old-table", TailTable).show(old)
        self.query_one("#new-table", TailTable).show(new)
        self.query_one("#old", Vertical).border_title = f"Now: #{terms.from_installment} on"
        self.query_one("#new", Vertical).border_title = f"After: {len(new)} installments"
        owed_now = sum((r.total_due - r.total_paid for r in old), Decimal("0.00"))
        owed_after = sum((r.total_due for r in new), Decimal("0.00"))
        principal = sum((r.principal_due for r in new), Decimal("0.00"))
        currency = self.ctx.currency
        self.query_one("#totals", Static).update(
            f"Owed now {format_money(owed_now, currency)} · after {format_money(owed_after, currency)}"
            f" · principal moved {format_money(principal, currency)}")

    # --- saving and deciding --------------------------------------------------------------------------

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        if event.control.id == "reason":
            self.action_submit()
        else:
            self.focus_next()

    def action_submit(self) -> None:
        if not self.may_request or self.busy("request"):
            return
        terms, errors = self.read_terms()
        reason = self.query_one("#reason", Input).value.strip()
        problem = reason_problem(reason, "say why the loan is rescheduled, in a few words")
        if problem:
            errors["reason"] = problem
        if terms is None or errors:
            self.show_field_errors(errors)
            return
        repo, loan_id = self.repo, self.loan_id

        def job() -> str:
            repo.request(loan_id, terms, reason)
            return "Requested; a supervisor who did not request it approves or rejects it."

        self.start("request", job, retry=ASK, working="saving the request…")

    def _facts(self) -> list[str]:
        assert self.pending is not None and self.tail is not None
        pending = self.pending
        return [f"{self.tail.loan_number}: {terms_text(pending.terms, self.tail.interest_rate)}",
                f"Reason: {pending.reason}", f"Requested by {pending.requested_by_name}"]

    def action_approve(self) -> None:
        if not self.may_decide or self.pending is None or self.busy("decide"):
            return
        rid, repo = self.pending.id, self.repo

        def answer(note: str | None) -> None:
            if note:
                def job() -> str:
                    written = repo.approve(rid, note)
                    return f"Approved: the unpaid tail is now {written} installments; the old rows are kept."

                self.start("decide", job, retry=ASK, working="approving…")

        self.app.push_screen(ReasonScreen("Approve the reschedule", self._facts(), prompt="Note"), answer)

    def action_reject(self) -> None:
        if not self.may_decide or self.pending is None or self.busy("decide"):
            return
        rid, repo = self.pending.id, self.repo

        def answer(note: str | None) -> None:
            if note:
                def job() -> str:
                    repo.reject(rid, note)
                    return "Rejected; the schedule stays as it was."

                self.start("decide", job, retry=ASK, working="rejecting…")

        self.app.push_screen(ReasonScreen("Reject the reschedule", self._facts(), prompt="Note"), answer)
