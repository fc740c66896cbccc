"""Administration, loan products: the catalogue a loan application starts from.

The list shows each product's code, name, method, frequency, ranges, fee and whether it takes applications.
`n` creates a product, `e` edits one (name, ranges, usual rate and term, fee; method and frequency only while
no loan uses it: the database says so beside the field), `x` retires one (no new applications; its loans go
on) and `a` takes a retired one back. Products are never deleted. Every refusal is shown beside its field,
with the cursor on the first field to put right; the form keeps what was typed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Select

from db.repositories.products import (
    FREQUENCIES,
    METHODS,
    PENALTY_METHODS,
    LoanProduct,
    ProductForm,
    ProductRepository,
)
from screens.back_office import plain, refusal, table_filled
from screens.confirm import ConfirmScreen
from screens.context import ScreenContext
from screens.data import ASK, AUTO, DatabaseCalls, run_in
from widgets.fields import FieldRow
from widgets.status import ConnectionBanner, StatusLine
from widgets.words import in_words

LEFT = (("code", "Code", 20), ("name", "Name", 100))
LEFT_AFTER = (("fee_percent", "Fee %", 12), ("fee_flat", "Fee flat", 20))
RIGHT = (("principal_min", "Principal ≥", 20), ("principal_max", "Principal ≤", 20), ("rate_min", "Rate % ≥", 12),
         ("rate_max", "Rate % ≤", 12), ("rate_default", "Usual rate", 12), ("term_min", "Installm. ≥", 4),
         ("term_max", "Installm. ≤", 4), ("term_default", "Usual inst.", 4))
# The late penalty rule: what is charged (an amount, or a percentage for the percentage rules), the days of grace
# after the due date, every how many days it is charged again (empty: once) and the most per installment.
PENALTY_LEFT = (("penalty_value", "Late value", 20),)
PENALTY_RIGHT = (("penalty_grace_days", "Grace days", 4), ("penalty_interval_days", "Late every", 4),
                 ("penalty_cap", "Late cap", 20))
PENALTY_WORDS = {"none": "No late penalty", "flat": "Flat amount", "percent_of_overdue_principal": "% of principal due",
                 "percent_of_overdue_installment": "% of installment due"}


class ProductSaved:
    def __init__(self, product: LoanProduct, said: str) -> None:
        self.product = product
        self.said = said


class ProductFormScreen(DatabaseCalls, ModalScreen[ProductSaved | None]):
    """A new product, or a product's new name, ranges, defaults and fee; checked field by field."""

    CSS_PATH = "admin_products.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel"),
                                             Binding("ctrl+s", "save", "Save")]

    def __init__(self, context: ScreenContext, product: LoanProduct | None = None) -> None:
        super().__init__()
        self.ctx = context
        self.product = product

    def compose(self) -> ComposeResult:
        form = ProductForm.of(self.product) if self.product else ProductForm(fee_percent="0", fee_flat="0")
        yield ConnectionBanner()
        with Vertical(id="product-box") as box:
            box.border_title = escape(f"Edit {self.product.code}" if self.product else "New loan product")
            box.border_subtitle = "empty range: no limit"
            with Horizontal(id="product-columns"):
                with Vertical(classes="product-column"):
                    for name, label, length in LEFT:
                        yield self._field(name, label, length, form)
                    yield FieldRow("Method", Select([(in_words(m), m) for m in METHODS], id="product-interest_method",
                                                    value=form.interest_method or "flat", allow_blank=False,
                                                    compact=True), name="interest_method")
                    yield FieldRow("Frequency", Select([(in_words(f), f) for f in FREQUENCIES],
                                                       id="product-repayment_frequency",
                                                       value=form.repayment_frequency or "weekly",
                                                       allow_blank=False, compact=True), name="repayment_frequency")
                    for name, label, length in LEFT_AFTER:
                        yield self._field(name, label, length, form)
                    yield FieldRow("Late rule", Select([(PENALTY_WORDS[m], m) for m in PENALTY_METHODS],
                                                       id="product-penalty_method",
                                                       value=form.penalty_method or "none", allow_blank=False,
                                                       compact=True), name="penalty_method")
                    for name, label, length in PENALTY_LEFT:
                        yield self._field(name, label, length, form)
                    with Horizontal(id="product-buttons"):
                        yield Button("Save", id="product-save", variant="primary", compact=True)
                with Vertical(classes="product-column"):
                    for name, label, length in (*RIGHT, *PENALTY_RIGHT):
                        yield self._field(name, label, length, form)
            yield StatusLine("ctrl+s saves · escape cancels", id="status")

    @staticmethod
    def _field(name: str, label: str, length: int, form: ProductForm) -> FieldRow:
        return FieldRow(label, Input(getattr(form, name), id=f"product-{name}", max_length=length, compact=True),
                        name=name)

    def on_mount(self) -> None:
        self.query_one("#product-name" if self.product else "#product-code").focus()

    def read_form(self) -> ProductForm:
        values: dict[str, str] = {}
        for row in self.query(FieldRow):
            control = row.control
            if isinstance(control, Input):
                values[row.field_name] = control.value
            elif isinstance(control, Select):
                values[row.field_name] = str(control.value)
        return ProductForm(**values)

    @on(Input.Submitted)
    @on(Button.Pressed, "#product-save")
    def action_save(self) -> None:
        if self.busy("save"):
            return
        self.show_field_errors({})
        form, product = self.read_form(), self.product
        repo = ProductRepository(self.ctx.engine, self.ctx.actor)

        def call() -> ProductSaved:
            if product is None:
                made = repo.create(form)
                return ProductSaved(made, f"{made.code}: product created.")
            changed = repo.update(product.id, form)
            return ProductSaved(changed, f"{changed.code}: product saved.")

        # Saved once: after a lost connection the person saves again (what was typed stays).
        self.start("save", call, retry=ASK, working="Saving…", on_done=self._saved)

    def _saved(self, saved: ProductSaved) -> None:
        self.dismiss(saved)

    def action_cancel(self) -> None:
        self.dismiss(None)


