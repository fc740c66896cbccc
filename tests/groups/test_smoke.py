"""The book builds: groups, members, group loans with due dates on meeting days, a sheet that loads."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from tests.groups.book import ANCHOR, TODAY, GroupBook, one


def test_book_builds_and_the_sheet_loads(book: GroupBook) -> None:
    nrb = book.nrb
    with book.owner.connect() as conn:
        dues = conn.execute(text("SELECT due_date FROM payment_schedules WHERE loan_id = ANY(:l) ORDER BY 1"),
                            {"l": nrb.loans}).scalars().all()
    assert {d.isoweekday() for d in dues} == {TODAY.isoweekday()}
    assert min(dues) == ANCHOR + timedelta(days=7)
    rows = one(book.app, nrb.staff["officer"], "SELECT count(*) FROM collection_sheet(:g, :d)", g=nrb.group, d=TODAY)
    assert rows == 4
