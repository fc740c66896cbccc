"""What the back office screens (accounting, reports, administration) share beyond the one database path of
screens.data: table cells shown as typed, day ranges typed by staff, how a refusal reads, and keys that switch
tabs."""

from __future__ import annotations

from datetime import date, datetime

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import TabbedContent, TabPane

from db.config import ConfigError
from screens.data import describe
from widgets.dates import DateError, format_date, parse_date
from widgets.tables import table_filled as table_filled  # the back office imports it from here


def plain(value: str) -> Text:
    """A table cell shown as typed: a bracket in a name is never read as markup."""
    return Text(value, end="")


def right(value: str, width: int = 14) -> str:
    """A cell right-aligned in a column `width` wide (DataTable aligns every cell to the left)."""
    return value.rjust(width)


def when(moment: datetime) -> str:
    """A moment as staff read it: the day as every day is shown, then the time."""
    local = moment.astimezone()
    return f"{format_date(local.date())} {local:%H:%M}"


def day_range(raw_from: str, raw_to: str, *, required: bool = True) -> tuple[date | None, date | None]:
    """From and To as typed (ISO or day first); raises ValueError naming the field that is wrong."""
    try:
        start = parse_date(raw_from, required=required)
    except DateError as exc:
        raise ValueError(f"From: {exc}") from None
    try:
        end = parse_date(raw_to, required=required)
    except DateError as exc:
        raise ValueError(f"To: {exc}") from None
    if start is not None and end is not None and end < start:
        raise ValueError("To: the last day is before the first day")
    return start, end


def refusal(error: BaseException) -> str:
    """What a person reads when a call was refused or failed (a lost connection never comes here: it shows
    the banner). Configuration and file problems say what is wrong in their own words."""
    if isinstance(error, ConfigError | OSError) and not isinstance(error, ConnectionError):
        text = str(error)
        return text[:1].upper() + text[1:]
    return describe(error)


def tab_bindings() -> list[BindingType]:
    """Keys that switch tabs from anywhere in the screen, a field included (priority: a field never types them).

    alt+n / alt+p (next / previous) arrive as ESC and the letter, which every terminal that sends ESC for alt,
    SSH, tmux, screen and PuTTY pass on; ctrl+pagedown / ctrl+pageup are xterm's sequences, passed by SSH and
    tmux, though some terminal emulators keep them for their own tabs. alt+1…9 are not offered: Textual reads
    ESC and a digit as the character macOS would type (¡, ™, £…), so they never arrive as keys.
    """
    return [
        Binding("alt+n", "next_tab(1)", "Tab", key_display="alt+n/p", priority=True),
        Binding("alt+p", "next_tab(-1)", "Previous tab", show=False, priority=True),
        Binding("ctrl+pagedown", "next_tab(1)", "Next tab", show=False, priority=True),
        Binding("ctrl+pageup", "next_tab(-1)", "Previous tab", show=False, priority=True),
    ]


def tab_ids(tabs: TabbedContent) -> list[str]:
    return [pane.id for pane in tabs.query(TabPane) if pane.id]


def tab_beside(tabs: TabbedContent, step: int) -> str | None:
    """The id of the tab `step` places from the active one, going round."""
    ids = tab_ids(tabs)
    if not ids:
        return None
    here = ids.index(tabs.active) if tabs.active in ids else 0
    return ids[(here + step) % len(ids)]
