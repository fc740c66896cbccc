"""Portfolio reports: PAR1/PAR30/PAR90 today and at each month end as a chart, arrears aging, and the
monthly financial summary (refreshed on demand), each exportable to CSV. Every read goes through the one
database path (screens.data): a lost connection shows the banner and the reads run again by themselves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Checkbox, DataTable, Header, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from db.repositories.branch_scope import BranchOption, BranchScopeRepository
from db.repositories.portfolio import PortfolioRepository
from db.repositories.reports import AgingBucket, MonthSummary, ParFigures, ReportRepository
from screens.back_office import refusal, right, table_filled
from screens.context import ScreenContext
from screens.data import DataScreen
from screens.export import export_csv
from screens.penalty_report import PenaltyPane
from screens.reschedule_report import ReschedulePane
from widgets.branch_picker import BranchPicker
from widgets.dates import format_date
from widgets.footer import KeysFooter
from widgets.money import format_money
from widgets.status import ConnectionBanner, StatusLine

TREND_MONTHS = 12
TREND_NOTE = ("Past months: PAR at each month end, computed from today's payment records "
              "(a payment made after a month end counts as made by then).")
BUCKET_TITLES = {"current": "Current", "1-30": "1–30 days", "31-60": "31–60 days", "61-90": "61–90 days",
                 "91-180": "91–180 days", "over 180": "Over 180 days"}
# Roles that may rebuild the monthly summary (its refresh function's grants).
SUMMARY_REFRESHERS = ("supervisor", "accountant")


def percent(value: Decimal) -> str:
    return f"{value:.2f} %"


class ReportsScreen(DataScreen):
    CSS_PATH = "reports.tcss"
    SUB_TITLE = "Reports"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reload", "Reload"),
        Binding("ctrl+e", "export", "Export CSV", priority=True),
        Binding("ctrl+u", "refresh_summary", "Recompute summary"),
    ]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self.screen_name = "reports"
        self.today: date = context.today()
        self.par: ParFigures | None = None
        self.trend: list[ParFigures] = []
        self.aging: list[AgingBucket] = []
        self.months: list[MonthSummary] = []
        self.may_refresh = context.actor.role in SUMMARY_REFRESHERS
        # The staff member's own branch with those below: their whole scope, the consolidated figures at the
        # head office.
        self.branch_id: int | None = context.actor.branch_id
        self.with_children = True
        self.branches: list[BranchOption] = []
        self.officer_view = context.actor.role == "loan_officer"

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield BranchPicker(self.branch_id, self.with_children, id="branch")
        with TabbedContent(id="reports"):
            with TabPane("Portfolio at risk", id="tab-par"):
                yield StatusLine("Loading portfolio at risk…", id="par-figures")
                yield PlotextPlot(id="par-chart")
                yield Static(TREND_NOTE, id="par-note")
            with TabPane("Arrears aging", id="tab-aging"):
                if self.officer_view:
                    yield Checkbox("my loans only", False, compact=True, id="aging-mine")
                yield StatusLine("Loading arrears…", id="aging-status", classes="status")
                yield DataTable(id="aging", cursor_type="row", zebra_stripes=True)
            with TabPane("Monthly summary", id="tab-monthly"):
                yield StatusLine("Loading the monthly summary…", id="monthly-status", classes="status")
                yield DataTable(id="monthly", cursor_type="row", zebra_stripes=True)
            with TabPane("Penalties", id="tab-penalties"):
                yield PenaltyPane(id="penalties")
            with TabPane("Reschedules", id="tab-reschedules"):
                yield ReschedulePane(self.ctx, id="reschedules")
        yield StatusLine("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#aging", DataTable).add_columns("Days past due", "Loans", "Principal owed", "Share")
        self.query_one("#monthly", DataTable).add_columns("Month", "Disbursed", "Principal", "Interest",
                                                          "Penalty", "New", "Closed", "Active")
        scope = BranchScopeRepository(self.ctx.engine, self.ctx.actor)
        # A background fill: nothing typed waits for the list of branches.
        self.start("branches", scope.visible_branches, on_done=self._show_branches, on_failed=self._failed("#status"),
                   working=None, hold=None)
        self.load()

    def _show_branches(self, branches: Sequence[BranchOption]) -> None:
        self.branches = list(branches)
        self.query_one("#branch", BranchPicker).set_branches((b.label, b.id) for b in self.branches)

    @on(BranchPicker.Changed, "#branch")
    def _branch_changed(self, event: BranchPicker.Changed) -> None:
        self.branch_id, self.with_children = event.branch_id, event.with_children
        self.load()

    @on(Checkbox.Changed, "#aging-mine")
    def _mine_changed(self) -> None:
        self.load_aging()

    def _only_mine(self) -> int | None:
        boxes = self.query("#aging-mine")
        return self.ctx.actor.user_id if boxes and self.query_one("#aging-mine", Checkbox).value else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "refresh_summary":
            return self.may_refresh and self.query_one("#reports", TabbedContent).active == "tab-monthly"
        return True

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    def _failed(self, widget_id: str) -> Any:
        def show(error: BaseException) -> None:
            self.query_one(widget_id, StatusLine).say(refusal(error), kind="error")
        return show

    def load(self) -> None:
        """Every report for the branch chosen, each a read that runs again by itself after a lost connection."""
        ctx, today, branch, below = self.ctx, self.today, self.branch_id, self.with_children
        portfolio = PortfolioRepository(ctx.engine, ctx.actor)
        self.start("par", lambda: portfolio.par_trend(today, TREND_MONTHS, branch_id=branch, with_children=below),
                   on_done=self._show_par, on_failed=self._failed("#par-figures"), working=None)
        self.load_aging()
        self.start("monthly",
                   lambda: portfolio.monthly_summary(today, TREND_MONTHS, branch_id=branch, with_children=below),
                   on_done=self._show_months, on_failed=self._failed("#monthly-status"), working=None)
        self.query_one("#penalties", PenaltyPane).load(ctx)
        self.query_one(ReschedulePane).load()

    def load_aging(self) -> None:
        reports = ReportRepository(self.ctx.engine, self.ctx.actor)
        today, branch, below, officer = self.today, self.branch_id, self.with_children, self._only_mine()
        self.start("aging", lambda: reports.aging(today, branch_id=branch, with_children=below, officer_id=officer),
                   on_done=self._show_aging, on_failed=self._failed("#aging-status"), working=None)

    # --- PAR -----------------------------------------------------------------------------------------------

    def _show_par(self, trend: Sequence[ParFigures]) -> None:
        self.trend = list(trend)
        self.par = self.trend[-1]
        par = self.par
        figures = self.query_one("#par-figures", StatusLine)
        figures.set_classes("")
        figures.update(f"[b]PAR1[/b] {percent(par.par1)}   [b]PAR30[/b] {percent(par.par30)}   "
                       f"[b]PAR90[/b] {percent(par.par90)}   [dim]on {format_date(par.as_of)}[/dim]")
        chart = self.query_one("#par-chart", PlotextPlot)
        plt = chart.plt
        plt.clear_data()
        plt.clear_figure()
        xs = [float(i) for i in range(1, len(self.trend) + 1)]
        # Percentages for drawing only; no money goes through a float.
        for label, values in (("PAR1", [float(p.par1) for p in self.trend]),
                              ("PAR30", [float(p.par30) for p in self.trend]),
                              ("PAR90", [float(p.par90) for p in self.trend])):
            plt.plot(xs, values, label=label, marker="braille")
        last = len(self.trend) - 1
        labels: list[Any] = [p.as_of.strftime("%b") if (last - i) % 2 == 0 else "" for i, p in enumerate(self.trend)]
        plt.xticks(xs, labels)
        plt.ylim(0, max(10.0, max((float(p.par1) for p in self.trend), default=0.0) * 1.15))
        plt.title(f"PAR % at month ends, {self.trend[0].as_of:%b %Y} – {format_date(par.as_of)}")
        chart.refresh()

    # --- aging ---------------------------------------------------------------------------------------------

    def _show_aging(self, buckets: Sequence[AgingBucket]) -> None:
        self.aging = list(buckets)
        table = self.query_one("#aging", DataTable)
        table.clear()
        table_filled(table)
        total = sum((b.outstanding_principal for b in self.aging), Decimal("0.00"))
        for bucket in self.aging:
            share = (bucket.outstanding_principal * 100 / total).quantize(Decimal("0.01")) if total else Decimal(0)
            table.add_row(BUCKET_TITLES.get(bucket.label, bucket.label), right(f"{bucket.loans:,}", 6),
                          right(format_money(bucket.outstanding_principal), 16), right(percent(share), 9))
        loans = sum(b.loans for b in self.aging)
        table.add_row(Text("Total", style="bold"), Text(right(f"{loans:,}", 6), style="bold"),
                      Text(right(format_money(total), 16), style="bold"), "")
        whose = "My active and defaulted loans" if self._only_mine() else "Active and defaulted loans"
        self.query_one("#aging-status", StatusLine).say(
            f"{whose} by days past due on {format_date(self.today)}.")

    # --- monthly summary -------------------------------------------------------------------------------------

    def _show_months(self, months: Sequence[MonthSummary]) -> None:
        self.months = list(months)
        table = self.query_one("#monthly", DataTable)
        table.clear()
        table_filled(table)
        for m in self.months:
            table.add_row(m.month.strftime("%b %Y"), *(right(format_money(v), 9) for v in
                                                       (m.disbursed, m.principal_collected, m.interest_collected,
                                                        m.penalties_collected)),
                          *(right(f"{n:,}", w) for n, w in ((m.new_loans, 3), (m.loans_closed, 6),
                                                            (m.active_loans_at_month_end, 6))))
        how = "; ctrl+u recomputes it" if self.may_refresh else ""
        self.query_one("#monthly-status", StatusLine).say(
            f"{len(self.months)} months, as last computed (nightly maintenance){how}."
            if self.months else f"No months computed yet{how}.")

    def action_refresh_summary(self) -> None:
        if not self.may_refresh:
            return
        reports = ReportRepository(self.ctx.engine, self.ctx.actor)
        portfolio = PortfolioRepository(self.ctx.engine, self.ctx.actor)
        today, branch, below = self.today, self.branch_id, self.with_children
        self.query_one("#monthly-status", StatusLine).say("Recomputing the monthly summary…")

        def work() -> list[MonthSummary]:
            reports.refresh_monthly_summary()
            return portfolio.monthly_summary(today, TREND_MONTHS, branch_id=branch, with_children=below)

        # Rebuilding the summary gives the same figures however often it runs: it runs again by itself.
        self.start("monthly", work, on_done=self._show_months, on_failed=self._failed("#monthly-status"),
                   working=None)

    # --- reload, export ------------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.load()

    def action_export(self) -> None:
        """The tab in front as CSV: column titles and buckets in words, days in ISO, figures as numbers."""
        tab = self.query_one("#reports", TabbedContent).active
        try:
            if tab == "tab-par":
                path = export_csv(f"par_trend_{self.today.isoformat()}", ["As of", "PAR1 %", "PAR30 %", "PAR90 %"],
                                  [(p.as_of, p.par1, p.par30, p.par90) for p in self.trend])
            elif tab == "tab-reschedules":
                path = self.query_one(ReschedulePane).written_to(f"reschedules_{self.today.isoformat()}")
            elif tab == "tab-aging":
                path = export_csv(f"arrears_aging_{self.today.isoformat()}",
                                  ["Days past due", "Loans", "Principal owed"],
                                  [(BUCKET_TITLES.get(b.label, b.label), b.loans, b.outstanding_principal)
                                   for b in self.aging])
            elif tab == "tab-penalties":
                path = self.query_one("#penalties", PenaltyPane).written_to(f"penalties_{self.today.isoformat()}")
            else:
                path = export_csv(f"monthly_summary_{self.today.isoformat()}",
                                  ["Month", "Disbursed", "Principal collected", "Interest collected",
                                   "Penalties collected", "New loans", "Loans closed", "Active loans at month end"],
                                  [(m.month, m.disbursed, m.principal_collected, m.interest_collected,
                                    m.penalties_collected, m.new_loans, m.loans_closed, m.active_loans_at_month_end)
                                   for m in self.months])
        except OSError as exc:
            self.notify(escape(f"Nothing exported: {exc.strerror or exc}"), severity="error")
            return
        self.notify(escape(f"Exported to {path}"), title="CSV written")
