"""The collection sheet through its repository: load a meeting, post it once, print its receipt."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from db.errors import LineRefused
from db.repositories.groups import CollectionSheetRepository, GroupRepository, SheetEntry
from db.repositories.loans import LoanRepository
from tests.groups.book import TODAY, GroupBook


def test_load_post_and_receipt(book: GroupBook) -> None:
    nrb = book.nrb
    cashier = nrb.staff["cashier"]
    sheets = CollectionSheetRepository(book.app, cashier)
    sheet = sheets.load(nrb.group, TODAY)
    assert sheet.is_meeting_day and sheet.posted_sheet_id is None
    assert [line.role for line in sheet.lines] == ["chair", "secretary", "treasurer", "member"]
    # 4,000 over 4 weeks from 28 days ago: installments of 1,000 due 21, 14, 7 days ago and today.
    assert {line.due for line in sheet.lines} == {Decimal("4000.00")}
    assert {line.arrears for line in sheet.lines} == {Decimal("3000.00")}
    assert {line.max_payable for line in sheet.lines} == {Decimal("4000.00")}
    first, second, third, fourth = sheet.lines
    entries = [SheetEntry(first.loan_id, Decimal("4000.00"), True), SheetEntry(second.loan_id, Decimal("1500"), True),
               SheetEntry(third.loan_id, Decimal("0"), True), SheetEntry(fourth.loan_id, Decimal("0"), False)]
    sheet_id = sheets.post(nrb.group, TODAY, entries, "sheet-key-1")
    assert sheets.post(nrb.group, TODAY, entries, "sheet-key-2") == sheet_id
    receipt = sheets.receipt(sheet_id)
    assert receipt.total == Decimal("5500.00") and receipt.officer_name == "Officer NRB01"
    assert receipt.posted_by_name == "Cashier NRB01"
    (page,) = receipt.groups
    assert [line.amount for line in page.lines if line.receipt_number] == [Decimal("4000.00"), Decimal("1500.00")]
    assert all(line.receipt_number.startswith("NRB01-R-") for line in page.lines if line.amount)
    assert page.attended == 3
    with book.owner.connect() as conn:
        status = conn.execute(text("SELECT status FROM loans WHERE id = :l"), {"l": first.loan_id}).scalar()
        till = conn.execute(text("SELECT count(*) FROM transactions WHERE till_session_id IS NOT NULL "
                                 "AND transaction_type = 'repayment'")).scalar()
    assert status == "closed" and till == 2
    # A line is reversed by a supervisor through the ordinary reversal; the receipt says so on reprint.
    paid = next(line for line in page.lines if line.amount == Decimal("1500.00"))
    with book.owner.connect() as conn:
        txn = conn.execute(text("SELECT id FROM transactions WHERE receipt_number = :r"),
                           {"r": paid.receipt_number}).scalar_one()
    LoanRepository(book.app, nrb.staff["supervisor"]).reverse_payment(txn, "Counted twice at the meeting")
    assert [line.reversed for line in sheets.receipt(sheet_id).groups[0].lines if line.amount] == [False, True]
    again = sheets.load(nrb.group, TODAY)
    assert again.posted_sheet_id == sheet_id and len(again.lines) == 3
    trend = GroupRepository(book.app, nrb.staff["officer"]).attendance_trend(nrb.group)
    assert [(p.lines, p.attended, p.collected) for p in trend] == [(4, 3, Decimal("5500.00"))]


def test_a_bad_row_is_named_and_nothing_is_written(book: GroupBook) -> None:
    nrb = book.nrb
    sheets = CollectionSheetRepository(book.app, nrb.staff["cashier"])
    lines = sheets.load(nrb.group, TODAY).lines
    entries = [SheetEntry(line.loan_id, Decimal("100"), True) for line in lines]
    entries[2] = SheetEntry(lines[2].loan_id, Decimal("4000.01"), True)
    with pytest.raises(LineRefused) as info:
        sheets.post(nrb.group, TODAY, entries, "sheet-key-bad")
    assert info.value.row == lines[2].loan_number
    assert "more than the loan owes (4,000.00)" in info.value.message
    assert sheets.posted(nrb.group, TODAY) is None
    with book.owner.connect() as conn:
        paid = conn.execute(text("SELECT count(*) FROM transactions WHERE transaction_type = 'repayment'")).scalar()
    assert paid == 0


def test_group_page_and_reports(book: GroupBook) -> None:
    nrb = book.nrb
    groups = GroupRepository(book.app, nrb.staff["officer"])
    page = groups.get(nrb.group)
    assert page.group.member_count == 4 and len(page.loans) == 4
    assert page.arrears == Decimal("12000.00")
    center = groups.get(nrb.center)
    assert [g.id for g in center.groups] == [nrb.subgroup] and len(center.loans) == 2
    arrears = {row.group_id: row for row in groups.arrears_by_group(TODAY)}
    assert arrears[nrb.group].loans_in_arrears == 4
    assert arrears[nrb.center].loans == arrears[nrb.subgroup].loans == 2
    assert groups.next_meeting(nrb.group, TODAY + timedelta(days=1)) == TODAY + timedelta(days=7)
    week = groups.officer_meetings(week_of=TODAY)
    assert nrb.group in {m.group_id for m in week}
    assert groups.active_group_of(nrb.customers[0]).id == nrb.group  # type: ignore[union-attr]


def test_a_sheet_is_posted_with_its_receipt_in_one_round_trip(book: GroupBook, tmp_path) -> None:
    """The posting and the receipt's reads go as one message (db/one_trip.py); a refused row in it writes nothing and
    is named, in one round trip too."""
    from db.engine import make_engine
    from tests.repositories.test_one_trip import _round_trips, _traced

    nrb = book.nrb
    engine = make_engine(book.app.url, pool_size=1, max_overflow=0)
    try:
        sheets = CollectionSheetRepository(engine, nrb.staff["cashier"])
        lines = sheets.load(nrb.group, TODAY).lines
        entries = [SheetEntry(line.loan_id, Decimal("1000.00"), True) for line in lines]
        refused: list = []
        trace = _traced(engine, lambda: refused.append(pytest.raises(
            LineRefused, sheets.post_with_receipt, nrb.group, TODAY,
            [*entries[:3], SheetEntry(lines[3].loan_id, Decimal("4000.01"), True)], "trip-bad")), tmp_path)
        assert _round_trips(trace) == 1 and refused[0].value.row == lines[3].loan_number
        assert sheets.posted(nrb.group, TODAY) is None
        done: list = []
        trace = _traced(engine, lambda: done.append(sheets.post_with_receipt(nrb.group, TODAY, entries, "trip")),
                        tmp_path)
        assert _round_trips(trace) == 1, "\n".join(trace)
        assert done[0] == sheets.receipt(done[0].sheet_id) and done[0].total == Decimal("4000.00")
        assert sheets.post(nrb.group, TODAY, entries, "trip-again") == done[0].sheet_id
    finally:
        engine.dispose()
