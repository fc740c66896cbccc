"""Counting a drawer as the close screen reads it, and the payment methods as the forms offer them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from widgets.money import MoneyError, parse_money
from widgets.payment_method import paid_by, reference_problem
from widgets.till_count import CountError, counted_total, denominations_record, parse_count, parse_other


def test_counts_are_whole_numbers_of_notes_or_coins() -> None:
    assert (parse_count(""), parse_count(" 12 "), parse_count("3.0"), parse_count("1,200")) == (0, 12, 3, 1200)
    for raw, says in (("abc", "digits only"), ("-1", "cannot be negative"), ("2.5", "whole notes only"),
                      ("1e3", "digits only"), ("٣", "digits only"), ("2000000", "at most")):
        with pytest.raises(CountError, match=says):
            parse_count(raw)


def test_loose_coins_are_an_amount_to_the_cent() -> None:
    assert (parse_other(""), parse_other("0.5"), parse_other("12")) == (Decimal("0.00"), Decimal("0.50"),
                                                                       Decimal("12.00"))
    for raw, says in (("0.505", "two decimals"), ("-1", "negative"), ("abc", "an amount"), (".", "an amount")):
        with pytest.raises(CountError, match=says):
            parse_other(raw)


def test_the_count_and_what_is_kept_of_it() -> None:
    counts = {1000: 6, 200: 2, 50: 1}
    assert counted_total(counts, Decimal("0.50")) == Decimal("6450.50")
    record = denominations_record(counts, Decimal("0.50"))
    assert record["1000"] == "6" and record["500"] == "0" and record["other"] == "0.50" and len(record) == 11


def test_a_float_may_be_zero_a_payment_may_not() -> None:
    assert parse_money("0", allow_zero=True) == Decimal("0.00")
    with pytest.raises(MoneyError):
        parse_money("0")


def test_payment_methods_and_their_references() -> None:
    assert reference_problem("cash", "") is None
    assert "M-Pesa receipt number" in (reference_problem("mobile_money", "  ") or "")
    assert "bank's reference" in (reference_problem("bank", "") or "")
    assert "at most 100" in (reference_problem("bank", "x" * 101) or "")
    assert paid_by("cash", None, "T1") == "Cash, till T1"
    assert paid_by("cash", None, None) == "Cash"
    assert paid_by("mobile_money", "QK7ABC123", None) == "M-Pesa, ref QK7ABC123"
    assert paid_by("bank", "FT123", None) == "Bank, ref FT123"
