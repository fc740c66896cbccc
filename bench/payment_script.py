"""The cashier's payment, as keys and what the screen shows after each: shared by the byte harness
(bench.wire, a pseudo-terminal) and the shaped-link benchmark (bench.ssh_link, tmux over SSH)."""

from __future__ import annotations

# Key names as tmux spells them, and the bytes an xterm sends for each.
KEY_BYTES = {"Enter": "\r", "Tab": "\t", "Escape": "\x1b", "F3": "\x1bOR", "C-u": "\x15"}

Step = tuple[tuple[str, ...], str]
"""Keys to press (tmux names or literal text), then a text the screen shows once the step is done."""


def sign_in(username: str = "cashier") -> list[Step]:
    return [((username,), username), (("Tab",), ""), ((f"{username}-demo", "Enter"), "Cashier ·")]


def payment(loan_number: str) -> list[Step]:
    """From home: F3, find the loan, take the suggested amount, confirm, see the receipt."""
    return [
        (("F3",), "Type a loan number"),
        ((loan_number, "Enter"), "Overdue "),
        (("Enter",), "Take this payment?"),
        (("y",), "p prints"),
    ]


def back_home() -> list[Step]:
    return [(("Escape",), "Type a loan number"), (("Escape",), "Cashier ·")]


def as_bytes(keys: tuple[str, ...]) -> list[str]:
    """The keys as what a terminal sends, one entry per key press (text is typed as it is)."""
    return [KEY_BYTES.get(key, key) for key in keys]
