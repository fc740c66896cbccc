"""Demo groups: two centers of three groups each (Nairobi meets weekly, Mombasa every two weeks), 8 to 12 members a
group, and group loans in every state, repaid at the meetings through collection sheets.

Made through the database's own functions (create_group, add_group_member, the loan workflow, post_collection_sheet)
inside the caller's transaction, as the branch's own staff, with dates relative to today: the last meeting is on or
before today, loans are disbursed on meeting days some meetings back, and each past meeting's sheet is posted by the
branch's cashier (before the demo branches require tills). Members are customers of their own, made by the branch's
loan officer. Runs after the demo loans (whose opening capital includes GROUP_LENDING) and before the tills.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

# (branch, center name, meeting weekday, frequency, place, groups as (name, members)).
CENTERS = (
    ("NRB01", "Gikomba Market Center", 2, "weekly", "Gikomba social hall",
     (("Upendo Women Group", 8), ("Tumaini Traders", 10), ("Jikaze Mama Mboga", 12))),
    ("MSA01", "Kongowea Center", 4, "biweekly", "Kongowea market office",
     (("Baraka Fish Traders", 8), ("Pwani Tailors", 9), ("Amani Self Help", 10))),
)
# What each member's loan becomes, in turn: every state in every center.
KINDS = ("current", "current", "arrears", "closed", "current", "defaulted", "pending", "arrears", "current",
         "written_off", "approved", "rejected")
TERM = {"current": 10, "arrears": 10, "closed": 4, "defaulted": 10, "written_off": 10, "pending": 10,
        "approved": 10, "rejected": 10}
DISBURSED_MEETINGS_AGO = {"current": 7, "arrears": 7, "closed": 12, "defaulted": 16, "written_off": 16}
PAID_INSTALLMENTS = {"defaulted": 3, "written_off": 3}
ARREARS_MEETINGS = 2  # an arrears loan paid nothing at the last two meetings
FIRST_NAMES = ("Mary", "Grace", "Esther", "Ruth", "Jane", "Agnes", "Lucy", "Alice", "Susan", "Rose", "Joyce", "Ann")
LAST_NAMES = ("Wanjiru", "Akinyi", "Chepkemoi", "Mwende", "Nduta", "Atieno", "Kerubo", "Naliaka", "Mumbua",
              "Jeptoo", "Wangari", "Adhiambo", "Halima", "Mwanaisha", "Zuhura")
RATE = Decimal("20")


def principal(n: int) -> Decimal:
    """Member n's loan: 5,000 to 15,000 in steps of 1,000 (the same every time the demo is made)."""
    return Decimal(5000 + 1000 * (n % 11))


def _plans() -> list[tuple[int, int, str]]:
    """(center index, member number over all the demo's groups, kind) of every member."""
    plans = []
    n = 0
    for c, (_b, _c, _w, _f, _p, groups) in enumerate(CENTERS):
        for _name, size in groups:
            for i in range(size):
                plans.append((c, n, KINDS[i % len(KINDS)]))
                n += 1
    return plans


GROUP_LENDING = sum((principal(n) for _c, n, kind in _plans() if kind in DISBURSED_MEETINGS_AGO), Decimal(0))
"""Every group loan disbursed together: part of the demo's opening capital, so cash never goes negative."""


@dataclass
class _Staff:
    officer: int
    supervisor: int
    cashier: int


def _as(conn: Connection, user: int, sql: str, **params: Any) -> Any:
    conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(user)})
    return conn.execute(text(sql), params).scalar()


def _branch_staff(conn: Connection, code: str) -> _Staff | None:
    ids = []
    for role in ("loan_officer", "supervisor", "cashier"):
        user = conn.execute(text(
            "SELECT u.id FROM users u JOIN branches b ON b.id = u.branch_id "
            "WHERE b.code = :b AND u.role = :r AND u.is_active ORDER BY u.id LIMIT 1"), {"b": code, "r": role}).scalar()
        if user is None:
            return None
        ids.append(int(user))
    return _Staff(*ids)


