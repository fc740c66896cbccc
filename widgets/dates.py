"""Days as staff type and read them: one parser, one format.

Input: ISO (`2026-12-06`) or day first as written in Kenya (`06/12/2026`, `6/12/2026`, `06-12-2026`,
`06.12.2026`). Output everywhere on screen, on receipts and in messages: `06 Dec 2026` (`format_date`);
CSV exports keep ISO so spreadsheets read them as dates.
"""

from __future__ import annotations

import re
from datetime import date

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_SHOWN = re.compile(r"^(\d{1,2}) ([A-Za-z]{3}) (\d{4})$")  # as format_date shows it: a shown day can be kept
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
HOW = "write the date as 06/12/2026 (day first) or 2026-12-06"


class DateError(ValueError):
    """A typed day refused; the message says why, in words a person can act on."""


def format_date(day: date | None) -> str:
    """The one way a day is shown: '06 Dec 2026' ('—' for none)."""
    return day.strftime("%d %b %Y") if day is not None else "—"


def format_for_typing(day: date) -> str:
    """A day put into a field for the person to keep or change, as they would type it: '06/12/2026'."""
    return day.strftime("%d/%m/%Y")


def parse_date(raw: str, *, latest: date | None = None, earliest: date | None = None,
               required: bool = True) -> date | None:
    """A day typed by a person; raises DateError when malformed or outside [earliest, latest]."""
    text = raw.strip()
    if not text:
        if required:
            raise DateError(f"enter a date: {HOW}")
        return None
    iso = _ISO.match(text)
    day_first = _DAY_FIRST.match(text)
    shown = _SHOWN.match(text)
    if iso:
        year, month, day_ = (int(part) for part in iso.groups())
    elif day_first:
        day_, month, year = (int(part) for part in day_first.groups())
    elif shown and shown.group(2).lower() in _MONTHS:
        day_, month, year = int(shown.group(1)), _MONTHS.index(shown.group(2).lower()) + 1, int(shown.group(3))
    else:
        raise DateError(HOW)
    try:
        day = date(year, month, day_)
    except ValueError:
        raise DateError(f"there is no such day as {text}") from None
    if latest is not None and day > latest:
        raise DateError(f"the date cannot be after {format_date(latest)}")
    if earliest is not None and day < earliest:
        raise DateError(f"the date cannot be before {format_date(earliest)}")
    return day
