"""Reports, the books and the overdue queue by branch: one branch alone, with the branches below it, and the
head office's consolidated figures, which are the sum of its branches'. See branch_book for the loans."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from db.engine import Actor
from db.repositories.accounting import AccountingRepository
from db.repositories.auth import authenticate
from db.repositories.branch_scope import BranchScopeRepository
from db.repositories.customers import CustomerRepository
from db.repositories.dashboard import day_at_a_glance
from db.repositories.portfolio import PortfolioRepository
from db.repositories.reports import ReportRepository
from tests.repositories.branch_book import BranchBook, make_branch_book

TODAY = date.today()
ZERO = Decimal("0.00")


@pytest.fixture
def book(engine: Engine, actors: dict[str, Actor]) -> BranchBook:
    return make_branch_book(engine, actors, TODAY)


def _scopes(book: BranchBook) -> dict[str, tuple[int | None, bool, set[str]]]:
    """Name → (branch, with the branches below, the loans it covers)."""
    b = book.branches
    return {
        "all": (None, True, {"nrb_late", "nrb_fresh", "wst_late", "msa_late"}),
        "hq": (b["HQ"], True, {"nrb_late", "nrb_fresh", "wst_late", "msa_late"}),
        "hq alone": (b["HQ"], False, set()),
        "nairobi": (b["NRB01"], True, {"nrb_late", "nrb_fresh", "wst_late"}),
        "nairobi alone": (b["NRB01"], False, {"nrb_late", "nrb_fresh"}),
        "westlands": (b["NRB02"], True, {"wst_late"}),
        "mombasa": (b["MSA01"], False, {"msa_late"}),
    }


def _expected_par(engine: Engine, ids: set[int], days: int) -> Decimal:
    """PAR by its definition, from the loans' own summary columns (as the superuser)."""
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT principal_outstanding, oldest_unpaid_due_date FROM loans
            WHERE id = ANY(:ids) AND status IN ('active', 'defaulted')
        """), {"ids": list(ids)}).all()
    total = sum((r.principal_outstanding for r in rows), ZERO)
    late = sum((r.principal_outstanding for r in rows
                if r.oldest_unpaid_due_date is not None and (TODAY - r.oldest_unpaid_due_date).days > days), ZERO)
    return (100 * late / total).quantize(Decimal("0.01")) if total else ZERO


def test_the_loans_land_in_their_customers_branches(engine: Engine, book: BranchBook) -> None:
    with engine.connect() as conn:
        for name, loan in book.loans.items():
            branch = conn.execute(text("SELECT branch_id FROM loans WHERE id = :id"), {"id": loan.id}).scalar_one()
            assert branch == book.branches[book.branch_of[name]], name


def test_par_aging_and_summary_by_branch(engine: Engine, actors: dict[str, Actor], book: BranchBook) -> None:
    reports = ReportRepository(engine, actors["supervisor"])
    portfolio = PortfolioRepository(engine, actors["supervisor"])
    reports.refresh_monthly_summary()
    for name, (branch, below, covered) in _scopes(book).items():
        ids = {book.loans[n].id for n in covered}
        par = reports.par(TODAY, branch_id=branch, with_children=below)
        assert (par.par1, par.par30) == (_expected_par(engine, ids, 1), _expected_par(engine, ids, 30)), name
        trend = portfolio.par_trend(TODAY, 3, branch_id=branch, with_children=below)
        assert trend[-1] == par, name
        aging = reports.aging(TODAY, branch_id=branch, with_children=below)
        assert sum(b.loans for b in aging) == len(covered), name
        months = reports.monthly_summary(12, branch_id=branch, with_children=below)
        assert sum((m.disbursed for m in months), ZERO) == sum(
            (book.loans[n].terms.principal for n in covered), ZERO), name
        assert portfolio.monthly_summary(TODAY, 12, branch_id=branch, with_children=below) == months, name
    # The head office's consolidated figures are its branches' put together.
    b = book.branches
    hq = reports.aging(TODAY, branch_id=b["HQ"])
    parts = [reports.aging(TODAY, branch_id=b["NRB01"]), reports.aging(TODAY, branch_id=b["MSA01"])]
    for index, bucket in enumerate(hq):
        assert bucket.loans == sum(p[index].loans for p in parts)
        assert bucket.outstanding_principal == sum((p[index].outstanding_principal for p in parts), ZERO)


def test_a_branch_sees_its_own_and_those_below(engine: Engine, actors: dict[str, Actor], book: BranchBook) -> None:
    officer = book.officers["NRB01"]
    reports = ReportRepository(engine, officer)
    mine = reports.aging(TODAY)
    assert sum(b.loans for b in mine) == 3  # row-level security: Nairobi and Westlands, never Mombasa
    assert reports.par(TODAY) == reports.par(TODAY, branch_id=book.branches["NRB01"])
    options = BranchScopeRepository(engine, officer).visible_branches()
    assert [(o.code, o.depth) for o in options] == [("NRB01", 0), ("NRB02", 1)]
    everything = BranchScopeRepository(engine, actors["supervisor"]).visible_branches()
    assert [(o.code, o.depth) for o in everything] == [("HQ", 0), ("MSA01", 1), ("NRB01", 1), ("NRB02", 2)]
    assert everything[3].label == "    NRB02 Westlands"


def test_trial_balance_and_journal_by_branch(engine: Engine, actors: dict[str, Actor], book: BranchBook) -> None:
    books = AccountingRepository(engine, actors["accountant"])
    portfolio: dict[str, Decimal] = {}
    for name, (branch, below, covered) in _scopes(book).items():
        trial = books.trial_balance(TODAY, branch_id=branch, with_children=below)
        assert trial.balances, name
        by_code = {a.account_code: a for a in trial.accounts}
        portfolio[name] = by_code["1200"].debit - by_code["1200"].credit
        # Each disbursement debits the loan portfolio with the principal; repayments: none in this book.
        assert portfolio[name] == sum((book.loans[n].terms.principal for n in covered), ZERO), name
        entries = books.journal(TODAY.replace(year=TODAY.year - 1), TODAY, branch_id=branch, with_children=below)
        assert len(entries) == len(covered), name
        daily = books.daily_transactions(TODAY.replace(year=TODAY.year - 1), TODAY, branch_id=branch,
                                         with_children=below)
        assert sum(d.count for d in daily) == len(covered), name
    assert portfolio["hq"] == portfolio["nairobi"] + portfolio["mombasa"] == portfolio["all"]
    assert portfolio["nairobi"] == portfolio["nairobi alone"] + portfolio["westlands"]


def test_overdue_queue_by_branch_and_mine(engine: Engine, actors: dict[str, Actor], book: BranchBook) -> None:
    b = book.branches
    numbers = {name: loan.loan_number for name, loan in book.loans.items()}
    supervisor = ReportRepository(engine, actors["supervisor"])
    everyone = supervisor.overdue_queue(TODAY, branch_id=b["HQ"])
    assert [r.loan_number for r in everyone.rows] == [numbers["msa_late"], numbers["wst_late"], numbers["nrb_late"]]
    assert supervisor.overdue_queue(TODAY).rows == everyone.rows
    nairobi = supervisor.overdue_queue(TODAY, branch_id=b["NRB01"])
    assert [r.loan_number for r in nairobi.rows] == [numbers["wst_late"], numbers["nrb_late"]]
    alone = supervisor.overdue_queue(TODAY, branch_id=b["NRB01"], with_children=False)
    assert [r.loan_number for r in alone.rows] == [numbers["nrb_late"]]
    # Paged by keyset within a branch.
    first = supervisor.overdue_queue(TODAY, branch_id=b["NRB01"], limit=1)
    second = supervisor.overdue_queue(TODAY, branch_id=b["NRB01"], limit=1, after=first.rows[0])
    assert first.more and not second.more and [first.rows[0], second.rows[0]] == list(nairobi.rows)
    assert [r.loan_number for r in supervisor.overdue_queue(TODAY, branch_id=b["NRB01"], bucket="31-60").rows] == [
        numbers["wst_late"]]

    # A loan officer: their own loans only, or theirs first; never another branch's.
    officer = book.officers["NRB01"]
    reports = ReportRepository(engine, officer)
    assert [r.loan_number for r in reports.overdue_queue(TODAY, officer_id=officer.user_id).rows] == [
        numbers["nrb_late"]]
    first_mine = reports.overdue_queue(TODAY, officer_first=True)
    assert [r.loan_number for r in first_mine.rows] == [numbers["nrb_late"], numbers["wst_late"]]
    assert reports.overdue_queue(TODAY, branch_id=b["MSA01"]).rows == ()
    aging = reports.aging(TODAY, officer_id=officer.user_id)
    assert sum(a.loans for a in aging) == 2  # the late and the fresh loan of Nairobi

    # The customer lookup keeps to the officer's own clients when asked.
    lookup = CustomerRepository(engine, officer)
    assert {r.full_name for r in lookup.search("La").rows} == {"Nrb Late", "Wst Late"}
    assert {r.full_name for r in lookup.search("La", mine=True).rows} == {"Nrb Late"}


def test_sign_in_names_the_branch_and_home_counts_it(engine: Engine, actors: dict[str, Actor],
                                                     book: BranchBook) -> None:
    actor = authenticate(engine, "officer.nrb", "officer-demo")
    assert (actor.branch_id, actor.branch_code, actor.branch_name) == (book.branches["NRB01"], "NRB01", "Nairobi")
    assert actor.branch_label == "NRB01 Nairobi"
    glance = day_at_a_glance(engine, actor, TODAY)
    assert glance.branches == 2
    figures = {f.label: f.value for f in glance.figures}
    assert figures["My active loans"] == 2
    head = authenticate(engine, "supervisor", "supervisor-demo")
    assert (head.branch_code, head.branch_name) == ("HQ", "Head Office")
    assert day_at_a_glance(engine, head, TODAY).branches == 4
