from decimal import Decimal

import pytest

from widgets.money import MoneyError, format_money, parse_money


@pytest.mark.parametrize(("raw", "value"), [
    ("1,250.5", "1250.50"), ("1250.50", "1250.50"), (" 7 ", "7.00"), ("0.01", "0.01"), (".5", "0.50"),
    ("999,999,999,999.99", "999999999999.99"), ("12.", "12.00"),
])
def test_accepted_amounts(raw, value):
    assert parse_money(raw) == Decimal(value)


@pytest.mark.parametrize(("raw", "why"), [
    ("12.345", "two decimals"), ("-5", "negative"), ("0", "more than zero"), ("0.00", "more than zero"),
    ("1e3", "use digits"), ("abc", "use digits"), ("", "enter an amount"), ("   ", "enter an amount"),
    ("1000000000000", "larger"), ("1,25.00", "use digits"), ("NaN", "use digits"), ("Infinity", "use digits"),
    ("١٢٣", "use digits"), ("'; drop table", "use digits"), ("[bold]5", "use digits"),
])
def test_refused_amounts_say_why(raw, why):
    with pytest.raises(MoneyError, match=why):
        parse_money(raw)


def test_format_money():
    assert format_money(Decimal("1234.5")) == "1,234.50"
    assert format_money(Decimal("945.6"), "KES") == "KES 945.60"