def ranges(product: LoanProduct) -> str:
    return product.hint.rsplit(" · fee ", 1)[0]


class ProductsPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New"),
        Binding("e", "edit", "Edit"),
        Binding("x", "retire", "Retire"),
        Binding("a", "reactivate", "Take back"),
    ]

    def __init__(self, context: ScreenContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = context
        self.products: list[LoanProduct] = []

    def compose(self) -> ComposeResult:
        yield StatusLine("Loading loan products…", id="products-status", classes="status")
        yield DataTable(id="products", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#products", DataTable).add_columns("Code", "Name", "Method", "Every", "Ranges", "Fee",
                                                           "State", "Loans")
        self.load()

    @property
    def repo(self) -> ProductRepository:
        return ProductRepository(self.ctx.engine, self.ctx.actor)

    def _status(self) -> StatusLine:
        return self.query_one("#products-status", StatusLine)

    def _failed(self, error: BaseException) -> None:
        self._status().say(refusal(error), kind="error")

    def load(self, select_id: int | None = None, said: str | None = None) -> None:
        repo = self.repo
        run_in(self, "products", repo.list, lambda found: self._show(found, select_id, said), self._failed,
               working=None)

    def _show(self, products: list[LoanProduct], select_id: int | None, said: str | None = None) -> None:
        self.products = products
        table = self.query_one("#products", DataTable)
        table.clear()
        table_filled(table)
        for product in products:
            table.add_row(plain(product.code), plain(product.name), in_words(product.interest_method),
                          in_words(product.repayment_frequency), ranges(product), product.fee_text,
                          "Active" if product.is_active else "Retired", str(product.loan_count).rjust(5),
                          key=str(product.id))
        if select_id is not None:
            row = next((i for i, p in enumerate(products) if p.id == select_id), None)
            if row is not None:
                table.move_cursor(row=row)
        if said:
            self._status().say(said, kind="ok")
        elif not products:
            self._status().say("No loan products yet: n creates one.")
        else:
            active = sum(1 for p in products if p.is_active)
            self._status().say(f"{len(products)} products, {active} taking applications. Products are never "
                               "deleted: retire instead.")

    def chosen(self) -> LoanProduct | None:
        table = self.query_one("#products", DataTable)
        if not self.products or table.cursor_row < 0 or table.cursor_row >= len(self.products):
            self.app.notify("Choose a product in the list first.", severity="warning")
            return None
        return self.products[table.cursor_row]

    def _saved(self, saved: ProductSaved | None) -> None:
        if saved is not None:
            self.app.notify(escape(saved.said))
            self.load(saved.product.id, saved.said)

    def action_new(self) -> None:
        self.app.push_screen(ProductFormScreen(self.ctx), self._saved)

    def action_edit(self) -> None:
        if product := self.chosen():
            self.app.push_screen(ProductFormScreen(self.ctx, product), self._saved)

    def _write(self, call: Any, what: str) -> None:
        """Retire and take back each set one state: after a lost connection they run again by themselves."""
        self._status().say("Saving…")
        run_in(self, "products-write", call, lambda p: self._saved(ProductSaved(p, f"{p.code}: {what}.")),
               self._failed, retry=AUTO, working=None)

    def action_retire(self) -> None:
        product = self.chosen()
        if product is None:
            return
        if not product.is_active:
            self._status().say(f"{product.code} is already retired.")
            return
        repo = self.repo

        def answered(yes: bool | None) -> None:
            if yes:
                self._write(lambda: repo.retire(product.id), "retired; it takes no new applications")

        lines = [f"{product.code} · {product.name}", f"{product.loan_count} loans made under it go on as they are.",
                 "New applications can no longer use it."]
        self.app.push_screen(ConfirmScreen(f"Retire {product.code}", lines, question="Retire?"), answered)

    def action_reactivate(self) -> None:
        product = self.chosen()
        if product is not None and not product.is_active:
            repo = self.repo
            self._write(lambda: repo.reactivate(product.id), "takes applications again")
