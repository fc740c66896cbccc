"""The receipt of a posted collection sheet: one page per group, each member's amount and receipt number, the
group's total, the officer who collected and who posted. `p` prints it as a payment receipt is printed (the
configured printer command, or a private text file in the receipts folder); printed pages are split by form
feeds. Opened after posting, and again (reprint) from a posted sheet."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, VerticalScroll
from textual.widgets import Header, Static

from db.repositories.groups import CollectionSheetRepository, SheetReceipt
from screens.context import ScreenContext
from screens.data import DataScreen
from screens.output import print_text
from widgets.dates import format_date
from widgets.footer import KeysFooter
from widgets.money import format_money
from widgets.status import ConnectionBanner, StatusLine

WIDTH = 40
PAGE_BREAK = "\f"


def sheet_receipt_pages(receipt: SheetReceipt, currency: str = "KES", branch: str = "AstroFinance") -> list[str]:
    """Each group's page as printed: 40 columns of plain text."""

    def line(label: str, value: str) -> str:
        return f"{label[:WIDTH - len(value) - 1]:<{WIDTH - len(value)}}{value}"

    pages = []
    for group in receipt.groups:
        out = [f"{branch} — collection sheet".center(WIDTH)[:WIDTH], "=" * WIDTH,
               line("Sheet", f"CS-{receipt.sheet_id:06d}"),
               line("Meeting", format_date(receipt.meeting_date)),
               line("Group", group.group_number), group.name[:WIDTH]]
        if group.group_number != receipt.group_number:
            out.append(line("Center", f"{receipt.group_number} {receipt.name}"[:WIDTH - 7]))
        out.append("-" * WIDTH)
        for member in group.lines:
            amount = format_money(member.amount)
            out.append(line(member.customer_name, amount if member.attended else f"absent {amount}"))
            mark = " REVERSED" if member.reversed else ""
            out.append(f"  {member.loan_number}  {member.receipt_number or 'attendance only'}{mark}")
        out += ["-" * WIDTH,
                line("Group total", format_money(group.total, currency)),
                line("Attended", f"{group.attended} of {len(group.lines)}"),
                line("Officer", receipt.officer_name),
                line("Posted by", receipt.posted_by_name),
                line("Posted", receipt.posted_at.astimezone().strftime("%d %b %Y %H:%M"))]
        if len(receipt.groups) > 1 and group is receipt.groups[-1]:
            out.append(line("Sheet total", format_money(receipt.total, currency)))
        pages.append("\n".join(out) + "\n")
    return pages


def sheet_receipt_text(receipt: SheetReceipt, currency: str = "KES") -> str:
    return PAGE_BREAK.join(sheet_receipt_pages(receipt, currency))


def print_sheet_receipt(receipt: SheetReceipt, currency: str = "KES") -> str:
    return print_text(sheet_receipt_text(receipt, currency), f"sheet-CS-{receipt.sheet_id:06d}")


class SheetReceiptScreen(DataScreen):
    CSS_PATH = "sheet_receipt.tcss"
    screen_name = "sheet_receipt"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("p", "print", "Print")]

    def __init__(self, context: ScreenContext, sheet_id: int, *, receipt: SheetReceipt | None = None) -> None:
        super().__init__(context)
        self.sheet_id = sheet_id
        self.receipt = receipt
        self.printed: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        with VerticalScroll(id="pages"), Center():
            yield Static("", id="receipt")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Collection sheet receipt"
        if self.receipt is not None:
            self._show(self.receipt)
        else:
            repo, sheet = CollectionSheetRepository(self.ctx.engine, self.ctx.actor), self.sheet_id
            self.start("load", lambda: repo.receipt(sheet), working="loading the receipt…")

    def _show(self, receipt: SheetReceipt) -> None:
        self.receipt = receipt
        pages = sheet_receipt_pages(receipt, self.ctx.currency)
        self.query_one("#receipt", Static).update(escape(("\n" + "·" * WIDTH + "\n\n").join(
            page.rstrip("\n") for page in pages)))
        self.query_one("#pages").focus()
        self.status.say(f"{len(pages)} page{'s' * (len(pages) != 1)} · p prints · escape goes back")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "print":
            return self.receipt is not None
        return True

    def action_print(self) -> None:
        if self.receipt is None or self.busy("print"):
            return
        receipt, currency = self.receipt, self.ctx.currency
        self.start("print", lambda: print_sheet_receipt(receipt, currency), working="printing…")

    def done(self, tag: str, result: Any) -> None:
        if tag == "load":
            self._show(result)
        elif tag == "print":
            self.printed = result
            self.status.say(result, kind="ok")
