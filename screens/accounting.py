"""Accounting: the chart of accounts as a tree with balances, the journal with its lines, the trial
balance on a chosen day and the daily transactions, each exportable to CSV; a branch's period is closed here
(accountant and supervisor).

The accountant keeps the chart (add an account, deactivate one); the supervisor reads everything and is
shown no action that writes (the database refuses such writes to the supervisor's role anyway). Every call to
the database goes through the one path of screens.data: a lost connection shows the banner and reads retry by
themselves; a refusal is shown as what it is.
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
from textual.widgets import Button, DataTable, Header, Input, Label, Select, Static, TabbedContent, TabPane, Tree
from textual.widgets.tree import TreeNode

from db.permissions import ACCOUNTING_WRITE
from db.repositories.accounting import AccountBalance, AccountingRepository, DailyTotal, JournalEntryView, TrialBalance
from db.repositories.branch_scope import BranchOption, BranchScopeRepository
from db.repositories.chart import ACCOUNT_TYPES, ChartRepository
from screens.back_office import (
    day_range,
    plain,
    refusal,
    right,
    tab_beside,
    tab_bindings,
    table_filled,
)
from screens.confirm import ConfirmScreen, ReasonScreen
from screens.context import ScreenContext
from screens.data import ASK, DatabaseCalls, DataScreen, describe
from screens.export import export_csv
from screens.typeahead import ALL_KEYS, EDITING_PASSES
from widgets.branch_picker import BranchPicker
from widgets.dates import DateError, format_date, format_for_typing, parse_date
from widgets.fields import FieldRow
from widgets.footer import KeysFooter
from widgets.money import format_money
from widgets.status import ConnectionBanner, StatusLine
from widgets.words import in_words

TYPE_TITLES = {"asset": "Assets", "liability": "Liabilities", "equity": "Equity", "income": "Income",
               "expense": "Expenses"}
ZERO = Decimal("0.00")
CLOSES_PERIODS = ("accountant", "supervisor")
"""Who closes a branch's period (close_branch_period says the same)."""
TAB_FOCUS = {"tab-chart": "#chart", "tab-journal": "#journal", "tab-trial": "#trial", "tab-daily": "#daily"}


def _money(value: Decimal) -> str:
    return format_money(value) if value else "–"


def net_sides(account: AccountBalance) -> tuple[Decimal, Decimal]:
    """An account's balance on one side only, as a trial balance shows it: (net debit, 0) or (0, net credit)."""
    net = account.debit - account.credit
    return (net, ZERO) if net > 0 else (ZERO, -net)


def net_totals(trial: TrialBalance) -> tuple[Decimal, Decimal]:
    """The debit and credit columns' totals of the net balances."""
    sides = [net_sides(a) for a in trial.accounts]
    return sum((d for d, _ in sides), ZERO), sum((c for _, c in sides), ZERO)


