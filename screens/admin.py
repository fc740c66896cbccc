"""Administration (admin only): users, loan products, SMS templates, the SMS outbox, the audit log, backup and
maintenance.

Each tab is a pane with its own keys, shown in the footer once the cursor is inside it (tab from the tab
bar; shift+tab back to it; alt+n / alt+p or ctrl+pagedown / ctrl+pageup from anywhere). Every pane calls the
database through the screen (screens.data.run_in): one banner for a lost connection, one status line.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, TabbedContent, TabPane

from screens.admin_audit import AuditPane
from screens.admin_backup import BackupPane
from screens.admin_products import ProductsPane
from screens.admin_sms import OutboxPane
from screens.admin_templates import TemplatesPane
from screens.admin_users import UsersPane
from screens.back_office import tab_beside, tab_bindings
from screens.context import ScreenContext
from screens.data import DataScreen
from widgets.footer import KeysFooter
from widgets.status import ConnectionBanner, StatusLine

PANES = {"tab-users": "#users", "tab-products": "#products", "tab-templates": "#template-list", "tab-sms": "#sms",
         "tab-audit": "#audit", "tab-backup": "#backups"}


class AdminScreen(DataScreen):
    CSS_PATH = "admin.tcss"
    SUB_TITLE = "Administration"
    BINDINGS: ClassVar[list[BindingType]] = [*tab_bindings(), Binding("ctrl+r", "reload", "Reload")]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self.screen_name = "administration"

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        with TabbedContent(id="admin"):
            with TabPane("Users", id="tab-users"):
                yield UsersPane(self.ctx, id="users-pane")
            with TabPane("Products", id="tab-products"):
                yield ProductsPane(self.ctx, id="products-pane")
            with TabPane("SMS templates", id="tab-templates"):
                yield TemplatesPane(self.ctx, id="templates-pane")
            with TabPane("SMS outbox", id="tab-sms"):
                yield OutboxPane(self.ctx, id="sms-pane")
            with TabPane("Audit log", id="tab-audit"):
                yield AuditPane(self.ctx, id="audit-pane")
            with TabPane("Backup", id="tab-backup"):
                yield BackupPane(self.ctx, id="backup-pane")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#users").focus()

    @on(TabbedContent.TabActivated, "#admin")
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        # From the keyboard the tab bar keeps the cursor (so ←/→ go on along it); a click goes into the pane.
        if not self.query_one("#admin", TabbedContent).query_one("Tabs").has_focus:
            self.focus_pane(event.pane.id or "")

    def action_next_tab(self, step: int) -> None:
        self._show_tab(tab_beside(self.query_one("#admin", TabbedContent), step))

    def _show_tab(self, tab: str | None) -> None:
        """Open a tab from the keyboard and put the cursor in its pane, so the pane's keys work at once."""
        if tab is None:
            return
        self.query_one("#admin", TabbedContent).active = tab
        self.focus_pane(tab)

    def focus_pane(self, pane_id: str) -> None:
        selector = PANES.get(pane_id)
        if selector:
            self.query_one(selector).focus()

    def action_reload(self) -> None:
        active = self.query_one("#admin", TabbedContent).active
        if active == "tab-users":
            self.query_one(UsersPane).load()
        elif active == "tab-products":
            self.query_one(ProductsPane).load()
        elif active == "tab-templates":
            self.query_one(TemplatesPane).load()
        elif active == "tab-sms":
            self.query_one(OutboxPane).load()
        elif active == "tab-audit":
            self.query_one(AuditPane).load()
        else:
            self.query_one(BackupPane).action_list()
