"""Groups and collection sheets: centers, groups and their members, a group's page (members, their loans and
arrears), meeting days, the collection sheet of a meeting, its posting and its receipt, and the group reports.

Every rule lives in the database's functions (revision 0023): create_group, update_group, close_group,
add_group_member, remove_group_member, next_meeting_date, group_meeting_dates, collection_sheet and
post_collection_sheet. A refusal that belongs to a field comes back as a ValidationError keyed by the field:
`kind`, `name`, `parent_id`, `loan_officer_id`, `meeting_weekday`, `meeting_frequency`, `first_meeting_date`,
`meeting_place`, `group_id`, `customer_id`, `role`, `joined_on`, `left_on`, `member_id`, `meeting_date`, `lines`.
A refused line of a sheet comes back as LineRefused (a ValidationError) whose `row` is the loan number of the row
(SQLSTATE P0131): nothing of the sheet was written. Others come back as Refused or NotFound with the database's
sentence.

Who does what: loan officers and supervisors keep groups and members; everyone but the administrator loads a sheet;
a cashier or a supervisor posts it (the officer hands the meeting's cash in at the branch; the payments go into the
poster's open till where the branch requires tills, and the group's officer is recorded as the collector).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from db.errors import NotFound, ValidationError
from db.repositories.base import Repository

KINDS = ("center", "group")
FREQUENCIES = ("weekly", "biweekly")
ROLES = ("chair", "secretary", "treasurer", "member")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def meeting_text(weekday: int, frequency: str) -> str:
    """'Tuesdays, every week' / 'Tuesdays, every two weeks'."""
    return f"{WEEKDAYS[weekday - 1]}s, " + ("every two weeks" if frequency == "biweekly" else "every week")


@dataclass(frozen=True)
class GroupForm:
    """What the create and edit forms send. A group in a center (`parent_id`) meets at the center's meetings: its
    meeting fields are ignored. `first_meeting_date` None: the next `meeting_weekday` from today (on create), the
    same cycle (on edit, when the weekday is unchanged)."""

    kind: str
    name: str
    loan_officer_id: int | None
    meeting_weekday: int | None = None
    meeting_frequency: str | None = None
    first_meeting_date: date | None = None
    meeting_place: str | None = None
    parent_id: int | None = None


@dataclass(frozen=True)
class GroupSummary:
    id: int
    group_number: str
    name: str
    kind: str
    parent_id: int | None
    parent_number: str | None
    branch_id: int
    branch_code: str
    loan_officer_id: int
    loan_officer_name: str
    meeting_weekday: int
    meeting_frequency: str
    first_meeting_date: date
    meeting_place: str | None
    status: str
    member_count: int
    next_meeting: date | None

    @property
    def meetings(self) -> str:
        return meeting_text(self.meeting_weekday, self.meeting_frequency)


@dataclass(frozen=True)
class GroupMember:
    id: int
    group_id: int
    customer_id: int
    customer_number: str
    customer_name: str
    role: str
    joined_on: date
    left_on: date | None

    @property
    def active(self) -> bool:
        return self.left_on is None


@dataclass(frozen=True)
class MemberLoan:
    """A loan taken in the group, with what it still owes and its arrears today."""

    loan_id: int
    loan_number: str
    group_id: int
    customer_id: int
    customer_name: str
    status: str
    principal: Decimal
    repayment_frequency: str
    outstanding: Decimal
    arrears: Decimal
    oldest_due_date: date | None
    next_due_date: date | None

    @property
    def days_past_due(self) -> int:
        return 0 if self.oldest_due_date is None else max(0, (date.today() - self.oldest_due_date).days)


@dataclass(frozen=True)
class GroupDetail:
    """A group's page: the group, its members (active first, then those who left), its loans (pending to closed),
    and for a center its groups."""

    group: GroupSummary
    members: tuple[GroupMember, ...]
    loans: tuple[MemberLoan, ...]
    groups: tuple[GroupSummary, ...]

    @property
    def arrears(self) -> Decimal:
        return sum((loan.arrears for loan in self.loans), ZERO)


@dataclass(frozen=True)
class SheetLine:
    """One member loan on a sheet: `due` is what falls due at the meeting, arrears included (`arrears` the part
    due before it); `max_payable` what the loan still owes in all (an amount above it is refused)."""

    group_id: int
    customer_id: int
    customer_number: str
    customer_name: str
    role: str
    loan_id: int
    loan_number: str
    due: Decimal
    arrears: Decimal
    max_payable: Decimal
    oldest_due_date: date | None
    installments_due: int


@dataclass(frozen=True)
class SheetGroup:
    group_id: int
    group_number: str
    name: str
    lines: tuple[SheetLine, ...]

    @property
    def total_due(self) -> Decimal:
        return sum((line.due for line in self.lines), ZERO)


@dataclass(frozen=True)
class Sheet:
    """The collection sheet of a group (one SheetGroup) or a center (one per group with loans) for a meeting.
    `posted_sheet_id` is set when the sheet of this group and date was already posted (reprint it instead)."""

    group_id: int
    group_number: str
    name: str
    kind: str
    meeting_date: date
    is_meeting_day: bool
    next_meeting: date | None
    loan_officer_name: str
    posted_sheet_id: int | None
    groups: tuple[SheetGroup, ...]

    @property
    def lines(self) -> tuple[SheetLine, ...]:
        return tuple(line for group in self.groups for line in group.lines)

    @property
    def total_due(self) -> Decimal:
        return sum((group.total_due for group in self.groups), ZERO)


@dataclass(frozen=True)
class SheetEntry:
    """What the officer typed for one row: the amount paid (0: nothing) and whether the member attended."""

    loan_id: int
    amount: Decimal
    attended: bool


@dataclass(frozen=True)
class ReceiptLine:
    customer_number: str
    customer_name: str
    loan_number: str
    amount: Decimal
    attended: bool
    receipt_number: str | None
    reversed: bool = False
    """The line's repayment was reversed since (a supervisor, line by line, through the ordinary reversal)."""


