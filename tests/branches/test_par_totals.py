"""PAR from running totals (0026): whatever happens to the loans (payments, a reversal, a transfer, reschedules,
penalties, a write-off, defaults), the totals and the changes not yet folded add up to the loans, and PAR from them
is PAR computed from the loans themselves, for every scope, threshold and date; a fold and a rebuild change nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine, text

from tests.branches.book import TODAY, Book, Branch, _one

THRESHOLDS = (0, 1, 30, 90)
DATES = (TODAY, TODAY - timedelta(days=40), TODAY + timedelta(days=30))


def _from_loans(engine: Engine, branches: set[int], days: int, as_of: date) -> Decimal:
    """PAR as 0014 defined it, over the loans themselves, as the owner."""
    with engine.connect() as conn:
        total, at_risk = conn.execute(text(
            "SELECT sum(principal_outstanding), "
            "       sum(principal_outstanding) FILTER (WHERE oldest_unpaid_due_date < CAST(:d AS date) - :n) "
            "FROM loans WHERE status IN ('active', 'defaulted') AND branch_id = ANY (:b)"),
            {"d": as_of, "n": days, "b": sorted(branches)}).one()
    if not total:
        return Decimal("0")
    return round(100 * (at_risk or 0) / total, 2)


def _scopes(book: Book) -> dict[str, tuple[Branch, set[int]]]:
    every = {b.id for b in book.branches}
    return {"HQ": (book.hq, every), "NRB01": (book.nrb, {book.nrb.id, book.nrb2.id}),
            "NRB02": (book.nrb2, {book.nrb2.id}), "MSA01": (book.msa, {book.msa.id})}


def _assert_par_matches_the_loans(engine: Engine, app_engine: Engine, book: Book) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("SELECT * FROM loan_arrears_drift()")).all() == []
    for code, (branch, scope) in _scopes(book).items():
        supervisor = branch.staff["supervisor"]
        for days in THRESHOLDS:
            for as_of in DATES:
                expected = _from_loans(engine, scope, days, as_of)
                # The caller's own scope, and the branch asked for by id (with the branches under it).
                assert _one(app_engine, supervisor, "SELECT calculate_par(:n, :d)", n=days, d=as_of) == expected, \
                    (code, days, as_of)
                assert _one(app_engine, supervisor, "SELECT calculate_par(:n, :d, :b)", n=days, d=as_of,
                            b=branch.id) == expected, (code, days, as_of)


def test_par_from_the_running_totals_is_par_from_the_loans(engine: Engine, app_engine: Engine, book: Book) -> None:
    with engine.connect() as conn:
        at_risk = conn.execute(text("SELECT count(*) FROM loans WHERE status IN ('active', 'defaulted') "
                                    "AND oldest_unpaid_due_date < :d"), {"d": TODAY - timedelta(days=30)}).scalar()
    assert at_risk, "the book has no loan in arrears past 30 days: the comparison would prove little"
    _assert_par_matches_the_loans(engine, app_engine, book)

    # A reversal in NRB01, a write-off in MSA01, the defaults run at head office.
    nrb, msa, hq = book.nrb.staff["supervisor"], book.msa.staff["supervisor"], book.hq.staff["supervisor"]
    _one(app_engine, nrb, "SELECT reverse_transaction(:t, :me, 'Keyed against the wrong loan')",
         t=book.nrb.payment, me=nrb.user_id)
    _one(app_engine, msa, "SELECT write_off_loan(:l, :me, 'Left the country', :d)", l=book.msa.loan,
         me=msa.user_id, d=TODAY)
    _one(app_engine, hq, "SELECT mark_defaulted_loans(30, :me, :d)", me=hq.user_id, d=TODAY)
    _assert_par_matches_the_loans(engine, app_engine, book)

    # The maintenance job's fold moves every change into the totals; PAR stays what it was.
    with engine.begin() as conn:
        assert conn.execute(text("SELECT loan_arrears_fold()")).scalar_one() > 0
        assert conn.execute(text("SELECT count(*) FROM loan_arrears_changes")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM loan_arrears_totals WHERE loans = 0")).scalar_one() == 0
    _assert_par_matches_the_loans(engine, app_engine, book)
    # A payment after the fold is a change again, read beside the totals.
    cashier = book.nrb2.staff["cashier"]
    _one(app_engine, cashier, "SELECT record_loan_payment(:l, 700, :d, :me, 'after-fold')", l=book.nrb2.loan,
         d=TODAY, me=cashier.user_id)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM loan_arrears_changes")).scalar_one() >= 1
    _assert_par_matches_the_loans(engine, app_engine, book)

    # Rebuilt from the loans, the same.
    with engine.begin() as conn:
        conn.execute(text("SELECT loan_arrears_rebuild()"))
    _assert_par_matches_the_loans(engine, app_engine, book)

