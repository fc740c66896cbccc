"""How money changes hands at the counter: cash (the till), M-Pesa or a bank transfer, chosen with the keyboard.

One line, drawn again only when the choice or the focus changes: nothing animates and nothing is sent while
nobody types. Widgets know nothing of the database: the codes are the ones the ledger stores.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

METHODS: tuple[tuple[str, str], ...] = (("cash", "Cash"), ("mobile_money", "M-Pesa"), ("bank", "Bank"))
"""The payment methods in the order they are offered: (stored code, what staff read)."""
NEEDS_REFERENCE = frozenset({"mobile_money", "bank"})
"""Methods whose money is traced by a reference (the M-Pesa receipt number, the bank's reference)."""
REFERENCE_MAX = 100


def method_label(method: str) -> str:
    """'mobile_money' → 'M-Pesa'; an unknown code is shown as it is."""
    return dict(METHODS).get(method, method)


def reference_problem(method: str, reference: str) -> str | None:
    """Why the reference cannot go with this method, or None."""
    if method not in NEEDS_REFERENCE:
        return None
    text = reference.strip()
    what = "the M-Pesa receipt number" if method == "mobile_money" else "the bank's reference"
    if not text:
        return f"type {what} (e.g. {'QK7ABC123' if method == 'mobile_money' else 'FT2612061234'})"
    if len(text) > REFERENCE_MAX:
        return f"{what} has at most {REFERENCE_MAX} characters"
    return None


def paid_by(method: str, reference: str | None, till_code: str | None) -> str:
    """'Cash, till T1' / 'M-Pesa, ref QK7ABC123' / 'Bank, ref FT26…' / 'Cash'."""
    if method == "cash":
        return f"Cash, till {till_code}" if till_code else "Cash"
    return f"{method_label(method)}, ref {reference}" if reference else method_label(method)


class PaymentMethodPicker(Widget, can_focus=True):
    """`(•) Cash  ( ) M-Pesa  ( ) Bank`: left/right or space move the choice, c / m / b pick one, enter submits."""

    DEFAULT_CSS = """
    PaymentMethodPicker { height: 1; width: auto; min-width: 32; }
    PaymentMethodPicker:focus { text-style: bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step(-1)", "Previous method", show=False),
        Binding("right,space", "step(1)", "Next method", show=False),
        Binding("c", "pick('cash')", "Cash", show=False),
        Binding("m", "pick('mobile_money')", "M-Pesa", show=False),
        Binding("b", "pick('bank')", "Bank", show=False),
        Binding("enter", "submit", "Submit", show=False),
    ]

    method: reactive[str] = reactive("cash")

    class Changed(Message):
        def __init__(self, picker: PaymentMethodPicker, method: str) -> None:
            super().__init__()
            self.picker = picker
            self.method = method

        @property
        def control(self) -> PaymentMethodPicker:
            return self.picker

    class Submitted(Message):
        def __init__(self, picker: PaymentMethodPicker) -> None:
            super().__init__()
            self.picker = picker

        @property
        def control(self) -> PaymentMethodPicker:
            return self.picker

    def __init__(self, method: str = "cash", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.set_reactive(PaymentMethodPicker.method, method)

    def render(self) -> str:
        return "  ".join(f"({'•' if code == self.method else ' '}) {label}" for code, label in METHODS)

    def watch_method(self, old: str, new: str) -> None:
        if old != new:
            self.post_message(self.Changed(self, new))

    def action_step(self, step: int) -> None:
        codes = [code for code, _ in METHODS]
        here = codes.index(self.method) if self.method in codes else 0
        self.method = codes[(here + step) % len(codes)]

    def action_pick(self, method: str) -> None:
        self.method = method

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self))
