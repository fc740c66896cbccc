"""post_collection_sheet: each bad line refused naming its row with nothing written, a bad line in the middle of a
good sheet leaves nothing, the same sheet twice posts once, the books balance after, another branch's group refused."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from db.engine import Actor
from tests.groups.book import ANCHOR, TODAY, GroupBook, one
from tests.groups.refuse import refused
from tests.reliability.faultlib import ledger_problems

POST = "SELECT post_collection_sheet(:g, :d, CAST(:l AS jsonb), :me, :k)"


def _everything(owner: Engine) -> tuple[Any, ...]:
    """What a posting writes: sheets, lines, repayments, journal entries, paid installments, audit rows."""
    with owner.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT (SELECT count(*) FROM collection_sheets), (SELECT count(*) FROM collection_sheet_lines), "
            "(SELECT count(*) FROM transactions WHERE transaction_type = 'repayment'), "
            "(SELECT count(*) FROM journal_entries), (SELECT coalesce(sum(total_paid), 0) FROM payment_schedules), "
            "(SELECT count(*) FROM audit_logs)")).one())


def _lines(*rows: tuple[Any, Any]) -> str:
    return json.dumps([{"loan_id": loan, "amount": amount, "attended": True} for loan, amount in rows])


def test_every_bad_line_is_refused_on_its_row_and_nothing_is_written(book: GroupBook) -> None:
    nrb = book.nrb
    cashier = nrb.staff["cashier"]
    with book.owner.connect() as conn:
        numbers = dict(conn.execute(text("SELECT id, loan_number FROM loans WHERE id = ANY(:l)"),
                                    {"l": nrb.loans + nrb.sub_loans}).all())
    a, b, c, d = nrb.loans
    good = [(a, "1000.00"), (b, "500"), (c, 0), (d, "4000")]
    before = _everything(book.owner)

    def row_refused(rows: list[tuple[Any, Any]], loan: int, words: str) -> None:
        state, column, message = refused(book.app, cashier, POST, g=nrb.group, d=TODAY, l=_lines(*rows), k="x")
        assert (state, column) == ("P0131", numbers[loan]), message
        assert message.startswith(numbers[loan] + ": ") and words in message, message

    # A bad line in the middle of good ones each time: refused, naming that row.
    row_refused([good[0], (b, "-5"), *good[2:]], b, "cannot be negative")
    row_refused([good[0], (b, "10.005"), *good[2:]], b, "more than two decimals")
    row_refused([good[0], (b, "abc"), *good[2:]], b, "abc is not an amount")
    row_refused([good[0], (b, "4000.01"), *good[2:]], b, "more than the loan owes (4,000.00)")
    row_refused([good[0], (b, "9" * 40), *good[2:]], b, "too large")
    row_refused([*good[:2], (b, "1"), good[3]], b, "on the sheet twice")
    row_refused([*good[:2], (nrb.sub_loans[0], "1"), good[3]], nrb.sub_loans[0], "not an active loan of G-")
    state, column, _ = refused(book.app, cashier, POST, g=nrb.group, d=TODAY, k="x",
                               l=json.dumps([{"loan_id": a, "amount": "1", "attended": "yes"}]))
    assert (state, column) == ("P0131", numbers[a])
    # The sheet's own fields.
    state, column, message = refused(book.app, cashier, POST, g=nrb.group, d=TODAY - timedelta(days=1),
                                     l=_lines(*good), k="x")
    assert (state, column) == ("P0104", "meeting_date") and "is not a meeting day" in message
    assert str(TODAY) in message and str(TODAY - timedelta(days=7)) in message  # the nearest meetings
    assert refused(book.app, cashier, POST, g=nrb.group, d=TODAY + timedelta(days=7), l=_lines(*good),
                   k="x")[:2] == ("P0104", "meeting_date")
    assert refused(book.app, cashier, POST, g=nrb.group, d=TODAY, l="[]", k="x")[:2] == ("P0107", "lines")
    assert refused(book.app, cashier, POST, g=nrb.group, d=TODAY, l='{"a": 1}', k="x")[:2] == ("P0107", "lines")
    # Cash without an open till session where the branch requires one, from the counter or from the meeting.
    for poster in ("cashier2", "officer"):
        state, _, message = refused(book.app, nrb.staff[poster], POST, g=nrb.group, d=TODAY, l=_lines(*good), k="x")
        assert state == "P0110" and "open a till session first (o on the home screen)" in message, message
    # Another branch's group is not there for NRB01's cashier.
    assert refused(book.app, cashier, POST, g=book.msa.group, d=TODAY, l=_lines((book.msa.loans[0], "1")),
                   k="x")[0] == "P0101"
    assert _everything(book.owner) == before

    # The good sheet posts; an amount of 0 records attendance only.
    sheet = one(book.app, cashier, POST, g=nrb.group, d=TODAY, l=_lines(*good), k="good", me=cashier.user_id)
    with book.owner.connect() as conn:
        lines = conn.execute(text("SELECT loan_id, amount, attended, transaction_id IS NOT NULL AS paid "
                                  "FROM collection_sheet_lines WHERE sheet_id = :s ORDER BY loan_id"),
                             {"s": sheet}).all()
        total = conn.execute(text("SELECT total FROM collection_sheets WHERE id = :s"), {"s": sheet}).scalar()
        closed = conn.execute(text("SELECT status FROM loans WHERE id = :l"), {"l": d}).scalar()
    assert [(r.amount, r.paid) for r in lines] == [(Decimal("1000.00"), True), (Decimal("500.00"), True),
                                                  (Decimal("0.00"), False), (Decimal("4000.00"), True)]
    assert total == Decimal("5500.00") and closed == "closed"
    assert ledger_problems(book.owner) == []


def _schedule(owner: Engine, loan: int) -> list[tuple[Any, ...]]:
    with owner.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT installment_number, principal_paid, interest_paid, penalty_paid, total_paid, status "
            "FROM payment_schedules WHERE loan_id = :l ORDER BY installment_number"), {"l": loan})]


def test_the_same_sheet_twice_posts_once_and_the_books_balance(book: GroupBook) -> None:
    nrb = book.nrb
    cashier, supervisor = nrb.staff["cashier"], nrb.staff["supervisor"]
    lines = _lines(*[(loan, "1500.00") for loan in nrb.loans])
    first = one(book.app, cashier, POST, g=nrb.group, d=TODAY, l=lines, k="k1", me=cashier.user_id)
    after = _everything(book.owner)
    # A retry with the same key, a second officer with another key and other amounts: the first sheet.
    assert one(book.app, cashier, POST, g=nrb.group, d=TODAY, l=lines, k="k1", me=cashier.user_id) == first
    assert one(book.app, supervisor, POST, g=nrb.group, d=TODAY, l=_lines((nrb.loans[0], "1")), k="k2",
               me=supervisor.user_id) == first
    assert _everything(book.owner)[:5] == after[:5]
    # The ordinary allocation, oldest installment first: 1,500 pays installment 1 and half of 2.
    assert [(r[0], r[4], r[5]) for r in _schedule(book.owner, nrb.loans[0])] == [
        (1, Decimal("1000.00"), "paid"), (2, Decimal("500.00"), "partial"), (3, Decimal("0.00"), "pending"),
        (4, Decimal("0.00"), "pending")]
    with book.owner.connect() as conn:
        cash = conn.execute(text("SELECT cash_in, receipts FROM till_session_cash("
                                 "(SELECT id FROM till_sessions WHERE cashier_id = :c AND status = 'open'))"),
                            {"c": cashier.user_id}).one()
        entries = conn.execute(text(
            "SELECT count(*) FROM journal_entries e JOIN transactions t ON t.id = e.transaction_id "
            "JOIN collection_sheet_lines l ON l.transaction_id = t.id WHERE l.sheet_id = :s"), {"s": first}).scalar()
    assert tuple(cash) == (Decimal("6000.00"), 4) and entries == 4
    assert ledger_problems(book.owner) == []
    # A center's sheet of the same day would hold loans already on a group's: refused. The group's week after posts.
    center = one(book.app, cashier, POST, g=nrb.center, d=ANCHOR + timedelta(days=28),
                 l=_lines((nrb.sub_loans[0], "1000")), k="c1", me=cashier.user_id)
    state, column, message = refused(book.app, cashier, POST, g=nrb.subgroup, d=ANCHOR + timedelta(days=28),
                                     l=_lines((nrb.sub_loans[1], "1000")), k="c2")
    assert (state, column) == ("P0102", "meeting_date") and f"(sheet {center})" in message


def test_another_branch_sees_nothing_of_a_group(book: GroupBook) -> None:
    nrb, msa = book.nrb, book.msa
    officer: Actor = msa.staff["officer"]
    assert one(book.app, officer, "SELECT count(*) FROM collection_sheet(:g, :d)", g=nrb.group, d=TODAY) == 0
    assert one(book.app, officer, "SELECT count(*) FROM groups WHERE id = :g", g=nrb.group) == 0
    assert one(book.app, officer, "SELECT next_meeting_date(:g)", g=nrb.group) is None
    assert refused(book.app, officer, "SELECT update_group(:g, 'Mine', :me, 1, 'weekly', NULL, NULL, :me)",
                   g=nrb.group)[0] == "P0101"
    assert refused(book.app, officer, "SELECT add_group_member(:g, :c, 'member', NULL, :me)", g=nrb.group,
                   c=msa.customers[0])[0] == "P0101"
    assert refused(book.app, officer, "SELECT create_group('group', 'x', :p, :me, NULL, NULL, NULL, NULL, :me)",
                   p=nrb.center)[1] == "parent_id"
