"""Loans taken in a group: the customer a member, the frequency fitting the meetings, every due date a meeting day
(weekly and biweekly), the first one the first meeting at least one period after disbursement."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text

from tests.groups.book import ANCHOR, TODAY, GroupBook, add_member, customer, group_loan
from tests.groups.refuse import refused

APPLY = ("INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, repayment_frequency, "
         "loan_officer_id, created_by, group_id) VALUES (:c, 1000, 0, 'flat', 4, :f, :me, :me, :g)")


def _dues(book: GroupBook, loan: int) -> list[date]:
    with book.owner.connect() as conn:
        return list(conn.execute(text("SELECT due_date FROM payment_schedules WHERE loan_id = :l "
                                      "ORDER BY installment_number"), {"l": loan}).scalars())


def test_due_dates_fall_on_meeting_days(book: GroupBook) -> None:
    nrb = book.nrb
    officer = nrb.staff["officer"]
    # Weekly group (anchor 28 days ago): a weekly loan disbursed 26 days ago starts at the first meeting at least a
    # week later (19 days ago would be mid-week: the meeting 14 days ago... i.e. ANCHOR + 14).
    someone = customer(book.app, nrb, "Weekly")
    add_member(book.app, officer, nrb.group, someone)
    weekly = group_loan(book.app, nrb, someone, nrb.group, disbursed=ANCHOR + timedelta(days=2))
    assert _dues(book, weekly) == [ANCHOR + timedelta(days=14 + 7 * k) for k in range(4)]
    # A biweekly loan in the weekly group: every other meeting.
    other = customer(book.app, nrb, "Biweekly")
    add_member(book.app, officer, nrb.group, other)
    biweekly = group_loan(book.app, nrb, other, nrb.group, frequency="biweekly", disbursed=ANCHOR + timedelta(days=3))
    assert _dues(book, biweekly) == [ANCHOR + timedelta(days=21 + 14 * k) for k in range(4)]
    # The biweekly center's group (anchor ANCHOR, every 14 days): disbursed on the anchor, first due 14 days later.
    assert _dues(book, nrb.sub_loans[0]) == [ANCHOR + timedelta(days=14 * (k + 1)) for k in range(4)]
    # Disbursed a day after a meeting: the first due date is the meeting after the next (at least two weeks on).
    late = customer(book.app, nrb, "Late")
    add_member(book.app, officer, nrb.subgroup, late)
    loan = group_loan(book.app, nrb, late, nrb.subgroup, frequency="biweekly", disbursed=ANCHOR + timedelta(days=1))
    assert _dues(book, loan)[0] == ANCHOR + timedelta(days=28)
    # A first repayment date asked for at disbursement moves to the meeting on or after it.
    asked = customer(book.app, nrb, "Asked")
    add_member(book.app, officer, nrb.group, asked)
    loan = group_loan(book.app, nrb, asked, nrb.group, disbursed=ANCHOR, first=ANCHOR + timedelta(days=9))
    assert _dues(book, loan)[0] == ANCHOR + timedelta(days=14)
    for due in _dues(book, weekly) + _dues(book, biweekly) + _dues(book, loan):
        assert due.isoweekday() == TODAY.isoweekday()


def test_group_loan_applications_are_refused_beside_their_field(book: GroupBook) -> None:
    nrb = book.nrb
    officer = nrb.staff["officer"]
    member = nrb.customers[0]
    state, column, message = refused(book.app, officer, APPLY, c=member, f="monthly", g=nrb.group)
    assert (state, column) == ("P0107", "repayment_frequency") and "weekly or biweekly" in message
    in_center = customer(book.app, nrb, "Centre")
    add_member(book.app, officer, nrb.subgroup, in_center)
    state, column, message = refused(book.app, officer, APPLY, c=in_center, f="weekly", g=nrb.subgroup)
    assert (state, column) == ("P0107", "repayment_frequency") and "every two weeks" in message
    outsider = customer(book.app, nrb, "Outsider")
    state, column, message = refused(book.app, officer, APPLY, c=outsider, f="weekly", g=nrb.group)
    assert (state, column) == ("P0107", "group_id") and "not a member" in message
    assert refused(book.app, officer, APPLY, c=member, f="weekly", g=nrb.center)[1] == "group_id"
    # A member of another group than the one named.
    assert refused(book.app, officer, APPLY, c=in_center, f="biweekly", g=nrb.group)[1] == "group_id"
