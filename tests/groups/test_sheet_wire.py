"""Bytes on the wire for a meeting: the real app in a pseudo-terminal over the low-bandwidth profile (the harness
of bench.wire, as for the payment), the demo cashier entering a thirty-row sheet, one amount a row. Once the
sheet is on screen, the thirty amounts must cost at most 30 KB: only the typed cell, its group's subtotal and the
total line repaint, and the list scrolls a page at a time."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from bench.wire import Terminal
from db.engine import Actor
from tests.cli_env import cli_env
from tests.groups.book import GroupBranch, add_member, create_group, customer, group_loan
from tests.groups.sheet_book import SURNAMES

ENTER, TAB, CTRL_G = "\r", "\t", "\x07"
BUDGET = 30_000


def _demo_meeting(engine: Engine, members: int = 30) -> None:
    """A weekly group of the demo officer, in the demo staff's branch, meeting today with every member's four
    installments due (the app in the terminal runs on today's date)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT u.id, u.username, u.role, u.full_name, u.branch_id, b.code FROM users u "
            "JOIN branches b ON b.id = u.branch_id WHERE u.username IN ('officer', 'supervisor', 'cashier')")).all()
    staff = {r.username: Actor(r.id, r.username, r.role, r.full_name, branch_id=r.branch_id, branch_code=r.code)
             for r in rows}
    branch = GroupBranch(rows[0].branch_id, rows[0].code,
                         {"officer": staff["officer"], "supervisor": staff["supervisor"], "cashier2": staff["cashier"]})
    first = date.today() - timedelta(days=28)
    engine_app = engine
    group = create_group(engine_app, staff["officer"], "group", "Upendo Wire", first=first)
    for n in range(members):
        c = customer(engine_app, branch, SURNAMES[n])
        add_member(engine_app, staff["officer"], group, c, joined=first - timedelta(days=7))
        group_loan(engine_app, branch, c, group, disbursed=first)


@pytest.fixture
def app_in_pty(db_url: URL) -> Iterator[Terminal]:
    env = cli_env(db_url)
    for var in [name for name in env if name.startswith(("TEXTUAL", "SSH_"))]:
        env.pop(var)
    env.update({"TERM": "xterm-256color", "LC_ALL": "C.UTF-8", "ASTROFIN_PROFILE": "ssh",
                "ASTROFIN_IDLE_LOCK_MINUTES": "0"})
    term = Terminal([sys.executable, "-m", "astrofin_tui.cli"], env)
    term.start()
    try:
        term.wait_for("Password", quiet=0.5)
        yield term
    finally:
        term.stop()


def wait_for(term: Terminal, shown: str, quiet: float = 0.5) -> None:
    try:
        term.wait_for(shown, quiet=quiet, timeout=60.0)
    except TimeoutError:
        with term._lock:
            screen = "\n".join(term.screen.display)
        raise AssertionError(f"the screen never showed {shown!r}; it shows:\n{screen}") from None


def test_entering_a_thirty_row_sheet_sends_at_most_30_kb(engine: Engine, app_in_pty: Terminal) -> None:
    _demo_meeting(engine)
    term = app_in_pty
    term.type(f"cashier{TAB}", gap=0.02)
    term.type(f"cashier-demo{ENTER}", gap=0.02)
    wait_for(term, "Cashier ·")
    term.type(CTRL_G)
    wait_for(term, "Meeting")
    term.type("Upendo", gap=0.05)
    wait_for(term, "Upendo Wire")
    term.type(ENTER)
    wait_for(term, "Total KES 120,000.00 of 120,000.00", quiet=1.5)
    before = term.total()
    for _ in range(30):
        term.type("3500", gap=0.03)
        term.type(ENTER, gap=0.15)
    wait_for(term, "Total KES 105,000.00 of 120,000.00", quiet=1.5)
    sent = term.total() - before
    print(f"\n30 rows entered over the low-bandwidth profile: {sent:,} bytes ({sent / 30:,.0f} a row)")
    assert sent <= BUDGET, sent
