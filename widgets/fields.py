"""Form fields for staff: a label, the input, and the error shown right beside it; validators on Decimal.

Widgets know nothing of the database: a screen shows errors with `FieldRow.error` or `show_errors`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from widgets.money import MoneyError, parse_money


class MoneyValidator(Validator):
    """An amount as parse_money reads it: Decimal, to the cent, never a float."""

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_money(value)
        except MoneyError as exc:
            return self.failure(str(exc))
        return self.success()


class MoneyInput(Input):
    """An amount field: what was typed stays as typed; `amount()` gives the Decimal or raises MoneyError."""

    def __init__(self, value: str = "", **kwargs: object) -> None:
        super().__init__(value, validators=[MoneyValidator()], validate_on=["submitted"], max_length=24,
                         compact=True, **kwargs)  # type: ignore[arg-type]

    def amount(self) -> Decimal:
        return parse_money(self.value)


def parse_whole(raw: str, low: int, high: int, what: str) -> int:
    text = raw.strip()
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"the {what} is a whole number between {low} and {high}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"the {what} is between {low} and {high}")
    return value


def parse_rate(raw: str) -> Decimal:
    text = raw.strip()
    if not re.fullmatch(r"\d{1,4}(\.\d{1,4})?", text):
        raise ValueError("the annual rate is a percentage such as 24 or 18.5 (at most four decimals)")
    value = Decimal(text)
    if value > 1000:
        raise ValueError("the annual rate is a percentage between 0 and 1000")
    return value


class FieldRow(Vertical):
    """`label  [input]` with a one-line error under the input, shown only when there is one."""

    DEFAULT_CSS = """
    FieldRow { height: auto; }
    FieldRow > Horizontal { height: auto; }
    FieldRow .row-label { width: 16; color: $text-muted; }
    FieldRow .row-error { display: none; margin-left: 16; color: $error; height: auto; }
    FieldRow.-invalid .row-error { display: block; }
    FieldRow.-invalid .row-label { color: $error; }
    """

    def __init__(self, label: str, control: Widget, *, name: str) -> None:
        super().__init__(id=f"field-{name}")
        self.label = label
        self.control = control
        self.field_name = name

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.label, classes="row-label")
            yield self.control
        yield Static("", classes="row-error", id=f"error-{self.field_name}")

    def error(self, message: str | None) -> None:
        """Show (or clear, with None) the message beside this field; what was typed is left alone."""
        self.query_one(".row-error", Static).update(escape(message) if message else "")
        self.set_class(bool(message), "-invalid")

    @property
    def message(self) -> str:
        return str(self.query_one(".row-error", Static).content) if self.has_class("-invalid") else ""


def show_errors(rows: Iterable[FieldRow], errors: Mapping[str, str]) -> list[str]:
    """Put each message beside its field and clear the others; returns the field names with no row."""
    rows = list(rows)
    known = {row.field_name for row in rows}
    for row in rows:
        row.error(errors.get(row.field_name))
    return [name for name in errors if name not in known]
