"""What the back office screens share: database calls in thread workers, confirmations, CSV exports,
dates typed by staff, and field errors shown beside the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar, TypeVar

from rich.markup import escape
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, DataTable, Static
from textual.worker import get_current_worker

from db.config import ConfigError
from db.errors import AstrofinError

T = TypeVar("T")
Failed = Callable[[AstrofinError], None]
UNREACHABLE = "Cannot reach the database; nothing was changed. Try again."


def run_db(widget: Widget, call: Callable[[], T], done: Callable[[T], None], failed: Failed, *,
           group: str = "db") -> None:
    """Run `call` in a thread worker, then `done(result)` or `failed(error)` on the app's thread.

    Only one call per group runs at a time (a newer one supersedes an older). Errors become AstrofinError
    whose message can be shown as it is.
    """

    def work() -> None:
        try:
            result = call()
        except AstrofinError as exc:
            _back(widget, failed, exc)
        except ConfigError as exc:
            _back(widget, failed, AstrofinError(str(exc)))
        except SQLAlchemyError:
            _back(widget, failed, AstrofinError(UNREACHABLE))
        except Exception as exc:  # never leave a screen waiting on work that died
            _back(widget, failed, AstrofinError(f"That failed unexpectedly ({type(exc).__name__}: {exc})."))
        else:
            if not get_current_worker().is_cancelled:  # a newer call of the same group took over
                _back(widget, done, result)

    widget.run_worker(work, thread=True, exclusive=True, group=group, exit_on_error=False)


def _back(widget: Widget, handler: Callable[[Any], None], value: Any) -> None:
    try:
        widget.app.call_from_thread(handler, value)
    except RuntimeError:  # the app closed while the work ran
        pass


def table_filled(table: DataTable[Any]) -> None:
    """Wake a table filled from outside its own message queue, so it measures its new rows' widths now
    (it does so when idle, and a table that receives no message would wait for the next key)."""
    table.call_later(table.refresh)


def plain(value: str) -> Text:
    """A table cell shown as typed: a bracket in a name is never read as markup."""
    return Text(value, end="")


def right(value: str, width: int = 14) -> str:
    """A cell right-aligned in a column `width` wide (DataTable aligns every cell to the left)."""
    return value.rjust(width)


def parse_day(raw: str, field: str, *, latest: date | None = None) -> date:
    """A day typed as YYYY-MM-DD; raises ValueError with a message that says why it is refused."""
    text = raw.strip()
    if not text:
        raise ValueError(f"{field}: enter a day as YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not a day; write it as YYYY-MM-DD") from None
    if latest is not None and day > latest:
        raise ValueError(f"{field}: {day:%d %b %Y} is in the future")
    return day


def status_text(widget: Static, message: str, *, error: bool = False) -> None:
    """Show plain (escaped) text in a status line, red when it is an error."""
    widget.update(escape(message))
    widget.set_class(error, "error")


class FieldError(Static):
    """The reason a field was refused, on the line under it; takes no room while there is none."""

    DEFAULT_CSS = """
    FieldError { height: auto; color: $error; padding-left: 12; display: none; }
    """

    def show(self, message: str) -> None:
        self.update(escape(message))
        self.display = bool(message)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; enter or `y` confirms, escape or `n` declines."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 60; max-width: 100%; height: auto; border: thick $warning;
                               background: $surface; padding: 1 2; }
    ConfirmScreen #confirm-buttons { height: 1; margin-top: 1; }
    ConfirmScreen Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "No"),
        Binding("y", "answer(True)", "Yes"),
    ]

    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(escape(self.question), id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button(self.yes, id="confirm-yes", variant="warning", compact=True)
                yield Button("Cancel", id="confirm-no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