@dataclass(frozen=True)
class ReceiptGroup:
    group_number: str
    name: str
    lines: tuple[ReceiptLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def attended(self) -> int:
        return sum(1 for line in self.lines if line.attended)


@dataclass(frozen=True)
class SheetReceipt:
    """What a sheet's receipt prints: one page per group, each member's amount and receipt number, the totals, the
    officer who collected and the person who posted."""

    sheet_id: int
    group_number: str
    name: str
    meeting_date: date
    branch_code: str
    posted_at: datetime
    posted_by_name: str
    officer_name: str
    total: Decimal
    groups: tuple[ReceiptGroup, ...]


@dataclass(frozen=True)
class GroupArrears:
    """Arrears per group, and per center (the sum of its groups): loans in play, what they owe, what is late."""

    group_id: int
    group_number: str
    name: str
    kind: str
    parent_number: str | None
    loan_officer_name: str
    loans: int
    loans_in_arrears: int
    outstanding: Decimal
    arrears: Decimal

    @property
    def arrears_rate(self) -> Decimal:
        """Arrears as a share of what is outstanding, in percent to two decimals."""
        if not self.outstanding:
            return ZERO
        return (self.arrears * 100 / self.outstanding).quantize(CENT)


@dataclass(frozen=True)
class AttendancePoint:
    sheet_id: int
    meeting_date: date
    lines: int
    attended: int
    collected: Decimal
    due: Decimal | None = None


@dataclass(frozen=True)
class Meeting:
    """A meeting of an officer's week: the group or center, its day and place, and its sheet once posted."""

    group_id: int
    group_number: str
    name: str
    kind: str
    meeting_date: date
    meeting_place: str | None
    loan_officer_name: str
    posted_sheet_id: int | None


def _summary(row: Any) -> GroupSummary:
    return GroupSummary(
        id=row.id, group_number=row.group_number, name=row.name, kind=row.kind, parent_id=row.parent_id,
        parent_number=row.parent_number, branch_id=row.branch_id, branch_code=row.branch_code,
        loan_officer_id=row.loan_officer_id, loan_officer_name=row.loan_officer_name,
        meeting_weekday=row.meeting_weekday, meeting_frequency=row.meeting_frequency,
        first_meeting_date=row.first_meeting_date, meeting_place=row.meeting_place, status=row.status,
        member_count=row.member_count, next_meeting=row.next_meeting)


def _groups(session: Session, *, id: int | None = None, parent: int | None = None, kind: str | None = None,
            officer: int | None = None, customer: int | None = None, closed: bool = True,
            today: date | None = None) -> list[Any]:
    """Groups and centers of the caller's branches as the filters say, by number, with their active members (a
    center's: its groups') and next meeting."""
    return list(session.execute(text("""
    SELECT g.id, g.group_number, g.name, g.kind, g.parent_id, p.group_number AS parent_number, g.branch_id,
           b.code AS branch_code, g.loan_officer_id, u.full_name AS loan_officer_name, g.meeting_weekday,
           g.meeting_frequency, g.first_meeting_date, g.meeting_place, g.status,
           (SELECT count(*) FROM group_members m
             WHERE (m.group_id = g.id OR m.group_id IN (SELECT c.id FROM groups c WHERE c.parent_id = g.id))
               AND m.left_on IS NULL)::integer AS member_count,
           next_meeting_date(g.id, CAST(:today AS date)) AS next_meeting
    FROM groups g
    JOIN branches b ON b.id = g.branch_id
    JOIN users u ON u.id = g.loan_officer_id
    LEFT JOIN groups p ON p.id = g.parent_id
    WHERE (CAST(:id AS bigint) IS NULL OR g.id = CAST(:id AS bigint))
      AND (CAST(:parent AS bigint) IS NULL OR g.parent_id = CAST(:parent AS bigint))
      AND (CAST(:kind AS text) IS NULL OR g.kind = CAST(:kind AS text))
      AND (CAST(:officer AS bigint) IS NULL OR g.loan_officer_id = CAST(:officer AS bigint))
      AND (CAST(:customer AS bigint) IS NULL
           OR g.id = (SELECT m.group_id FROM group_members m
                       WHERE m.customer_id = CAST(:customer AS bigint) AND m.left_on IS NULL))
      AND (CAST(:closed AS boolean) OR g.status = 'active')
    ORDER BY g.group_number
"""), {"id": id, "parent": parent, "kind": kind, "officer": officer, "customer": customer, "closed": closed,
       "today": today or date.today()}).all())


class GroupRepository(Repository):
    """Centers, groups and members for the signed-in officer or supervisor; reads for every member of staff."""

    def create(self, form: GroupForm) -> int:
        """A new center or group; returns its id. Its number (G-000123) is given by the database."""
        with self.work() as session:
            return int(session.execute(text(
                "SELECT create_group(:kind, :name, :parent, :officer, :weekday, :frequency, :first, :place, :me)"),
                {"kind": form.kind, "name": form.name, "parent": form.parent_id, "officer": form.loan_officer_id,
                 "weekday": form.meeting_weekday, "frequency": form.meeting_frequency,
                 "first": form.first_meeting_date, "place": form.meeting_place,
                 "me": self.actor.user_id}).scalar_one())

    def update(self, group_id: int, form: GroupForm) -> None:
        """New name, officer, meetings and place (kind and center do not change)."""
        with self.work() as session:
            session.execute(text(
                "SELECT update_group(:g, :name, :officer, :weekday, :frequency, :first, :place, :me)"),
                {"g": group_id, "name": form.name, "officer": form.loan_officer_id, "weekday": form.meeting_weekday,
                 "frequency": form.meeting_frequency, "first": form.first_meeting_date, "place": form.meeting_place,
                 "me": self.actor.user_id})

    def close(self, group_id: int) -> None:
        """Closes a group with no loan in play (its memberships end today); a center once its groups are closed."""
        with self.work() as session:
            session.execute(text("SELECT close_group(:g, :me)"), {"g": group_id, "me": self.actor.user_id})

    def add_member(self, group_id: int, customer_id: int, role: str = "member",
                   joined_on: date | None = None) -> int:
        """Adds a customer to a group; returns the membership's id."""
        with self.work() as session:
            return int(session.execute(text("SELECT add_group_member(:g, :c, :r, :j, :me)"),
                                       {"g": group_id, "c": customer_id, "r": role, "j": joined_on,
                                        "me": self.actor.user_id}).scalar_one())

    def remove_member(self, member_id: int, left_on: date | None = None) -> None:
        """Ends a membership (today by default)."""
        with self.work() as session:
            session.execute(text("SELECT remove_group_member(:m, :d, :me)"),
                            {"m": member_id, "d": left_on, "me": self.actor.user_id})

    def list_groups(self, *, kind: str | None = None, officer_id: int | None = None, include_closed: bool = False,
             parent_id: int | None = None, today: date | None = None) -> list[GroupSummary]:
        """Groups and centers of the caller's branches by number; `officer_id` for "my groups"."""
        with self.read_work() as session:
            rows = _groups(session, kind=kind, officer=officer_id, parent=parent_id, closed=include_closed,
                           today=today)
        return [_summary(row) for row in rows]

    def get(self, group_id: int, *, today: date | None = None) -> GroupDetail:
        """The group's page: the group, its members, the loans taken in it (of its groups, for a center) with their
        arrears on `today`, and a center's groups."""
        day = today or date.today()
        with self.read_work() as session:
            found = _groups(session, id=group_id, today=day)
            if not found:
                raise NotFound(f"group {group_id} does not exist or is not one of your branch's")
            members = session.execute(text("""
    SELECT m.id, m.group_id, m.customer_id, c.customer_number, c.first_name || ' ' || c.last_name AS customer_name,
           m.role, m.joined_on, m.left_on
    FROM group_members m JOIN customers c ON c.id = m.customer_id
    WHERE m.group_id = :g OR m.group_id IN (SELECT s.id FROM groups s WHERE s.parent_id = :g)
    ORDER BY m.left_on IS NOT NULL, m.group_id,
             CASE m.role WHEN 'chair' THEN 1 WHEN 'secretary' THEN 2 WHEN 'treasurer' THEN 3 ELSE 4 END,
             c.last_name, c.first_name, m.id
"""), {"g": group_id}).all()
            loans = session.execute(text("""
    SELECT l.id AS loan_id, l.loan_number, l.group_id, l.customer_id,
           c.first_name || ' ' || c.last_name AS customer_name, l.status, l.principal_amount,
           l.repayment_frequency, coalesce(s.owed, 0) AS outstanding, coalesce(s.arrears, 0) AS arrears,
           s.oldest, s.next_due
    FROM loans l
    JOIN customers c ON c.id = l.customer_id
    LEFT JOIN LATERAL (
        SELECT sum(ps.total_due - ps.total_paid) AS owed,
               sum(ps.total_due - ps.total_paid) FILTER (WHERE ps.due_date < :d) AS arrears,
               min(ps.due_date) FILTER (WHERE ps.due_date < :d) AS oldest,
               min(ps.due_date) FILTER (WHERE ps.due_date >= :d) AS next_due
        FROM payment_schedules ps
        WHERE ps.loan_id = l.id AND ps.paid_date IS NULL AND ps.total_paid < ps.total_due) s ON true
    WHERE l.group_id = :g OR l.group_id IN (SELECT s2.id FROM groups s2 WHERE s2.parent_id = :g)
    ORDER BY CASE l.status WHEN 'defaulted' THEN 1 WHEN 'active' THEN 2 WHEN 'approved' THEN 3
                           WHEN 'pending' THEN 4 ELSE 5 END, c.last_name, c.first_name, l.loan_number
"""), {"g": group_id, "d": day}).all()
            groups = _groups(session, parent=group_id, today=day)
        return GroupDetail(
            group=_summary(found[0]),
            members=tuple(GroupMember(m.id, m.group_id, m.customer_id, m.customer_number, m.customer_name, m.role,
                                      m.joined_on, m.left_on) for m in members),
            loans=tuple(MemberLoan(r.loan_id, r.loan_number, r.group_id, r.customer_id, r.customer_name, r.status,
                                   r.principal_amount, r.repayment_frequency, Decimal(r.outstanding),
                                   Decimal(r.arrears), r.oldest, r.next_due) for r in loans),
            groups=tuple(_summary(g) for g in groups))

    def active_group_of(self, customer_id: int) -> GroupSummary | None:
        """The group the customer is an active member of (the loan application's group field), or None."""
        with self.read_work() as session:
            rows = _groups(session, customer=customer_id, closed=False)
        return _summary(rows[0]) if rows else None

    def next_meeting(self, group_id: int, on_or_after: date | None = None) -> date | None:
        """The group's next meeting on or after a day (today by default); None for a closed or unseen group."""
        with self.read_work() as session:
            value = session.execute(text("SELECT next_meeting_date(:g, :d)"),
                                    {"g": group_id, "d": on_or_after}).scalar()
        return value if isinstance(value, date) else None

    def meeting_dates(self, group_id: int, start: date, end: date) -> list[date]:
        """The group's meeting days from `start` to `end` (at most a year)."""
        with self.read_work() as session:
            return list(session.execute(text("SELECT d FROM group_meeting_dates(:g, :a, :b) d"),
                                        {"g": group_id, "a": start, "b": end}).scalars())

    # Reports.
    def arrears_by_group(self, as_of: date | None = None) -> list[GroupArrears]:
        """Arrears per active group of the caller's branches on a day, and per center (its groups added up), by
        number; a center comes before its groups."""
        day = as_of or date.today()
        with self.read_work() as session:
            rows = session.execute(text("""
    SELECT g.id, g.group_number, g.name, g.kind, g.parent_id, p.group_number AS parent_number,
           u.full_name AS loan_officer_name,
           count(l.id)::integer AS loans,
           (count(l.id) FILTER (WHERE coalesce(s.arrears, 0) > 0))::integer AS loans_in_arrears,
           coalesce(sum(s.owed), 0) AS outstanding, coalesce(sum(s.arrears), 0) AS arrears
    FROM groups g
    JOIN users u ON u.id = g.loan_officer_id
    LEFT JOIN groups p ON p.id = g.parent_id
    LEFT JOIN loans l ON l.group_id = g.id AND l.status IN ('active', 'defaulted')
    LEFT JOIN LATERAL (
        SELECT sum(ps.total_due - ps.total_paid) AS owed,
               sum(ps.total_due - ps.total_paid) FILTER (WHERE ps.due_date < :d) AS arrears
        FROM payment_schedules ps
        WHERE ps.loan_id = l.id AND ps.paid_date IS NULL AND ps.total_paid < ps.total_due) s ON true
    WHERE g.status = 'active'
    GROUP BY g.id, p.group_number, u.full_name
    ORDER BY coalesce(p.group_number, g.group_number), g.parent_id IS NOT NULL, g.group_number
"""), {"d": day}).all()
        centers: dict[int, list[Any]] = {}
        for row in rows:
            if row.parent_id is not None:
                centers.setdefault(row.parent_id, []).append(row)
        result = []
        for row in rows:
            members = centers.get(row.id, []) if row.kind == "center" else []
            result.append(GroupArrears(
                row.id, row.group_number, row.name, row.kind, row.parent_number, row.loan_officer_name,
                row.loans + sum(m.loans for m in members),
                row.loans_in_arrears + sum(m.loans_in_arrears for m in members),
                Decimal(row.outstanding) + sum((Decimal(m.outstanding) for m in members), ZERO),
                Decimal(row.arrears) + sum((Decimal(m.arrears) for m in members), ZERO)))
        return result

    def attendance_trend(self, group_id: int, meetings: int = 12) -> list[AttendancePoint]:
        """The group's last posted meetings, oldest first: lines, how many attended, what was collected. A group
        in a center counts its own members on the center's sheets too."""
        with self.read_work() as session:
            rows = session.execute(text("""
    SELECT s.id, s.meeting_date, count(*)::integer AS lines, (count(*) FILTER (WHERE l.attended))::integer AS attended,
           coalesce(sum(l.amount), 0) AS collected
    FROM collection_sheet_lines l JOIN collection_sheets s ON s.id = l.sheet_id
    WHERE l.group_id = :g OR s.group_id = :g
    GROUP BY s.id, s.meeting_date
    ORDER BY s.meeting_date DESC, s.id DESC
    LIMIT :n
"""), {"g": group_id, "n": meetings}).all()
        return [AttendancePoint(r.id, r.meeting_date, r.lines, r.attended, Decimal(r.collected))
                for r in reversed(rows)]

    def officer_meetings(self, officer_id: int | None = None, week_of: date | None = None) -> list[Meeting]:
        """The meetings of an officer (the caller by default) in the week (Monday to Sunday) of a day: each active
        center and each group not in a center, with its sheet once posted."""
        day = week_of or date.today()
        monday = day - timedelta(days=day.isoweekday() - 1)
        with self.read_work() as session:
            rows = session.execute(text("""
    SELECT g.id, g.group_number, g.name, g.kind, d.meeting_date, g.meeting_place, u.full_name AS loan_officer_name,
           (SELECT s.id FROM collection_sheets s WHERE s.group_id = g.id AND s.meeting_date = d.meeting_date)
               AS posted_sheet_id
    FROM groups g
    JOIN users u ON u.id = g.loan_officer_id
    CROSS JOIN LATERAL (SELECT next_meeting_date(g.id, :monday) AS meeting_date) d
    WHERE g.loan_officer_id = :officer AND g.status = 'active' AND g.parent_id IS NULL
      AND d.meeting_date <= :sunday
    ORDER BY d.meeting_date, g.meeting_place, g.group_number
"""), {"officer": officer_id or self.actor.user_id, "monday": monday, "sunday": monday + timedelta(days=6)}).all()
        return [Meeting(r.id, r.group_number, r.name, r.kind, r.meeting_date, r.meeting_place, r.loan_officer_name,
                        r.posted_sheet_id) for r in rows]


def _lines_json(lines: Sequence[SheetEntry]) -> str:
    return json.dumps([{"loan_id": line.loan_id, "amount": str(line.amount), "attended": bool(line.attended)}
                       for line in lines])


_POST = text("""
    SELECT set_config('astrofin.result',
                      CAST(post_collection_sheet(CAST(:g AS bigint), CAST(:d AS date), CAST(:l AS jsonb),
                                                 CAST(:me AS bigint), CAST(:k AS text)) AS text), true) AS id
""")
_SHEET_HEAD = text("""
    SELECT s.id, g.group_number, g.name, s.meeting_date, b.code AS branch_code, s.posted_at, s.total,
           pu.full_name AS posted_by_name, coalesce(cu.full_name, '') AS officer_name
    FROM collection_sheets s
    JOIN groups g ON g.id = s.group_id
    JOIN branches b ON b.id = s.branch_id
    JOIN users pu ON pu.id = s.posted_by
    LEFT JOIN users cu ON cu.id = s.collected_by
    WHERE s.id = CAST(current_setting('astrofin.result', true) AS bigint)
""")
_SHEET_LINES = text("""
    SELECT g.group_number, g.name AS group_name, c.customer_number, c.first_name || ' ' || c.last_name AS customer_name,
           lo.loan_number, l.amount, l.attended, t.receipt_number,
           EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_transaction_id = l.transaction_id) AS reversed
    FROM collection_sheet_lines l
    JOIN groups g ON g.id = l.group_id
    JOIN customers c ON c.id = l.customer_id
    JOIN loans lo ON lo.id = l.loan_id
    LEFT JOIN transactions t ON t.id = l.transaction_id
    WHERE l.sheet_id = CAST(current_setting('astrofin.result', true) AS bigint)
    ORDER BY g.group_number, c.last_name, c.first_name, lo.loan_number
""")
"""The sheet named by `astrofin.result` and its lines, as its receipt prints them: read in the message that posted it
(or that asks for a reprint)."""


def _sheet_receipt(sheet_id: int, head_rows: Sequence[Any], rows: Sequence[Any]) -> SheetReceipt:
    if not head_rows:
        raise NotFound(f"collection sheet {sheet_id} does not exist or is not one of your branch's")
    head = head_rows[0]
    groups: dict[str, tuple[str, list[ReceiptLine]]] = {}
    for r in rows:
        groups.setdefault(r.group_number, (r.group_name, []))[1].append(ReceiptLine(
            r.customer_number, r.customer_name, r.loan_number, Decimal(r.amount), r.attended, r.receipt_number,
            bool(r.reversed)))
    return SheetReceipt(head.id, head.group_number, head.name, head.meeting_date, head.branch_code, head.posted_at,
                        head.posted_by_name, head.officer_name, Decimal(head.total),
                        tuple(ReceiptGroup(number, name, tuple(lines)) for number, (name, lines) in groups.items()))


class CollectionSheetRepository(Repository):
    """A meeting's collection sheet: load it, post it once, print its receipt."""

    def load(self, group_id: int, meeting_date: date) -> Sheet:
        """The sheet of a group or center for a meeting: one line per active member loan with what is due then,
        arrears included; `posted_sheet_id` when it was already posted. A date that is not a meeting day still
        loads (`is_meeting_day` False, `next_meeting` the next one): posting it is refused."""
        with self.read_work() as session:
            head = session.execute(text("""
    SELECT g.id, g.group_number, g.name, g.kind, g.meeting_frequency, g.first_meeting_date,
           u.full_name AS officer, next_meeting_date(g.id, :d) AS next_meeting,
           (SELECT s.id FROM collection_sheets s WHERE s.group_id = g.id AND s.meeting_date = :d) AS posted
    FROM groups g JOIN users u ON u.id = g.loan_officer_id
    WHERE g.id = :g
"""), {"g": group_id, "d": meeting_date}).one_or_none()
            if head is None:
                raise NotFound(f"group {group_id} does not exist or is not one of your branch's")
            rows = session.execute(text("SELECT * FROM collection_sheet(:g, :d)"),
                                   {"g": group_id, "d": meeting_date}).all()
        groups: dict[int, tuple[str, str, list[SheetLine]]] = {}
        for r in rows:
            groups.setdefault(r.group_id, (r.group_number, r.group_name, []))[2].append(SheetLine(
                r.group_id, r.customer_id, r.customer_number, r.customer_name, r.member_role, r.loan_id,
                r.loan_number, Decimal(r.due), Decimal(r.arrears), Decimal(r.max_payable), r.oldest_due_date,
                r.installments_due))
        step = 14 if head.meeting_frequency == "biweekly" else 7
        since = (meeting_date - head.first_meeting_date).days
        is_meeting = since >= 0 and since % step == 0
        return Sheet(head.id, head.group_number, head.name, head.kind, meeting_date, is_meeting, head.next_meeting,
                     head.officer, head.posted,
                     tuple(SheetGroup(gid, number, name, tuple(lines))
                           for gid, (number, name, lines) in groups.items()))

    def post(self, group_id: int, meeting_date: date, lines: Sequence[SheetEntry], idempotency_key: str) -> int:
        """Posts the meeting: every repayment in one transaction, all or nothing; returns the sheet's id. The same
        group and date posted again (a retry, a second officer) returns the first sheet's id. A refused row raises
        LineRefused naming its loan number; nothing is written. One round trip (db/one_trip.py)."""
        kept, = self._post(group_id, meeting_date, lines, idempotency_key, ())
        return int(kept[0].id)

    def post_with_receipt(self, group_id: int, meeting_date: date, lines: Sequence[SheetEntry],
                          idempotency_key: str) -> SheetReceipt:
        """post, and the sheet's receipt read in the same message: one round trip to the server for both."""
        kept, head, rows = self._post(group_id, meeting_date, lines, idempotency_key, (_SHEET_HEAD, _SHEET_LINES))
        return _sheet_receipt(int(kept[0].id), head, rows)

    def _post(self, group_id: int, meeting_date: date, lines: Sequence[SheetEntry], idempotency_key: str,
              reads: tuple[TextClause, ...]) -> list[Sequence[Any]]:
        problems = {}
        for line in lines:
            if not isinstance(line.amount, Decimal) or not line.amount.is_finite():
                problems[str(line.loan_id)] = "the amount is not a number"
        if problems:
            raise ValidationError(problems)
        return self.statements_in_one_trip((_POST, *reads),
                                           {"g": group_id, "d": meeting_date, "l": _lines_json(lines),
                                            "me": self.actor.user_id, "k": idempotency_key})

    def posted(self, group_id: int, meeting_date: date) -> int | None:
        """The id of the sheet posted for this group and date, if any."""
        with self.read_work() as session:
            value = session.execute(text(
                "SELECT id FROM collection_sheets WHERE group_id = :g AND meeting_date = :d"),
                {"g": group_id, "d": meeting_date}).scalar()
        return None if value is None else int(value)

    def receipt(self, sheet_id: int) -> SheetReceipt:
        """What the sheet's receipt prints (and reprints from the group page): one message, as after posting."""
        kept, head, rows = self.statements_in_one_trip(
            (text("SELECT set_config('astrofin.result', CAST(:s AS text), true) AS id"), _SHEET_HEAD, _SHEET_LINES),
            {"s": sheet_id})
        return _sheet_receipt(sheet_id, head, rows)
