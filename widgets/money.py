"""Money as staff type and read it: Decimal only, to the cent, with thousands separators."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MAX_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")
_GROUPED = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$")
_PLAIN = re.compile(r"^[0-9]+(\.[0-9]*)?$|^\.[0-9]+$")


class MoneyError(ValueError):
    """Why a typed amount is refused, in words the person can act on."""


def parse_money(raw: str, *, allow_zero: bool = False) -> Decimal:
    """'1,250.5' and '1250.50' are the same amount; '12.345', '-5', '0', '1e3', 'abc' and '' are refused ('0'
    is taken when `allow_zero`: a till opened with no float, a drawer with no loose coins)."""
    text = raw.strip()
    if not text:
        raise MoneyError("enter an amount")
    if text.startswith("-"):
        raise MoneyError("the amount cannot be negative")
    if not (_PLAIN.match(text) or _GROUPED.match(text)):
        raise MoneyError("use digits, an optional decimal point and commas between thousands, e.g. 1,250.50")
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise MoneyError("that is not an amount") from None
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise MoneyError("an amount has at most two decimals (cents)")
    if value == 0 and not allow_zero:
        raise MoneyError("the amount must be more than zero")
    if value > MAX_AMOUNT:
        raise MoneyError("the amount is larger than 999,999,999,999.99")
    return value.quantize(CENT)


def format_money(value: Decimal, currency: str = "") -> str:
    """1234.5 → '1,234.50' (or 'KES 1,234.50' with a currency code)."""
    text = f"{value.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"
    return f"{currency} {text}" if currency else text
