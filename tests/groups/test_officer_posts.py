"""The loan officer posts the meeting's sheet from the field (issue #21): as the poster of every repayment, the cash
into their own field till session where the branch requires tills (opened with no float, counted when they hand the
cash in), refused before anything is written without one, and without any session where tills are not required. A
loan officer still records no ordinary payment at the counter."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from db.errors import AstrofinError
from db.repositories.groups import CollectionSheetRepository, SheetEntry
from db.repositories.tills import TillRepository
from tests.groups.book import TODAY, GroupBook, one
from tests.groups.refuse import refused
from tests.reliability.faultlib import ledger_problems

POST = "SELECT post_collection_sheet(:g, :d, CAST(:l AS jsonb), :me, :k)"


def _lines(*rows: tuple[int, str]) -> str:
    return json.dumps([{"loan_id": loan, "amount": amount, "attended": True} for loan, amount in rows])


def _written(owner: Engine) -> tuple[Any, ...]:
    with owner.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT (SELECT count(*) FROM collection_sheets), (SELECT count(*) FROM collection_sheet_lines), "
            "(SELECT count(*) FROM transactions), (SELECT count(*) FROM journal_entries), "
            "(SELECT coalesce(sum(total_paid), 0) FROM payment_schedules), (SELECT count(*) FROM audit_logs)")).one())


def test_the_loan_officer_posts_into_a_field_session_and_hands_the_cash_in(book: GroupBook) -> None:
    nrb = book.nrb
    officer, officer2, supervisor = nrb.staff["officer"], nrb.staff["officer2"], nrb.staff["supervisor"]
    lines = _lines(*[(loan, "1500.00") for loan in nrb.loans])
    # No session yet in a branch that requires tills: refused with what to do, nothing written.
    before = _written(book.owner)
    state, _, message = refused(book.app, officer, POST, g=nrb.group, d=TODAY, l=lines, k="field")
    assert state == "P0110" and "open a till session first (o on the home screen)" in message, message
    assert _written(book.owner) == before
    # A field session on a till of the branch, with no float from the vault.
    till = one(book.app, supervisor, "SELECT create_till('F1', 'Field', :me)", me=supervisor.user_id)
    session = one(book.app, officer, "SELECT open_till(:t, 0, :me)", t=till, me=officer.user_id)
    vault = one(book.app, supervisor, "SELECT till_vault_balance(:b)", b=nrb.id)
    sheet = one(book.app, officer, POST, g=nrb.group, d=TODAY, l=lines, k="field", me=officer.user_id)
    with book.owner.connect() as conn:
        posted = conn.execute(text("SELECT collected_by, posted_by, total FROM collection_sheets WHERE id = :s"),
                              {"s": sheet}).one()
        txns = conn.execute(text(
            "SELECT t.created_by, t.till_session_id, t.payment_method FROM collection_sheet_lines l "
            "JOIN transactions t ON t.id = l.transaction_id WHERE l.sheet_id = :s"), {"s": sheet}).all()
    assert tuple(posted) == (officer.user_id, officer.user_id, Decimal("6000.00"))
    assert sorted(map(tuple, txns)) == [(officer.user_id, session, "cash")] * 4
    cash = one(book.app, officer, "SELECT cash_in FROM till_session_cash(:s)", s=session)
    assert cash == Decimal("6000.00")
    # Another loan officer of the branch posts the center's meeting (attendance only: no cash, no session needed);
    # the group's officer stays the collector.
    center = one(book.app, officer2, POST, g=nrb.center, d=TODAY,
                 l=_lines(*[(loan, "0") for loan in nrb.sub_loans]), k="center", me=officer2.user_id)
    with book.owner.connect() as conn:
        assert tuple(conn.execute(text("SELECT collected_by, posted_by FROM collection_sheets WHERE id = :s"),
                                  {"s": center}).one()) == (officer.user_id, officer2.user_id)
    # Back at the branch: another officer may not count it; the officer counts what the sheet took in, and the cash
    # goes back to the vault.
    assert refused(book.app, officer2, "SELECT close_till(:s, 6000, NULL, :me)", s=session)[0] == "P0106"
    # (Through the repository the close screen and the till sheet use, as the officer.)
    tills = TillRepository(book.app, officer)
    assert tills.close(session, Decimal("6000.00"), None).status == "closed"
    assert [line.kind for line in tills.sheet(session).lines] == ["float"] + ["receipt"] * 4 + ["return"]
    with book.owner.connect() as conn:
        closed = conn.execute(text("SELECT expected_cash, counted_cash, difference FROM till_sessions WHERE id = :s"),
                              {"s": session}).one()
    assert tuple(closed) == (Decimal("6000.00"), Decimal("6000.00"), Decimal("0.00"))
    assert one(book.app, supervisor, "SELECT till_vault_balance(:b)", b=nrb.id) == vault + Decimal("6000.00")
    assert ledger_problems(book.owner) == []


def test_a_count_that_differs_waits_for_a_supervisor(book: GroupBook) -> None:
    nrb = book.nrb
    officer, supervisor = nrb.staff["officer"], nrb.staff["supervisor"]
    till = one(book.app, supervisor, "SELECT create_till('F1', 'Field', :me)", me=supervisor.user_id)
    session = one(book.app, officer, "SELECT open_till(:t, 0, :me)", t=till, me=officer.user_id)
    one(book.app, officer, POST, g=nrb.group, d=TODAY, l=_lines((nrb.loans[0], "1000")), k="f", me=officer.user_id)
    assert one(book.app, officer, "SELECT close_till(:s, 990, 'A note torn at the meeting', :me)", s=session,
               me=officer.user_id) == "pending_approval"
    assert refused(book.app, officer, "SELECT approve_till_close(:s, :me)", s=session)[0] == "42501"
    one(book.app, supervisor, "SELECT approve_till_close(:s, :me)", s=session, me=supervisor.user_id)
    assert ledger_problems(book.owner) == []


def test_without_tills_the_officer_posts_with_no_session_and_records_no_counter_payment(book: GroupBook) -> None:
    msa = book.msa
    officer = msa.staff["officer"]
    sheet = one(book.app, officer, POST, g=msa.group, d=TODAY, l=_lines((msa.loans[0], "1000")), k="m",
                me=officer.user_id)
    with book.owner.connect() as conn:
        txn = conn.execute(text("SELECT t.created_by, t.till_session_id, t.amount FROM collection_sheet_lines l "
                                "JOIN transactions t ON t.id = l.transaction_id WHERE l.sheet_id = :s"),
                           {"s": sheet}).one()
    assert tuple(txn) == (officer.user_id, None, Decimal("1000.00"))
    # The counter stays closed to a loan officer: no EXECUTE on the counter's payment nor on the sheet's posting inside.
    before = _written(book.owner)
    assert refused(book.app, officer, "SELECT record_loan_payment(:l, 10, :d, :me)", l=msa.loans[0], d=TODAY)[0] \
        == "42501"
    assert refused(book.app, officer, "SELECT ledger_take_repayment(:l, 10, :d, :me, NULL, 'cash', NULL)",
                   l=msa.loans[0], d=TODAY)[0] == "42501"
    # And the database's own check of the actor refuses them even where EXECUTE is not the question (the owner's
    # connection, naming the officer).
    with book.owner.connect() as conn:
        try:
            conn.execute(text("SELECT record_loan_payment(:l, 10, :d, :me)"),
                         {"l": msa.loans[0], "d": TODAY, "me": officer.user_id})
            state = "ok"
        except DBAPIError as exc:
            state = getattr(exc.orig, "sqlstate", None) or "?"
            conn.rollback()
    assert state == "P0106"
    assert _written(book.owner) == before


def test_through_the_repository_the_officer_is_told_to_open_a_till_session(book: GroupBook) -> None:
    """What the sheet screen shows the officer on its command line: the database's sentence, nothing written."""
    nrb = book.nrb
    sheets = CollectionSheetRepository(book.app, nrb.staff["officer"])
    entries = [SheetEntry(line.loan_id, line.due, True) for line in sheets.load(nrb.group, TODAY).lines]
    before = _written(book.owner)
    with pytest.raises(AstrofinError) as info:
        sheets.post(nrb.group, TODAY, entries, "from-the-field")
    assert "open a till session first (o on the home screen)" in str(info.value)
    assert _written(book.owner) == before
