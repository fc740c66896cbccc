"""The one date parser and format: ISO, day first as Kenyan staff write it, and the shown form itself."""

from __future__ import annotations

from datetime import date

import pytest

from widgets.dates import DateError, format_date, parse_date

DAY = date(2026, 12, 6)


@pytest.mark.parametrize("typed", ["2026-12-06", "06/12/2026", "6/12/2026", "06-12-2026", "06.12.2026",
                                   "06 Dec 2026", "6 dec 2026", " 06/12/2026 "])
def test_every_accepted_form_is_the_same_day(typed: str) -> None:
    assert parse_date(typed) == DAY


def test_the_shown_form_reads_back() -> None:
    assert format_date(DAY) == "06 Dec 2026"
    assert parse_date(format_date(DAY)) == DAY
    assert format_date(None) == "—"


@pytest.mark.parametrize("typed, says", [
    ("31/02/2026", "no such day"), ("12/2026", "day first"), ("06 Dex 2026", "day first"), ("", "enter a date"),
    ("2026-13-01", "no such day"), ("tomorrow", "day first"),
])
def test_refusals_say_what_to_type(typed: str, says: str) -> None:
    with pytest.raises(DateError, match=says):
        parse_date(typed)


def test_limits_name_the_day_in_the_shown_form() -> None:
    with pytest.raises(DateError, match="after 06 Dec 2026"):
        parse_date("07/12/2026", latest=DAY)
    with pytest.raises(DateError, match="before 06 Dec 2026"):
        parse_date("05/12/2026", earliest=DAY)
    assert parse_date("", required=False) is None
