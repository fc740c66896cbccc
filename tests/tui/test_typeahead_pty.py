"""Keys typed ahead, end to end: the real app in a pseudo-terminal, each burst written in one write as a
password manager, a barcode scanner or a fast cashier sends it, in the default and the low-bandwidth
profile. Every key must land in the field it would have reached had it been typed slowly, and the right
payment must be recorded against the right loan."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from bench.wire import Terminal
from db.engine import Actor
from db.repositories.customers import CustomerRepository
from db.validation import CustomerInput
from tests.cli_env import cli_env
from tests.tui.conftest import TODAY
from tests.tui.front import count, make_new_loan

F2, F3, F4, F5, F6, F7, F8, F9 = ("\x1bOQ", "\x1bOR", "\x1bOS", "\x1b[15~", "\x1b[17~", "\x1b[18~", "\x1b[19~",
                                  "\x1b[20~")
ENTER, TAB, ESC, CTRL_U, CTRL_O = "\r", "\t", "\x1b", "\x15", "\x0f"


@dataclass(frozen=True)
class Book:
    loan_a: str
    loan_a_id: int
    customer_b: str
    loan_b: str
    loan_b_id: int
    customer_without_loan: str


@pytest.fixture
def book(engine: Engine, actors: dict[str, Actor]) -> Book:
    a = make_new_loan(engine, actors, "Achieng", "Wanjiku", disbursed=TODAY)
    b = make_new_loan(engine, actors, "Baraka", "Kamau", disbursed=TODAY)
    nobody = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Chebet", last_name="Njoroge", phone="+254722000333"), today=TODAY)
    return Book(a.loan_number, a.id, b.customer_number, b.loan_number, b.id, nobody.customer_number)


@pytest.fixture(params=["local", "ssh"])
def app_in_pty(request: pytest.FixtureRequest, db_url: URL) -> Iterator[Terminal]:
    env = cli_env(db_url)
    for var in [name for name in env if name.startswith(("TEXTUAL", "SSH_"))]:
        env.pop(var)
    env.update({"TERM": "xterm-256color", "LC_ALL": "C.UTF-8", "ASTROFIN_PROFILE": request.param,
                "ASTROFIN_IDLE_LOCK_MINUTES": "0"})
    term = Terminal([sys.executable, "-m", "astrofin_tui.cli"], env)
    term.start()
    try:
        term.wait_for("Password", quiet=0.5)
        yield term
    finally:
        term.stop()


def burst(term: Terminal, keys: str) -> None:
    """One write: the keys arrive as fast as the link delivers them."""
    term.type(keys.encode(), gap=0.0)


def line_with(term: Terminal, text: str) -> str:
    """The first line below the header (which names the branch, with its own '·') that holds the text."""
    with term._lock:
        return next((line for line in term.screen.display[1:] if text in line), "")


def field(term: Terminal, label: str) -> str:
    """What the screen shows right of a field's label, without the box around the form."""
    return line_with(term, label).split(label, 1)[1].strip(" │")


def wait_for(term: Terminal, text: str, timeout: float = 30.0) -> None:
    try:
        term.wait_for(text, quiet=0.3, timeout=timeout)
    except TimeoutError:
        with term._lock:
            shown = "\n".join(term.screen.display)
        raise AssertionError(f"the screen never showed {text!r}; it shows:\n{shown}") from None


def repayments(engine: Engine, loan_id: int, amount: str) -> int:
    return count(engine, "SELECT count(*) FROM transactions WHERE loan_id = :loan AND transaction_type = "
                         "'repayment' AND amount = :amount", loan=loan_id, amount=Decimal(amount))


