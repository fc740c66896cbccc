"""Counting a till's drawer: one field per KES note and coin, and loose coins as an amount.

Widgets know nothing of the database: the denominations are the widget's own, the ones the close screen asks
for; the screen passes the count on as `{"1000": "3", …, "other": "0.50"}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

from widgets.fields import FieldRow
from widgets.money import CENT, MAX_AMOUNT, format_money

NOTES: tuple[int, ...] = (1000, 500, 200, 100, 50)
COINS: tuple[int, ...] = (40, 20, 10, 5, 1)
DENOMINATIONS: tuple[int, ...] = NOTES + COINS
OTHER = "other"
MAX_PIECES = 1_000_000
ZERO = Decimal("0.00")


class CountError(ValueError):
    """Why a typed count is refused, in words the cashier can act on."""


def parse_count(raw: str, what: str = "notes") -> int:
    """How many notes (or coins) of one kind: a whole number, 0 or more; blank is 0. The messages are short:
    they stand beside the field."""
    text = raw.strip().replace(",", "")
    if not text:
        return 0
    if text.startswith("-"):
        raise CountError("cannot be negative")
    if not (text.isascii() and text.replace(".", "", 1).isdigit()):
        raise CountError("digits only, e.g. 12")
    whole, _, fraction = text.partition(".")
    if fraction.strip("0"):
        raise CountError(f"whole {what} only")
    value = int(whole or "0")
    if value > MAX_PIECES:
        raise CountError(f"at most {MAX_PIECES:,}")
    return value


def parse_other(raw: str) -> Decimal:
    """Loose coins as an amount in KES: 0 or more, at most two decimals; blank is 0."""
    text = raw.strip().replace(",", "")
    if not text:
        return ZERO
    if text.startswith("-"):
        raise CountError("cannot be negative")
    if not re.fullmatch(r"[0-9]*\.?[0-9]*", text) or text == ".":
        raise CountError("an amount, e.g. 2.50")
    value = Decimal(text)
    if value != value.quantize(CENT):
        raise CountError("two decimals at most")
    if value > MAX_AMOUNT:
        raise CountError("too large an amount")
    return value.quantize(CENT)


def field_name(denomination: int) -> str:
    return f"n{denomination}"


def counted_total(counts: Mapping[int, int], other: Decimal) -> Decimal:
    return sum((Decimal(d) * n for d, n in counts.items()), ZERO) + other


def denominations_record(counts: Mapping[int, int], other: Decimal) -> dict[str, str]:
    """The count as it is kept with the close: every denomination (0 included) and the loose coins."""
    record = {str(d): str(counts.get(d, 0)) for d in DENOMINATIONS}
    record[OTHER] = f"{other:.2f}"
    return record


class CountRow(FieldRow):
    """`KES 1000 note  [   3]   3,000.00`, with the message under it when the count is refused."""

    DEFAULT_CSS = """
    CountRow .row-label { width: 14; }
    CountRow .row-error { margin-left: 14; }
    CountRow Input { width: 10; }
    CountRow .subtotal { width: 12; text-align: right; color: $text-muted; }
    """

    def __init__(self, label: str, control: Input, *, name: str) -> None:
        super().__init__(label, control, name=name)

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.label, classes="row-label")
            yield self.control
            yield Static("", classes="subtotal")
        yield Static("", classes="row-error", id=f"error-{self.field_name}")

    def show_subtotal(self, amount: Decimal | None) -> None:
        self.query_one(".subtotal", Static).update("—" if amount is None else format_money(amount))