def seed_demo_groups(conn: Connection) -> int:
    """The demo centers, groups, members, group loans and meeting sheets; returns how many groups and centers were
    made. Does nothing (returns 0) when any group exists or a demo branch is missing."""
    if conn.execute(text("SELECT EXISTS (SELECT 1 FROM groups)")).scalar():
        return 0
    today: date = conn.execute(text("SELECT current_date")).scalar_one()
    made = 0
    plans = _plans()
    for c, (code, center_name, weekday, frequency, place, groups) in enumerate(CENTERS):
        staff = _branch_staff(conn, code)
        if staff is None:
            continue
        step = 14 if frequency == "biweekly" else 7
        last = today - timedelta(days=(today.isoweekday() - weekday) % 7)
        if frequency == "biweekly":
            last -= timedelta(days=7 * (today.toordinal() // 7 % 2))  # any fixed parity
        anchor = last - timedelta(days=step * 20)
        meetings = [anchor + timedelta(days=step * k) for k in range(21)]  # meetings[-1] == last
        center = _as(conn, staff.officer, "SELECT create_group('center', :n, NULL, :o, :w, :f, :d, :p, :o)",
                     n=center_name, o=staff.officer, w=weekday, f=frequency, d=anchor, p=place)
        made += 1
        members = [p for p in plans if p[0] == c]
        loans: dict[int, tuple[str, int]] = {}  # loan -> (kind, member number)
        offset = 0
        for group_name, size in groups:
            group = _as(conn, staff.officer, "SELECT create_group('group', :n, :c, :o, NULL, NULL, NULL, NULL, :o)",
                        n=group_name, c=center, o=staff.officer)
            made += 1
            for i, (_c, n, kind) in enumerate(members[offset:offset + size]):
                customer = _customer(conn, staff.officer, code, n, today)
                role = ("chair", "secretary", "treasurer")[i] if i < 3 else "member"
                _as(conn, staff.officer, "SELECT add_group_member(:g, :c, :r, :j, :o)", g=group, c=customer, r=role,
                    j=anchor - timedelta(days=7), o=staff.officer)
                loan = _loan(conn, staff, customer, group, kind, n, frequency, meetings, today)
                if loan is not None:
                    loans[loan] = (kind, n)
            offset += size
        _meetings(conn, staff, center, meetings, loans)
        for loan, (kind, _n) in loans.items():
            if kind in ("defaulted", "written_off"):
                # Marking defaults belongs to the maintenance run; the demo states the outcome directly.
                conn.execute(text("UPDATE loans SET status = 'defaulted' WHERE id = :l"), {"l": loan})
            if kind == "written_off":
                _as(conn, staff.supervisor, "SELECT write_off_loan(:l, :s, :r, :d)", l=loan, s=staff.supervisor,
                    r="Member left town; the group could not cover her", d=today - timedelta(days=5))
    conn.execute(text("SELECT set_config('astrofin.user_id', '', true)"))
    return made


def _customer(conn: Connection, officer: int, code: str, n: int, today: date) -> int:
    first = FIRST_NAMES[n % len(FIRST_NAMES)]
    last = LAST_NAMES[(n * 7) % len(LAST_NAMES)]
    national_id = f"{31_200_000 + n}"
    return int(_as(conn, officer,
                   "INSERT INTO customers (first_name, last_name, national_id, phone, gender, date_of_birth, "
                   "occupation, address, created_by, branch_id) "
                   "SELECT :f, :l, :i, :p, 'female', :dob, 'Market trader', :a, :o, b.id FROM branches b "
                   "WHERE b.code = :b RETURNING id",
                   f=first, l=last, i=national_id, p=f"+2547{22_400_000 + n}", dob=date(today.year - 25 - n % 30, 3, 1),
                   a="Nairobi" if code == "NRB01" else "Mombasa", o=officer, b=code))


def _loan(conn: Connection, staff: _Staff, customer: int, group: int, kind: str, n: int, frequency: str,
          meetings: list[date], today: date) -> int | None:
    """Member n's group loan in the state `kind`; None for a member whose loan never reaches the sheets."""
    ago = DISBURSED_MEETINGS_AGO.get(kind)
    disbursed = meetings[-1 - ago] if ago is not None else None
    applied = (disbursed or today) - timedelta(days=3 if disbursed else n % 5)
    loan = int(_as(conn, staff.officer,
                   "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
                   "repayment_frequency, purpose, application_date, loan_officer_id, created_by, group_id) "
                   "VALUES (:c, :p, :r, 'flat', :t, :f, 'Stock for the stall', :a, :o, :o, :g) RETURNING id",
                   c=customer, p=principal(n), r=RATE, t=TERM[kind], f=frequency, a=applied, o=staff.officer,
                   g=group))
    if kind == "pending":
        return None
    if kind == "rejected":
        _as(conn, staff.supervisor, "SELECT reject_loan(:l, :s, :r)", l=loan, s=staff.supervisor,
            r="The group did not guarantee this amount")
        return None
    _as(conn, staff.supervisor, "SELECT approve_loan(:l, :s)", l=loan, s=staff.supervisor)
    if disbursed is None:
        return None
    conn.execute(text("UPDATE loans SET approved_at = (:d + time '10:00')::timestamptz WHERE id = :l"),
                 {"d": disbursed - timedelta(days=1), "l": loan})
    _as(conn, staff.cashier, "SELECT disburse_loan(:l, :c, :d)", l=loan, c=staff.cashier, d=disbursed)
    return loan


def _meetings(conn: Connection, staff: _Staff, center: int, meetings: list[date],
              loans: dict[int, tuple[str, int]]) -> None:
    """Every past meeting's sheet of the center: each loan pays what falls due (arrears loans stop two meetings
    before the last, defaulted ones after three installments); attendance follows."""
    for k, day in enumerate(meetings):
        rows = conn.execute(text(
            "SELECT r.loan_id, r.due, (SELECT count(*) FROM payment_schedules s WHERE s.loan_id = r.loan_id "
            "AND s.status = 'paid') AS paid FROM collection_sheet(:g, :d) r"), {"g": center, "d": day}).all()
        lines = []
        for row in rows:
            kind, n = loans.get(row.loan_id, ("current", 0))
            with_paid = row.paid
            pays = row.due > 0
            if kind == "arrears" and k >= len(meetings) - ARREARS_MEETINGS:
                pays = False
            if kind in PAID_INSTALLMENTS and with_paid >= PAID_INSTALLMENTS[kind]:
                pays = False
            amount = row.due if pays else Decimal("0")
            lines.append({"loan_id": row.loan_id, "amount": str(amount), "attended": pays or (n + k) % 3 != 0})
        if any(Decimal(line["amount"]) > 0 for line in lines):
            _as(conn, staff.cashier, "SELECT post_collection_sheet(:g, :d, CAST(:l AS jsonb), :c, :k)", g=center,
                d=day, l=json.dumps(lines), c=staff.cashier, k=f"demo-sheet-{center}-{day}")
