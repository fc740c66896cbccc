"""Groups, centers and members: what each function takes, and each refusal with its field and message."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from tests.groups.book import ANCHOR, TODAY, GroupBook, add_member, create_group, customer, one
from tests.groups.refuse import refused

CREATE = "SELECT create_group(:k, :n, :p, :o, :w, :f, :d, :pl, :me)"


def _args(**over: object) -> dict[str, object]:
    base: dict[str, object] = {"k": "group", "n": "Jamii", "p": None, "o": None, "w": TODAY.isoweekday(),
                               "f": "weekly", "d": None, "pl": None}
    return {**base, **over}


def test_create_and_update_groups_and_centers(book: GroupBook) -> None:
    nrb = book.nrb
    officer, cashier = nrb.staff["officer"], nrb.staff["cashier"]
    me = officer.user_id
    assert refused(book.app, cashier, CREATE, **_args(o=me))[0] == "42501"  # not granted
    assert refused(book.app, officer, CREATE, **_args(o=me, k="club"))[:2] == ("P0107", "kind")
    assert refused(book.app, officer, CREATE, **_args(o=me, n="  "))[:2] == ("P0107", "name")
    assert refused(book.app, officer, CREATE, **_args(o=me, w=8))[:2] == ("P0107", "meeting_weekday")
    assert refused(book.app, officer, CREATE, **_args(o=me, f="monthly"))[:2] == ("P0107", "meeting_frequency")
    state, column, message = refused(book.app, officer, CREATE, **_args(o=me, d=TODAY + timedelta(days=1)))
    assert (state, column) == ("P0104", "first_meeting_date") and "not a meeting day" in message
    assert refused(book.app, officer, CREATE, **_args(o=me, k="center", p=nrb.center))[1] == "parent_id"
    assert refused(book.app, officer, CREATE, **_args(o=me, p=nrb.group))[1] == "parent_id"  # not a center
    assert refused(book.app, officer, CREATE, **_args(o=cashier.user_id))[1] == "loan_officer_id"
    assert refused(book.app, officer, CREATE, **_args(o=book.msa.staff["officer"].user_id))[1] == "loan_officer_id"
    assert refused(book.app, officer, CREATE, **_args(o=me, pl="x" * 201))[1] == "meeting_place"

    # Without a first meeting: the next meeting weekday from today. A group in a center: the center's meetings.
    tomorrow = TODAY + timedelta(days=1)
    lone = create_group(book.app, officer, "group", "Jamii", weekday=tomorrow.isoweekday(), first=None)
    with book.owner.connect() as conn:
        row = conn.execute(text("SELECT group_number, first_meeting_date, branch_id FROM groups WHERE id = :g"),
                           {"g": lone}).one()
        sub = conn.execute(text("SELECT meeting_weekday, meeting_frequency, first_meeting_date, branch_id, "
                                "loan_officer_id FROM groups WHERE id = :g"), {"g": nrb.subgroup}).one()
    assert row.group_number.startswith("G-") and row.first_meeting_date == tomorrow and row.branch_id == nrb.id
    assert tuple(sub) == (ANCHOR.isoweekday(), "biweekly", ANCHOR, nrb.id, officer.user_id)

    # A center's new meetings are its groups'; a group in a center keeps the center's.
    new_first = ANCHOR + timedelta(days=1)
    one(book.app, officer, "SELECT update_group(:g, 'Baraka Centre', :me, :w, 'biweekly', :d, 'Church', :me)",
        g=nrb.center, w=new_first.isoweekday(), d=new_first, me=officer.user_id)
    one(book.app, officer, "SELECT update_group(:g, 'Tumaini B', :me, 1, 'weekly', NULL, 'Hall', :me)",
        g=nrb.subgroup, me=officer.user_id)
    with book.owner.connect() as conn:
        sub = conn.execute(text("SELECT name, meeting_weekday, meeting_frequency, first_meeting_date, meeting_place "
                                "FROM groups WHERE id = :g"), {"g": nrb.subgroup}).one()
    assert tuple(sub) == ("Tumaini B", new_first.isoweekday(), "biweekly", new_first, "Hall")
    # Weekly loans in play keep a group weekly.
    state, column, message = refused(book.app, officer,
                                     "SELECT update_group(:g, 'Upendo', :me, :w, 'biweekly', NULL, NULL, :me)",
                                     g=nrb.group, w=ANCHOR.isoweekday())
    assert (state, column) == ("P0102", "meeting_frequency") and "repaid weekly" in message


def test_members_one_active_group_and_leaving(book: GroupBook) -> None:
    nrb = book.nrb
    officer = nrb.staff["officer"]
    add = "SELECT add_group_member(:g, :c, :r, :j, :me)"
    taken = nrb.customers[0]
    state, column, message = refused(book.app, officer, add, g=nrb.subgroup, c=taken, r="member", j=None)
    assert (state, column) == ("P0102", "customer_id") and "already a member of G-" in message
    fresh = customer(book.app, nrb, "Newcomer")
    assert refused(book.app, officer, add, g=nrb.center, c=fresh, r="member", j=None)[1] == "group_id"
    assert refused(book.app, officer, add, g=nrb.group, c=fresh, r="chair", j=None)[1] == "role"  # one chair
    assert refused(book.app, officer, add, g=nrb.group, c=fresh, r="boss", j=None)[1] == "role"
    assert refused(book.app, officer, add, g=nrb.group, c=fresh, r="member",
                   j=TODAY + timedelta(days=1))[1] == "joined_on"
    other = book.msa.customers[0]
    assert refused(book.app, officer, add, g=nrb.group, c=other, r="member", j=None)[0] == "P0101"
    member = add_member(book.app, officer, nrb.group, fresh)
    # The partial unique index holds even for a direct write as the owner.
    with book.owner.connect() as conn:
        duplicate = conn.execute(text("SELECT count(*) FROM group_members WHERE customer_id = :c AND left_on IS NULL"),
                                 {"c": fresh}).scalar()
    assert duplicate == 1

    remove = "SELECT remove_group_member(:m, :d, :me)"
    with book.owner.connect() as conn:
        busy = conn.execute(text("SELECT id FROM group_members WHERE customer_id = :c"), {"c": taken}).scalar()
    state, _, message = refused(book.app, officer, remove, m=busy, d=None)
    assert state == "P0102" and "still in play" in message
    assert refused(book.app, officer, remove, m=member, d=ANCHOR - timedelta(days=30))[1] == "left_on"
    assert refused(book.app, officer, remove, m=member, d=TODAY + timedelta(days=1))[1] == "left_on"
    one(book.app, officer, remove, m=member, d=None, me=officer.user_id)
    assert refused(book.app, officer, remove, m=member, d=None)[0] == "P0102"
    # Having left, they may join another group.
    add_member(book.app, officer, nrb.subgroup, fresh, joined=TODAY)


def test_closing_groups_and_centers(book: GroupBook) -> None:
    nrb = book.nrb
    officer = nrb.staff["officer"]
    close = "SELECT close_group(:g, :me)"
    state, _, message = refused(book.app, officer, close, g=nrb.group)
    assert state == "P0102" and "still in play" in message
    state, _, message = refused(book.app, officer, close, g=nrb.center)
    assert state == "P0102" and "close its groups first" in message
    empty = create_group(book.app, officer, "group", "Empty", parent=nrb.center, weekday=None, frequency=None,
                         first=None)
    member = customer(book.app, nrb, "Leaver")
    add_member(book.app, officer, empty, member)
    one(book.app, officer, close, g=empty, me=officer.user_id)
    with book.owner.connect() as conn:
        status, left = conn.execute(text(
            "SELECT g.status, m.left_on FROM groups g JOIN group_members m ON m.group_id = g.id WHERE g.id = :g"),
            {"g": empty}).one()
    assert (status, left) == ("closed", TODAY)
    assert refused(book.app, officer, close, g=empty)[0] == "P0102"
    assert refused(book.app, officer, "SELECT add_group_member(:g, :c, 'member', NULL, :me)", g=empty,
                   c=member)[0] == "P0102"
    # A closed group takes no new loan.
    assert refused(book.app, officer,
                   "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
                   "repayment_frequency, loan_officer_id, created_by, group_id) "
                   "VALUES (:c, 1000, 0, 'flat', 4, 'weekly', :me, :me, :g)", c=member, g=empty)[1] == "group_id"