def test_bursts_land_where_they_were_meant(app_in_pty: Terminal, book: Book, engine: Engine) -> None:
    term = app_in_pty
    # A password manager: username, tab, password, enter; then the payment screen, a scanned loan number,
    # the amount and the yes to the confirmation, all before the first screen has answered.
    burst(term, f"cashier{TAB}cashier-demo{ENTER}{F3}{book.loan_a}{ENTER}1,000{ENTER}y")
    wait_for(term, "Receipt")
    assert book.loan_a in line_with(term, book.loan_a)
    assert repayments(engine, book.loan_a_id, "1000.00") == 1

    # Back to the form, then a customer number, enter, an amount, enter: the customer's one loan is found
    # and the amount typed replaces the suggested one.
    term.type(ESC, gap=0.3)
    wait_for(term, "Type a loan number")
    burst(term, f"{book.customer_b}{ENTER}2{ENTER}")
    wait_for(term, "Take this payment?")
    assert "Pay KES 2.00" in line_with(term, "Pay KES")
    assert book.loan_b in line_with(term, "·")
    burst(term, "y")
    wait_for(term, "Receipt")
    assert repayments(engine, book.loan_b_id, "2.00") == 1

    # M-Pesa in one burst: tab to the method, m, tab to the reference that m made appear, the receipt number.
    term.type(ESC, gap=0.3)
    wait_for(term, "Type a loan number")
    burst(term, f"{book.loan_a}{ENTER}3{TAB}m{TAB}QK7ABC123{ENTER}y")
    wait_for(term, "Receipt")
    assert "Paid by: M-Pesa, ref QK7ABC123" in line_with(term, "Paid by")
    assert count(engine, "SELECT count(*) FROM transactions WHERE loan_id = :loan AND amount = 3 AND "
                         "payment_method = 'mobile_money' AND payment_reference = 'QK7ABC123'",
                 loan=book.loan_a_id) == 1

    # A customer with no loan: the amount typed ahead is dropped, never appended to the customer number
    # (which would find another customer's loan).
    term.type(ESC, gap=0.3)
    wait_for(term, "Type a loan number")
    before = count(engine, "SELECT count(*) FROM transactions")
    burst(term, f"{book.customer_without_loan}{ENTER}2{ENTER}")
    wait_for(term, "no loan that takes payments matches")
    time.sleep(1.0)
    assert field(term, "Loan / customer") == book.customer_without_loan
    assert not line_with(term, "Take this payment?")
    assert count(engine, "SELECT count(*) FROM transactions") == before

    # Ctrl+U then a name, in one burst, as often as a cashier does it: the field holds the last name only.
    term.type(ESC, gap=0.3)
    wait_for(term, "Cashier ·")
    burst(term, f"{F2}wanjiku{CTRL_U}kamau")
    wait_for(term, "Baraka Kamau")
    assert line_with(term, "kamau").strip() == "kamau"
    assert not line_with(term, "Achieng")
    burst(term, f"{CTRL_U}wanjiku{CTRL_U}kamau{ENTER}")
    wait_for(term, "— Customer")
    # The title comes before the record: on a busy machine "loading the customer…" can last longer than the
    # quiet spell wait_for waits for, so wait for the name itself.
    wait_for(term, "Baraka Kamau")
    assert line_with(term, "Baraka Kamau")

    # Signed out, then the supervisor's bursts across every screen change the function keys make.
    burst(term, CTRL_O)
    wait_for(term, "Password")
    _bursts_across_the_function_keys(term, book)


def _bursts_across_the_function_keys(term: Terminal, book: Book) -> None:
    """As the supervisor, who may open every front and back-office screen but administration."""
    burst(term, f"supervisor{TAB}supervisor-demo{ENTER}{F2}wanjiku{ENTER}")
    wait_for(term, "Achieng Wanjiku ·")
    term.type(ESC, gap=0.3)
    term.type(ESC, gap=0.3)
    wait_for(term, "Supervisor ·")
    # A new customer typed right behind F5: each name in its field.
    burst(term, f"{F5}Amani{TAB}Otieno")
    wait_for(term, "Otieno")
    assert field(term, "First name") == "Amani"
    assert field(term, "Last name") == "Otieno"
    # F3 and a loan number over the customer form: the number lands in payment entry, not in the form.
    burst(term, f"{F3}{book.loan_b}{ENTER}")
    wait_for(term, "Still owed")
    assert field(term, "Loan / customer") == book.loan_b
    # F4 then F2 and a name: the name lands in the search field of customer lookup.
    burst(term, f"{F4}{F2}kamau")
    wait_for(term, "— Find customer")
    wait_for(term, "Baraka Kamau")
    assert line_with(term, "kamau").strip() == "kamau"
    # F6, a customer number and enter, then the principal: the lookup picks the customer and moves the cursor,
    # and the principal typed ahead of it lands in its field.
    burst(term, f"{F6}{book.customer_b}{ENTER}7500")
    wait_for(term, "Baraka Kamau")
    wait_for(term, "7500")
    assert field(term, "Principal").startswith("7500")
    # F7 and a loan number over the application: it opens in loan detail.
    burst(term, f"{F7}{book.loan_a}{ENTER}")
    wait_for(term, "Achieng Wanjiku")
    assert field(term, "Loan number").startswith(book.loan_a) or book.loan_a in line_with(term, book.loan_a)
    # F8 then F9: the reports open over the books.
    burst(term, f"{F8}{F9}")
    wait_for(term, "— Reports")
