"""Accounting: the chart of accounts as a tree with balances, the journal with its lines, the trial
balance on a chosen day and the daily transactions, each exportable to CSV.

The accountant keeps the chart (add an account, deactivate one); the supervisor reads everything and is
shown no action that writes (the database refuses such writes to the supervisor's role anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    DataTable,
    Header,
    Input,
    Label,
    Select,
    Static,
    TabbedContent,
    TabPane,
    Tree,
)
from textual.widgets.tree import TreeNode

from db.errors import AstrofinError, ValidationError
from db.permissions import ACCOUNTING_WRITE
from db.repositories.accounting import AccountBalance, AccountingRepository, DailyTotal, JournalEntryView, TrialBalance
from db.repositories.chart import ACCOUNT_TYPES, ChartRepository
from screens.back_office import (
    ConfirmScreen,
    FieldError,
    parse_day,
    plain,
    right,
    run_db,
    status_text,
    table_filled,
)
from screens.base import BackScreen
from screens.context import ScreenContext
from screens.export import export_csv
from widgets.footer import KeysFooter
from widgets.money import format_money

TYPE_TITLES = {"asset": "Assets", "liability": "Liabilities", "equity": "Equity", "income": "Income",
               "expense": "Expenses"}
ZERO = Decimal("0.00")


def _money(value: Decimal) -> str:
    return format_money(value) if value else "–"


def _day(value: date) -> str:
    return value.isoformat()


class AccountForm(ModalScreen[bool]):
    """A new account: code, name, type and an optional parent; each refusal is shown beside its field."""

    DEFAULT_CSS = """
    AccountForm { align: center middle; }
    AccountForm Input { background: $panel; }
    AccountForm > Vertical { width: 64; max-width: 100%; height: auto; border: thick $primary;
                             background: $surface; padding: 0 1; }
    AccountForm .row { height: 1; margin-top: 1; }
    AccountForm .row Label { width: 10; color: $text-muted; }
    AccountForm .row Input, AccountForm .row Select { width: 22; }
    AccountForm #account-status { height: auto; margin-top: 1; }
    AccountForm #account-status.error { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel"),
                                             Binding("ctrl+s", "save", "Save")]
    FIELDS = ("code", "name", "type", "parent")

    def __init__(self, context: ScreenContext) -> None:
        super().__init__()
        self.ctx = context
        self._saving = False

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "New account"
            with Horizontal(classes="row"):
                yield Label("Code")
                yield Input(id="account-code", max_length=10, compact=True, placeholder="e.g. 1010",
                            restrict=r"[0-9]*")
            yield FieldError(id="error-code")
            with Horizontal(classes="row"):
                yield Label("Name")
                yield Input(id="account-name", max_length=100, compact=True)
            yield FieldError(id="error-name")
            with Horizontal(classes="row"):
                yield Label("Type")
                yield Select([(TYPE_TITLES[t], t) for t in ACCOUNT_TYPES], id="account-type", compact=True,
                             value="asset", allow_blank=False)
            yield FieldError(id="error-type")
            with Horizontal(classes="row"):
                yield Label("Parent")
                yield Input(id="account-parent", max_length=10, compact=True, placeholder="code (optional)",
                            restrict=r"[0-9]*")
            yield FieldError(id="error-parent")
            with Horizontal(classes="row"):
                yield Label("")
                yield Button("Save", id="account-save", variant="primary", compact=True)
            yield Static("ctrl+s saves · escape cancels", id="account-status")

    def on_mount(self) -> None:
        self.query_one("#account-code", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#account-save")
    def action_save(self) -> None:
        if self._saving:
            return
        for name in self.FIELDS:
            self.query_one(f"#error-{name}", FieldError).show("")
        code = self.query_one("#account-code", Input).value
        name = self.query_one("#account-name", Input).value
        kind = str(self.query_one("#account-type", Select).value)
        parent = self.query_one("#account-parent", Input).value
        self._saving = True
        status_text(self.query_one("#account-status", Static), "Saving the account…")
        repo = ChartRepository(self.ctx.engine, self.ctx.actor)
        run_db(self, lambda: repo.add_account(code, name, kind, parent), self._saved, self._refused)

    def _saved(self, _account_id: int) -> None:
        self.dismiss(True)

    def _refused(self, error: AstrofinError) -> None:
        self._saving = False
        if isinstance(error, ValidationError):
            for field, message in error.fields.items():
                if field in self.FIELDS:
                    self.query_one(f"#error-{field}", FieldError).show(message)
            status_text(self.query_one("#account-status", Static), "Not saved: see the fields marked.", error=True)
        else:
            status_text(self.query_one("#account-status", Static), str(error), error=True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class AccountingScreen(BackScreen):
    CSS_PATH = "accounting.tcss"
    SUB_TITLE = "Accounting"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reload", "Reload"),
        Binding("ctrl+e", "export", "Export CSV", priority=True),
        Binding("ctrl+n", "add_account", "New account"),
        Binding("ctrl+t", "toggle_account", "(De)activate"),
    ]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__()
        self.ctx = context
        self.screen_name = "accounting"
        self.writable = context.can(ACCOUNTING_WRITE)
        today = context.today()
        self._today = today
        self.accounts: tuple[AccountBalance, ...] = ()
        self.entries: list[JournalEntryView] = []
        self.trial: TrialBalance | None = None
        self.daily: list[DailyTotal] = []
        self._journal_from = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        self._daily_from = today - timedelta(days=6)

    # --- layout ------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="books"):
            with TabPane("Chart of accounts", id="tab-chart"):
                yield Static("Loading the chart of accounts…", id="chart-status", classes="status")
                yield Tree("Chart of accounts", id="chart")
            with TabPane("Journal", id="tab-journal"):
                with Horizontal(classes="filters"):
                    yield Label("From")
                    yield Input(_day(self._journal_from), id="journal-from", classes="day", compact=True,
                                max_length=10)
                    yield Label("To")
                    yield Input(_day(self._today), id="journal-to", classes="day", compact=True, max_length=10)
                    yield Label("Account")
                    yield Input("", id="journal-account", classes="code", compact=True, max_length=10,
                                restrict=r"[0-9]*", placeholder="any")
                    yield Label("Txn")
                    yield Input("", id="journal-txn", classes="code", compact=True, max_length=12,
                                restrict=r"[0-9]*", placeholder="any")
                yield Static("", id="journal-error", classes="field-error")
                yield DataTable(id="journal", cursor_type="row", zebra_stripes=True)
                yield Static("", id="journal-detail", classes="detail")
                yield Static("Loading the journal…", id="journal-status", classes="status")
            with TabPane("Trial balance", id="tab-trial"):
                with Horizontal(classes="filters"):
                    yield Label("On")
                    yield Input(_day(self._today), id="trial-day", classes="day", compact=True, max_length=10)
                    yield Static("", id="trial-error", classes="field-error inline")
                yield DataTable(id="trial", cursor_type="row", zebra_stripes=True)
                yield Static("Loading the trial balance…", id="trial-status", classes="status")
            with TabPane("Daily transactions", id="tab-daily"):
                with Horizontal(classes="filters"):
                    yield Label("From")
                    yield Input(_day(self._daily_from), id="daily-from", classes="day", compact=True, max_length=10)
                    yield Label("To")
                    yield Input(_day(self._today), id="daily-to", classes="day", compact=True, max_length=10)
                    yield Static("", id="daily-error", classes="field-error inline")
                yield DataTable(id="daily", cursor_type="row", zebra_stripes=True)
                yield Static("Loading the daily transactions…", id="daily-status", classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#chart", Tree).show_root = False
        self.query_one("#journal", DataTable).add_columns("Entry", "Date", "Account", right("Debit", 12),
                                                          right("Credit", 12))
        self.query_one("#trial", DataTable).add_columns("Code", "Account", right("Debit"), right("Credit"))
        self.query_one("#daily", DataTable).add_columns("Day", "Type", right("Count", 6), right("Total"))
        self.load_chart()
        self.load_journal()
        self.load_trial()
        self.load_daily()

    @property
    def repo(self) -> AccountingRepository:
        return AccountingRepository(self.ctx.engine, self.ctx.actor)

    def _status(self, name: str) -> Static:
        return self.query_one(f"#{name}-status", Static)

    def _failed(self, name: str) -> Any:
        def show(error: AstrofinError) -> None:
            status_text(self._status(name), str(error), error=True)
        return show

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add_account", "toggle_account"):
            return self.writable and self._tab() == "tab-chart"
        return True

    def _tab(self) -> str:
        return self.query_one("#books", TabbedContent).active

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    # --- chart of accounts -------------------------------------------------------------------------------

    def load_chart(self) -> None:
        repo, day = self.repo, self._today
        status_text(self._status("chart"), "Loading the chart of accounts…")
        run_db(self, lambda: repo.chart_of_accounts(day), self._show_chart, self._failed("chart"), group="chart")

    def _show_chart(self, accounts: Sequence[AccountBalance]) -> None:
        self.accounts = tuple(accounts)
        tree: Tree[AccountBalance | None] = self.query_one("#chart", Tree)
        tree.clear()
        children: dict[int | None, list[AccountBalance]] = {}
        for account in self.accounts:
            children.setdefault(account.parent_id, []).append(account)

        def add(node: TreeNode[AccountBalance | None], account: AccountBalance, depth: int) -> None:
            kids = children.get(account.id, [])
            label = self._account_label(account, depth)
            if kids:
                child = node.add(label, data=account, expand=True)
                for kid in kids:
                    add(child, kid, depth + 1)
            else:
                node.add_leaf(label, data=account)

        for kind in ACCOUNT_TYPES:
            tops = [a for a in children.get(None, []) if a.account_type == kind]
            total = sum((a.balance for a in self.accounts if a.account_type == kind), ZERO)
            group = tree.root.add(self._group_label(TYPE_TITLES[kind], total), data=None, expand=True)
            for account in tops:
                add(group, account, 1)
        status_text(self._status("chart"), f"Balances up to {self._today:%d %b %Y}, "
                                           "each in its normal direction.")

    @staticmethod
    def _group_label(title: str, total: Decimal) -> Text:
        text = Text(f"{title:<40.40}", style="bold")
        text.append(f"{format_money(total):>14}", style="bold")
        return text

    @staticmethod
    def _account_label(account: AccountBalance, depth: int) -> Text:
        width = max(12, 36 - 4 * depth)
        text = Text(f"{account.account_code:<6}{account.account_name[:width - 2]:<{width - 2}}")
        text.append(f"{format_money(account.balance):>16}")
        if not account.is_active:
            text.append("  inactive", style="italic")
            text.stylize("dim")
        return text

    def _chosen_account(self) -> AccountBalance | None:
        node = self.query_one("#chart", Tree).cursor_node
        return node.data if node is not None and isinstance(node.data, AccountBalance) else None

    def action_add_account(self) -> None:
        if not self.writable:
            return
        self.app.push_screen(AccountForm(self.ctx), self._account_added)

    def _account_added(self, added: bool | None) -> None:
        if added:
            self.notify("Account added.")
            self.load_chart()

    def action_toggle_account(self) -> None:
        account = self._chosen_account()
        if not self.writable:
            return
        if account is None:
            self.notify("Choose an account in the tree first.", severity="warning")
            return
        verb = "Deactivate" if account.is_active else "Reactivate"
        question = f"{verb} account {account.account_code} {account.account_name}?"

        def answered(yes: bool | None) -> None:
            if yes:
                repo = ChartRepository(self.ctx.engine, self.ctx.actor)
                run_db(self, lambda: repo.set_active(account, not account.is_active),
                       lambda _none: self.load_chart(), self._failed("chart"), group="chart-write")

        self.app.push_screen(ConfirmScreen(question, verb), answered)

    def _date_range(self, tab: str) -> tuple[date, date] | None:
        """The tab's From and To days, or None after saying beside them what is wrong."""
        error = self.query_one(f"#{tab}-error", Static)
        try:
            start = parse_day(self.query_one(f"#{tab}-from", Input).value, "From")
            end = parse_day(self.query_one(f"#{tab}-to", Input).value, "To")
            if end < start:
                raise ValueError("To: the last day is before the first day")
        except ValueError as exc:
            status_text(error, str(exc), error=True)
            return None
        status_text(error, "")
        return start, end

    # --- journal -------------------------------------------------------------------------------------------

    @on(Input.Submitted, "#journal-from, #journal-to, #journal-account, #journal-txn")
    def load_journal(self) -> None:
        days = self._date_range("journal")
        if days is None:
            return
        start, end = days
        code = self.query_one("#journal-account", Input).value.strip() or None
        txn_text = self.query_one("#journal-txn", Input).value.strip()
        txn = int(txn_text) if txn_text else None
        repo = self.repo
        status_text(self._status("journal"), "Loading the journal…")
        run_db(self, lambda: repo.journal(start, end, account_code=code, transaction_id=txn, limit=500),
               self._show_journal, self._failed("journal"), group="journal")

    def _show_journal(self, entries: list[JournalEntryView]) -> None:
        self.entries = entries
        table = self.query_one("#journal", DataTable)
        table.clear()
        table_filled(table)
        lines = 0
        for entry in entries:
            for number, line in enumerate(entry.lines):
                first = number == 0
                table.add_row(entry.entry_number if first else "", _day(entry.entry_date) if first else "",
                              plain(f"{line.account_code} {line.account_name}"[:24]),
                              right(_money(line.debit), 12), right(_money(line.credit), 12),
                              key=f"{entry.id}:{number}")
                lines += 1
        more = " (the first 500; narrow the filter to see the rest)" if len(entries) == 500 else ""
        status_text(self._status("journal"), f"{len(entries)} entries, {lines} lines{more}.")
        self._describe_entry(0)

    @on(DataTable.RowHighlighted, "#journal")
    def _journal_row(self, event: DataTable.RowHighlighted) -> None:
        self._describe_entry(event.cursor_row)

    def _describe_entry(self, row: int) -> None:
        detail = self.query_one("#journal-detail", Static)
        table = self.query_one("#journal", DataTable)
        if not self.entries or row < 0 or row >= table.row_count:
            detail.update("")
            return
        key = table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value or ""
        entry = next((e for e in self.entries if str(e.id) == key.split(":")[0]), None)
        if entry is None:
            return
        parts = [entry.entry_number, escape(entry.description or "(no description)")]
        if entry.transaction_id is not None:
            parts.append(f"transaction {entry.transaction_id}")
        if entry.reverses_entry_id is not None:
            parts.append(f"reverses entry {entry.reverses_entry_id}")
        detail.update(" · ".join(parts))

    # --- trial balance ---------------------------------------------------------------------------------------

    @on(Input.Submitted, "#trial-day")
    def load_trial(self) -> None:
        error = self.query_one("#trial-error", Static)
        try:
            day = parse_day(self.query_one("#trial-day", Input).value, "On")
        except ValueError as exc:
            status_text(error, str(exc), error=True)
            return
        status_text(error, "")
        repo = self.repo
        status_text(self._status("trial"), "Loading the trial balance…")
        run_db(self, lambda: repo.trial_balance(day), self._show_trial, self._failed("trial"), group="trial")

    def _show_trial(self, trial: TrialBalance) -> None:
        self.trial = trial
        table = self.query_one("#trial", DataTable)
        table.clear()
        table_filled(table)
        for account in trial.accounts:
            if account.debit or account.credit or account.is_active:
                table.add_row(account.account_code, plain(account.account_name),
                              right(_money(account.debit)),
                              right(_money(account.credit)))
        table.add_row(Text("", style="bold"), Text("Total", style="bold"),
                      Text(right(format_money(trial.total_debit)), style="bold"),
                      Text(right(format_money(trial.total_credit)), style="bold"), key="total")
        status = self._status("trial")
        if trial.balances:
            status_text(status, f"Balances on {trial.as_of:%d %b %Y}: debits {format_money(trial.total_debit)} = "
                                f"credits {format_money(trial.total_credit)}.")
            status.add_class("good")
        else:
            difference = abs(trial.total_debit - trial.total_credit)
            status_text(status, f"OUT OF BALANCE on {trial.as_of:%d %b %Y} by {format_money(difference)}: "
                                "tell the administrator.", error=True)
            status.remove_class("good")

    # --- daily transactions --------------------------------------------------------------------------------

    @on(Input.Submitted, "#daily-from, #daily-to")
    def load_daily(self) -> None:
        days = self._date_range("daily")
        if days is None:
            return
        start, end = days
        repo = self.repo
        status_text(self._status("daily"), "Loading the daily transactions…")
        run_db(self, lambda: repo.daily_transactions(start, end), self._show_daily, self._failed("daily"),
               group="daily")

    def _show_daily(self, rows: list[DailyTotal]) -> None:
        self.daily = rows
        table = self.query_one("#daily", DataTable)
        table.clear()
        table_filled(table)
        for row in rows:
            table.add_row(_day(row.day), row.transaction_type.replace("_", " "),
                          right(f"{row.count:,}", 6), right(format_money(row.total)))
        count = sum(r.count for r in rows)
        status_text(self._status("daily"), f"{count:,} transactions on {len({r.day for r in rows})} days.")

    # --- reload, export ------------------------------------------------------------------------------------

    def action_reload(self) -> None:
        {"tab-chart": self.load_chart, "tab-journal": self.load_journal, "tab-trial": self.load_trial,
         "tab-daily": self.load_daily}.get(self._tab(), self.load_chart)()

    def action_export(self) -> None:
        tab = self._tab()
        try:
            if tab == "tab-chart":
                by_id = {a.id: a.account_code for a in self.accounts}
                path = export_csv("chart_of_accounts", ["code", "name", "type", "parent", "active", "debit", "credit",
                                                        "balance"],
                                  [(a.account_code, a.account_name, a.account_type, by_id.get(a.parent_id or 0, ""),
                                    a.is_active, a.debit, a.credit, a.balance) for a in self.accounts])
            elif tab == "tab-journal":
                path = export_csv("journal", ["entry", "date", "description", "transaction", "account",
                                              "account_name", "debit", "credit", "memo"],
                                  [(e.entry_number, e.entry_date, e.description, e.transaction_id, line.account_code,
                                    line.account_name, line.debit, line.credit, line.description)
                                   for e in self.entries for line in e.lines])
            elif tab == "tab-trial":
                if self.trial is None:
                    raise OSError("the trial balance is not loaded yet")
                trial = self.trial
                rows: list[tuple[object, ...]] = [(a.account_code, a.account_name, a.account_type, a.debit, a.credit)
                                                  for a in trial.accounts]
                rows.append(("", "Total", "", trial.total_debit, trial.total_credit))
                path = export_csv(f"trial_balance_{trial.as_of:%Y%m%d}", ["code", "name", "type", "debit", "credit"],
                                  rows)
            else:
                path = export_csv("daily_transactions", ["day", "type", "count", "total"],
                                  [(r.day, r.transaction_type, r.count, r.total) for r in self.daily])
        except OSError as exc:
            self.notify(escape(f"Nothing exported: {exc.strerror or exc}"), severity="error")
            return
        self.notify(escape(f"Exported to {path}"), title="CSV written")
