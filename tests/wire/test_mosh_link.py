"""A field officer's link drops for a minute in the middle of a payment: under mosh the form is still there and
the payment goes through once.

The real thing, end to end: bench.ssh_link's shaped 2G-like link (two network namespaces, a veth pair at
64 kbit/s, 300 ms round trip), sshd with ForceCommand `astrofin`, and the `mosh` command in tmux in the client
namespace; `astrofin` becomes mosh-server running the app (astrofin_tui/mosh_login.py). The app reads this
test's database. The cashier signs in, opens payment entry, finds the loan and types an amount; then the
client's end of the link goes down for 60 s (mosh says it has lost contact) and comes back. The pane must show
the same form with the loan and the amount typed, not the idle lock (the default 5 minutes is longer than the
cut) and not a new sign-in; enter and yes record the payment, once.

Skipped (with the reason) when not root, when network namespaces cannot be made, or when mosh cannot be
installed. The cut is the test's 60 s; the rest takes about 15 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from bench.debian import NotInstallable
from bench.mosh_link import (
    NAMES,
    MoshLink,
    amount_row,
    cut_link,
    ensure_mosh,
    half_filled_form,
    lost_contact,
    mosh_argv,
)
from bench.payment_script import sign_in
from bench.ssh_link import Link, Screen, SshServer, play
from db.engine import Actor
from tests.cli_env import cli_env
from tests.tui.conftest import actors  # noqa: F401 (a fixture)
from tests.tui.front import count, make_new_loan

CUT_SECONDS = 60
AMOUNT = "37.50"


@pytest.fixture
def mosh_screen(db_url: URL, tmp_path: Path) -> Iterator[tuple[Screen, MoshLink]]:
    """The `mosh` command's screen in the client namespace, at the app's sign-in; the link, to cut."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the link is made of network namespaces")
    try:
        ensure_mosh()
    except (NotInstallable, OSError) as exc:
        pytest.skip(f"mosh (or openssh, tmux, iproute2) could not be installed: {exc}")
    folder = tmp_path / "mosh"
    folder.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(folder, 0o755)
    data_home = folder / "data"
    data_home.mkdir()
    database = {k: v for k, v in cli_env(db_url).items() if k.startswith("DB_")}
    link = MoshLink(Link(names=NAMES))
    server = SshServer(folder, data_home, env=database, names=NAMES)
    screen = None
    try:
        try:
            link.up()
        except subprocess.CalledProcessError as exc:
            pytest.skip(f"no network namespaces here: {(exc.stderr or '').strip() or exc}")
        screen = Screen(mosh_argv(server.start(), link), NAMES)
        screen.wait_for("Password", timeout=90)
        yield screen, link
    finally:
        if screen is not None:
            screen.close()
        server.stop()
        link.down()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_minute_without_the_link_keeps_the_form_and_pays_once(
        mosh_screen: tuple[Screen, MoshLink], engine: Engine, actors: dict[str, Actor]) -> None:  # noqa: F811
    screen, link = mosh_screen
    loan = make_new_loan(engine, actors, "Wairimu", "Otieno")
    play(screen, sign_in())
    half_filled_form(screen, loan.loan_number, AMOUNT)  # the suggested amount replaced by the cashier's own

    cut = cut_link(screen, link, CUT_SECONDS)
    assert cut.lost_contact_shown  # the link really was gone: mosh said so
    shown = cut.shown
    assert not lost_contact(shown), shown
    assert AMOUNT in amount_row(shown), shown
    assert loan.loan_number in shown, shown
    assert "Locked" not in shown and "Password" not in shown, shown  # neither the idle lock nor a new sign-in
    assert count(engine, "SELECT count(*) FROM transactions WHERE loan_id = :loan AND transaction_type = "
                         "'repayment'", loan=loan.id) == 0

    screen.keys("Enter")
    screen.wait_for("Take this payment?")
    screen.keys("y")
    screen.wait_for("p prints")
    assert count(engine, "SELECT count(*) FROM transactions WHERE loan_id = :loan AND transaction_type = "
                         "'repayment'", loan=loan.id) == 1
    assert count(engine, "SELECT count(*) FROM transactions WHERE loan_id = :loan AND transaction_type = "
                         "'repayment' AND amount = :amount", loan=loan.id, amount=Decimal(AMOUNT)) == 1