class AccountForm(DatabaseCalls, ModalScreen[bool]):
    """A new account: code, name, type and an optional parent; each refusal is shown beside its field. The form
    makes its own call (the one path), so a lost connection shows its banner and keeps what was typed."""

    DEFAULT_CSS = """
    AccountForm { align: center middle; }
    AccountForm Input { background: $panel; }
    AccountForm > Vertical { width: 64; max-width: 100%; height: auto; border: thick $primary;
                             background: $surface; padding: 0 1; }
    AccountForm FieldRow { margin-top: 1; }
    AccountForm FieldRow Input, AccountForm FieldRow Select { width: 24; }
    AccountForm #account-buttons { height: 1; margin-top: 1; padding-left: 16; }
    AccountForm #status { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel"),
                                             Binding("ctrl+s", "save", "Save")]
    AUTO_FOCUS = "#account-code"

    def __init__(self, context: ScreenContext) -> None:
        super().__init__()
        self.ctx = context

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        with Vertical() as box:
            box.border_title = "New account"
            yield FieldRow("Code", Input(id="account-code", max_length=10, compact=True, placeholder="e.g. 1010",
                                         restrict=r"[0-9]*"), name="code")
            yield FieldRow("Name", Input(id="account-name", max_length=100, compact=True), name="name")
            yield FieldRow("Type", Select([(TYPE_TITLES[t], t) for t in ACCOUNT_TYPES], id="account-type",
                                          compact=True, value="asset", allow_blank=False), name="type")
            yield FieldRow("Parent", Input(id="account-parent", max_length=10, compact=True,
                                           placeholder="code (optional)", restrict=r"[0-9]*"), name="parent")
            with Horizontal(id="account-buttons"):
                yield Button("Save", id="account-save", variant="primary", compact=True)
            yield StatusLine("ctrl+s saves · escape cancels", id="status")

    @on(Input.Submitted)
    @on(Button.Pressed, "#account-save")
    def action_save(self) -> None:
        if self.busy("save"):
            return
        self.show_field_errors({})
        code = self.query_one("#account-code", Input).value
        name = self.query_one("#account-name", Input).value
        kind = str(self.query_one("#account-type", Select).value)
        parent = self.query_one("#account-parent", Input).value
        repo = ChartRepository(self.ctx.engine, self.ctx.actor)
        self.start("save", lambda: repo.add_account(code, name, kind, parent), retry=ASK,
                   working="Saving the account…", on_done=self._saved)

    def _saved(self, _account_id: int) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class AccountingScreen(DataScreen):
    CSS_PATH = "accounting.tcss"
    SUB_TITLE = "Accounting"
    BINDINGS: ClassVar[list[BindingType]] = [
        *tab_bindings(),
        Binding("ctrl+r", "reload", "Reload"),
        Binding("ctrl+e", "export", "Export CSV", priority=True),
        Binding("ctrl+n", "add_account", "New account"),
        Binding("ctrl+t", "toggle_account", "(De)activate"),
        Binding("ctrl+n", "new_entry", "New entry"),  # ctrl+n makes the new thing of the tab in front
        Binding("v", "reverse_entry", "Reverse"),  # as on the loan detail
        Binding("ctrl+y", "close_period", "Close period"),  # ctrl+l is the terminal's repaint key
    ]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
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
        # The books of the staff member's own branch with those below: consolidated at the head office.
        self.branch_id: int | None = context.actor.branch_id
        self.with_children = True
        self.branches: list[BranchOption] = []

    # --- layout ------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield BranchPicker(self.branch_id, self.with_children, id="branch")
        with TabbedContent(id="books"):
            with TabPane("Chart of accounts", id="tab-chart"):
                yield StatusLine("Loading the chart of accounts…", id="chart-status", classes="status")
                yield Tree("Chart of accounts", id="chart")
            with TabPane("Journal", id="tab-journal"):
                with Horizontal(classes="filters"):
                    yield Label("From")
                    yield Input(format_for_typing(self._journal_from), id="journal-from", classes="day", compact=True,
                                max_length=10)
                    yield Label("To")
                    yield Input(format_for_typing(self._today), id="journal-to", classes="day", compact=True,
                                max_length=10)
                    yield Label("Account")
                    yield Input("", id="journal-account", classes="code", compact=True, max_length=10,
                                restrict=r"[0-9]*", placeholder="any")
                    yield Label("Txn")
                    yield Input("", id="journal-txn", classes="code", compact=True, max_length=12,
                                restrict=r"[0-9]*", placeholder="any")
                yield StatusLine("", id="journal-error", classes="field-error")
                yield DataTable(id="journal", cursor_type="row", zebra_stripes=True)
                yield Static("", id="journal-detail", classes="detail")
                yield StatusLine("Loading the journal…", id="journal-status", classes="status")
            with TabPane("Trial balance", id="tab-trial"):
                with Horizontal(classes="filters"):
                    yield Label("On")
                    yield Input(format_for_typing(self._today), id="trial-day", classes="day", compact=True,
                                max_length=10)
                    yield StatusLine("", id="trial-error", classes="field-error inline")
                yield DataTable(id="trial", cursor_type="row", zebra_stripes=True)
                yield StatusLine("Loading the trial balance…", id="trial-status", classes="status")
            with TabPane("Daily transactions", id="tab-daily"):
                with Horizontal(classes="filters"):
                    yield Label("From")
                    yield Input(format_for_typing(self._daily_from), id="daily-from", classes="day", compact=True,
                                max_length=10)
                    yield Label("To")
                    yield Input(format_for_typing(self._today), id="daily-to", classes="day", compact=True,
                                max_length=10)
                    yield StatusLine("", id="daily-error", classes="field-error inline")
                yield DataTable(id="daily", cursor_type="row", zebra_stripes=True)
                yield StatusLine("Loading the daily transactions…", id="daily-status", classes="status")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#chart", Tree).show_root = False
        self.query_one("#journal", DataTable).add_columns("Entry", "Date", "Account", right("Debit", 12),
                                                          right("Credit", 12))
        self.query_one("#trial", DataTable).add_columns("Code", "Account", right("Debit"), right("Credit"))
        self.query_one("#daily", DataTable).add_columns("Day", "Type", right("Count", 6), right("Total"))
        scope = BranchScopeRepository(self.ctx.engine, self.ctx.actor)
        # A background fill: nothing typed waits for the list of branches.
        self.start("branches", scope.visible_branches, on_done=self._show_branches,
                   on_failed=lambda error: self.status.say(refusal(error), kind="error"), working=None, hold=None)
        self.load_chart()
        self.load_journal()
        self.load_trial()
        self.load_daily()

    @property
    def repo(self) -> AccountingRepository:
        return AccountingRepository(self.ctx.engine, self.ctx.actor)

    def _show_branches(self, branches: Sequence[BranchOption]) -> None:
        self.branches = list(branches)
        self.query_one("#branch", BranchPicker).set_branches((b.label, b.id) for b in self.branches)

    @on(BranchPicker.Changed, "#branch")
    def _branch_changed(self, event: BranchPicker.Changed) -> None:
        """Every tab's figures for the branch chosen."""
        self.branch_id, self.with_children = event.branch_id, event.with_children
        self.load_chart()
        self.load_journal()
        self.load_trial()
        self.load_daily()

    def _status(self, name: str) -> StatusLine:
        return self.query_one(f"#{name}-status", StatusLine)

    def _failed(self, name: str) -> Any:
        def show(error: BaseException) -> None:
            self._status(name).say(refusal(error), kind="error")
        return show

    def _load(self, name: str, what: str, job: Any, on_done: Any, *, typing: bool = False) -> None:
        """A read for one tab: says so on the tab's line, runs again by itself after a lost connection."""
        self._status(name).say(f"Loading {what}…")
        self.start(name, job, on_done=on_done, on_failed=self._failed(name), working=None,
                   hold=EDITING_PASSES if typing else ALL_KEYS)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add_account", "toggle_account"):
            return self.writable and self._tab() == "tab-chart"
        if action in ("new_entry", "reverse_entry"):
            return self.writable and self._tab() == "tab-journal"
        if action == "close_period":
            return self.ctx.actor.role in CLOSES_PERIODS
        return True

    def _tab(self) -> str:
        return self.query_one("#books", TabbedContent).active

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    def action_next_tab(self, step: int) -> None:
        self._show_tab(tab_beside(self.query_one("#books", TabbedContent), step))

    def _show_tab(self, tab: str | None) -> None:
        """Open a tab from the keyboard and put the cursor in it, so its keys work at once."""
        if tab is None:
            return
        self.query_one("#books", TabbedContent).active = tab
        self.query_one(TAB_FOCUS[tab]).focus()
        self.refresh_bindings()

    # --- chart of accounts -------------------------------------------------------------------------------

    def load_chart(self) -> None:
        repo, day, branch, below = self.repo, self._today, self.branch_id, self.with_children
        self._load("chart", "the chart of accounts",
                   lambda: repo.chart_of_accounts(day, branch_id=branch, with_children=below), self._show_chart)

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
        self._status("chart").say(f"Balances up to {format_date(self._today)}, each in its normal direction.")

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
            text.append(f"  {in_words('inactive').lower()}", style="italic")
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
                # Sets the account to one state: running it again after a lost connection changes nothing more.
                self.start("chart-write", lambda: repo.set_active(account, not account.is_active),
                           on_done=lambda _none: self.load_chart(), on_failed=self._failed("chart"),
                           working=f"{verb.rstrip('e')}ing {account.account_code}…")

        self.app.push_screen(ConfirmScreen(f"{verb} an account", [question],
                                           question=f"{verb} it?"), answered)

    def _date_range(self, tab: str) -> tuple[date, date] | None:
        """The tab's From and To days, or None after saying beside them what is wrong."""
        error = self.query_one(f"#{tab}-error", StatusLine)
        try:
            start, end = day_range(self.query_one(f"#{tab}-from", Input).value,
                                   self.query_one(f"#{tab}-to", Input).value)
        except ValueError as exc:
            error.say(str(exc), kind="error")
            return None
        error.clear()
        assert start is not None and end is not None  # required days
        return start, end

    # --- journal -------------------------------------------------------------------------------------------

    @on(Input.Submitted, "#journal-from, #journal-to, #journal-account, #journal-txn")
    def _journal_filter(self) -> None:
        self.load_journal(typing=True)

    def load_journal(self, typing: bool = False) -> None:
        days = self._date_range("journal")
        if days is None:
            return
        start, end = days
        code = self.query_one("#journal-account", Input).value.strip() or None
        txn_text = self.query_one("#journal-txn", Input).value.strip()
        txn = int(txn_text) if txn_text else None
        repo, branch, below = self.repo, self.branch_id, self.with_children
        self._load("journal", "the journal",
                   lambda: repo.journal(start, end, account_code=code, transaction_id=txn, limit=500,
                                        branch_id=branch, with_children=below),
                   self._show_journal, typing=typing)

    def _show_journal(self, entries: list[JournalEntryView]) -> None:
        self.entries = entries
        table = self.query_one("#journal", DataTable)
        table.clear()
        table_filled(table)
        lines = 0
        for entry in entries:
            for number, line in enumerate(entry.lines):
                first = number == 0
                table.add_row(entry.entry_number if first else "", format_date(entry.entry_date) if first else "",
                              plain(f"{line.account_code} {line.account_name}"[:24]),
                              right(_money(line.debit), 12), right(_money(line.credit), 12),
                              key=f"{entry.id}:{number}")
                lines += 1
        more = " (the first 500; narrow the filter to see the rest)" if len(entries) == 500 else ""
        self._status("journal").say(f"{len(entries)} entries, {lines} lines{more}.")
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

    def _chosen_entry(self) -> JournalEntryView | None:
        table = self.query_one("#journal", DataTable)
        if not self.entries or not table.row_count:
            return None
        key = str(table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value or "")
        return next((e for e in self.entries if str(e.id) == key.split(":")[0]), None)

    def action_new_entry(self) -> None:
        """A manual journal entry (the accountant's): posted once it balances, never edited afterwards."""
        if not self.writable:
            return
        from screens.journal_entry import ManualEntryScreen

        def posted(entry_id: int | None) -> None:
            if entry_id is not None:
                self._status("journal").say("Entry posted.", kind="ok")
                self.load_journal()

        self.app.push_screen(ManualEntryScreen(self.ctx), posted)

    def action_reverse_entry(self) -> None:
        """Undo a manual entry the one way the books allow: a mirrored entry, with a reason."""
        entry = self._chosen_entry()
        if not self.writable or entry is None:
            return
        if entry.transaction_id is not None or entry.reverses_entry_id is not None:
            self._status("journal").say(f"{entry.entry_number} is not a manual entry: reverse its payment or "
                                        "disbursement from the loan instead.", kind="error")
            return
        repo = self.repo

        def reason_given(reason: str | None) -> None:
            if reason:
                self.start("reverse", lambda: repo.reverse_manual_entry(entry.id, reason), retry=ASK,
                           working=None, on_done=lambda _: self._reversed(entry),
                           on_failed=lambda error: self._status("journal").say(describe(error), kind="error"))

        self.app.push_screen(ReasonScreen(f"Reverse {entry.entry_number}?",
                                          [entry.description or "(no description)",
                                           "A mirrored entry dated today undoes it; the entry itself stays."]),
                             reason_given)

    def _reversed(self, entry: JournalEntryView) -> None:
        self._status("journal").say(f"{entry.entry_number} reversed.", kind="ok")
        self.load_journal()

    # --- trial balance ---------------------------------------------------------------------------------------

    @on(Input.Submitted, "#trial-day")
    def _trial_filter(self) -> None:
        self.load_trial(typing=True)

    def load_trial(self, typing: bool = False) -> None:
        error = self.query_one("#trial-error", StatusLine)
        try:
            day = parse_date(self.query_one("#trial-day", Input).value)
        except DateError as exc:
            error.say(f"On: {exc}", kind="error")
            return
        error.clear()
        assert day is not None  # required
        repo, branch, below = self.repo, self.branch_id, self.with_children
        self._load("trial", "the trial balance",
                   lambda: repo.trial_balance(day, branch_id=branch, with_children=below), self._show_trial,
                   typing=typing)

    def _show_trial(self, trial: TrialBalance) -> None:
        self.trial = trial
        table = self.query_one("#trial", DataTable)
        table.clear()
        table_filled(table)
        for account in trial.accounts:
            debit, credit = net_sides(account)
            if debit or credit or account.is_active:
                table.add_row(account.account_code, plain(account.account_name), right(_money(debit)),
                              right(_money(credit)))
        total_debit, total_credit = net_totals(trial)
        table.add_row(Text("", style="bold"), Text("Total", style="bold"),
                      Text(right(format_money(total_debit)), style="bold"),
                      Text(right(format_money(total_credit)), style="bold"), key="total")
        status = self._status("trial")
        if total_debit == total_credit:
            status.say(f"Balances on {format_date(trial.as_of)}: debits {format_money(total_debit)} = "
                       f"credits {format_money(total_credit)}.", kind="ok")
        else:
            difference = abs(total_debit - total_credit)
            status.say(f"OUT OF BALANCE on {format_date(trial.as_of)} by {format_money(difference)}: "
                       "tell the administrator.", kind="error")

    # --- daily transactions --------------------------------------------------------------------------------

    @on(Input.Submitted, "#daily-from, #daily-to")
    def _daily_filter(self) -> None:
        self.load_daily(typing=True)

    def load_daily(self, typing: bool = False) -> None:
        days = self._date_range("daily")
        if days is None:
            return
        start, end = days
        repo, branch, below = self.repo, self.branch_id, self.with_children
        self._load("daily", "the daily transactions",
                   lambda: repo.daily_transactions(start, end, branch_id=branch, with_children=below),
                   self._show_daily, typing=typing)

    def _show_daily(self, rows: list[DailyTotal]) -> None:
        self.daily = rows
        table = self.query_one("#daily", DataTable)
        table.clear()
        table_filled(table)
        for row in rows:
            table.add_row(format_date(row.day), in_words(row.transaction_type),
                          right(f"{row.count:,}", 6), right(format_money(row.total)))
        count = sum(r.count for r in rows)
        self._status("daily").say(f"{count:,} transactions on {len({r.day for r in rows})} days.")

    # --- reload, export ------------------------------------------------------------------------------------

    def action_close_period(self) -> None:
        """A branch's books closed through a day (the dialog says the current close and asks first)."""
        if self.ctx.actor.role in CLOSES_PERIODS:
            from screens.branch_dialogs import ClosePeriodDialog

            self.app.push_screen(ClosePeriodDialog(self.ctx))

    def action_reload(self) -> None:
        {"tab-chart": self.load_chart, "tab-journal": self.load_journal, "tab-trial": self.load_trial,
         "tab-daily": self.load_daily}.get(self._tab(), self.load_chart)()

    def action_export(self) -> None:
        """The tab in front as CSV: words in every column a person reads, days in ISO, amounts as numbers."""
        tab = self._tab()
        try:
            if tab == "tab-chart":
                by_id = {a.id: a.account_code for a in self.accounts}
                path = export_csv(f"chart_of_accounts_{self._today.isoformat()}",
                                  ["Code", "Account", "Type", "Parent code", "Active", "Debit", "Credit", "Balance"],
                                  [(a.account_code, a.account_name, in_words(a.account_type),
                                    by_id.get(a.parent_id or 0, ""), a.is_active, a.debit, a.credit, a.balance)
                                   for a in self.accounts])
            elif tab == "tab-journal":
                path = export_csv("journal", ["Entry", "Date", "Description", "Transaction", "Account code",
                                              "Account", "Debit", "Credit", "Memo"],
                                  [(e.entry_number, e.entry_date, e.description, e.transaction_id, line.account_code,
                                    line.account_name, line.debit, line.credit, line.description)
                                   for e in self.entries for line in e.lines])
            elif tab == "tab-trial":
                if self.trial is None:
                    self.status.say("Nothing exported: the trial balance is not loaded yet.", kind="error")
                    return
                trial = self.trial
                rows: list[tuple[object, ...]] = [(a.account_code, a.account_name, in_words(a.account_type),
                                                   *net_sides(a)) for a in trial.accounts]
                rows.append(("", "Total", "", *net_totals(trial)))
                path = export_csv(f"trial_balance_{trial.as_of.isoformat()}",
                                  ["Code", "Account", "Type", "Debit", "Credit"], rows)
            else:
                path = export_csv("daily_transactions", ["Day", "Type", "Count", "Total"],
                                  [(r.day, in_words(r.transaction_type), r.count, r.total) for r in self.daily])
        except OSError as exc:
            self.notify(escape(f"Nothing exported: {exc.strerror or exc}"), severity="error")
            return
        self.notify(escape(f"Exported to {path}"), title="CSV written")
