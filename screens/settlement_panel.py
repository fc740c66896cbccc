"""Early settlement and recovery on a loan's screens: one line under what the loan owes.

An active or defaulted loan shows what pays it off today ("Pay off today: KES …", with its principal, interest and
penalty, from payoff_quote); a written-off loan shows what has been recovered of what was written off. The panel
asks the database through its screen's one path (`DatabaseCalls.start`), never on the UI thread; loan detail and
payment entry each mount one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from rich.markup import escape
from textual.widgets import Static

from db.repositories.payments import PaymentRepository, PayoffQuote, Recoveries
from screens.data import DatabaseCalls
from widgets.money import format_money

SETTLES = ("active", "defaulted")
RECOVERS = "written_off"


def payoff_text(quote: PayoffQuote, currency: str) -> str:
    parts = [f"principal {format_money(quote.principal)}", f"interest {format_money(quote.interest)}"]
    if quote.penalty:
        parts.append(f"penalty {format_money(quote.penalty)}")
    return f"Pay off today: [b]{format_money(quote.total, currency)}[/b] · " + " · ".join(parts)


def recovered_text(recoveries: Recoveries, currency: str) -> str:
    return (f"Recovered: [b]{format_money(recoveries.recovered, currency)}[/b] of "
            f"{format_money(recoveries.written_off)} written off · {format_money(recoveries.left)} still recoverable")


class SettlementPanel(Static):
    """Pay off today (active, defaulted) or Recovered (written off); hidden for any other loan."""

    DEFAULT_CSS = """
    SettlementPanel {
        height: auto;
        margin: 0 1;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's own keyword
        super().__init__("", id=id)
        self.quote: PayoffQuote | None = None
        self.recoveries: Recoveries | None = None
        self.loan_id: int | None = None

    def on_mount(self) -> None:
        self.display = False

    def clear(self) -> None:
        self.quote = self.recoveries = None
        self.loan_id = None
        self.update("")
        self.display = False

    def load(self, screen: DatabaseCalls, loan_id: int, status: str, today: date) -> None:
        """Ask for the loan's payoff (or its recoveries) in a worker; the line shows when the answer comes."""
        self.clear()
        if status not in (*SETTLES, RECOVERS):
            return
        self.loan_id = loan_id
        repo = PaymentRepository(screen.ctx.engine, screen.ctx.actor)  # type: ignore[attr-defined]
        currency = screen.ctx.currency  # type: ignore[attr-defined]

        def job() -> PayoffQuote | Recoveries:
            if status == RECOVERS:
                return repo.recoveries(loan_id)
            return repo.payoff_quote(loan_id, today)

        def shown(result: Any) -> None:
            if result.loan_id != self.loan_id:
                return  # the screen moved on to another loan meanwhile
            if isinstance(result, PayoffQuote):
                self.quote = result
                self.update(payoff_text(result, currency))
            else:
                self.recoveries = result
                self.update(recovered_text(result, currency))
            self.display = True

        def refused(error: BaseException) -> None:
            self.update(f"[i]No payoff quote: {escape(str(error))}[/i]")
            self.display = True

        screen.start("settlement_panel", job, working=None, hold=None, on_done=shown, on_failed=refused)

    @property
    def payoff_total(self) -> Decimal | None:
        return self.quote.total if self.quote is not None else None
