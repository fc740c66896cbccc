"""End to end: a Textual app in a pseudo-terminal, once with Textual's own driver and once with the
frugal one, each terminal emulated by pyte. Whatever happens (first frame, typing, a modal, a change of
text with wide characters, a resize, line noise then ctrl+l), both terminals must show the same screen,
and the frugal one must have been sent fewer bytes."""

from __future__ import annotations

import os
import struct
import sys
import termios
import time
from collections.abc import Callable, Iterator
from fcntl import ioctl

import pytest

from bench.wire import Terminal
from tests.wire.test_shadow_screen import Term

WIDE_LABEL = "王小明"
MODAL, CHANGE = b"\x1b[15~", b"\x1b[17~"  # F5, F6


def visible(term: Terminal) -> list[list[tuple[object, ...]]]:
    """Each cell's character and the style that shows (as in test_shadow_screen)."""
    probe = Term(term.screen.columns, term.screen.lines)
    probe.screen = term.screen
    with term._lock:
        return probe.cells()


def start(kind: str) -> Terminal:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXTUAL", "SSH_"))}
    env.update({"TERM": "xterm-256color", "LC_ALL": "C.UTF-8", "COLUMNS": "", "LINES": ""})
    env = {k: v for k, v in env.items() if v}
    term = Terminal([sys.executable, "-m", "tests.wire.demo_app", kind], env)
    term.start()
    term.wait_for(WIDE_LABEL, quiet=1.0)
    return term


def resize(term: Terminal, width: int, height: int) -> None:
    with term._lock:
        term.screen.resize(height, width)
    ioctl(term.fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


@pytest.fixture
def pair() -> Iterator[tuple[Terminal, Terminal]]:
    plain, frugal = start("plain"), start("frugal")
    try:
        yield plain, frugal
    finally:
        plain.stop()
        frugal.stop()


def both(pair: tuple[Terminal, Terminal], action: Callable[[Terminal], None]) -> None:
    for term in pair:
        action(term)
    for term in pair:
        term.wait_quiet(seconds=1.0)


def same_screen(pair: tuple[Terminal, Terminal]) -> None:
    plain, frugal = pair
    assert visible(frugal) == visible(plain), "\n".join(frugal.screen.display)


def test_first_frame_typing_modal_and_changes_show_the_same(pair: tuple[Terminal, Terminal]) -> None:
    same_screen(pair)
    both(pair, lambda t: t.type("\t"))
    both(pair, lambda t: t.type("pay 王", gap=0.1))
    same_screen(pair)
    both(pair, lambda t: t.type(MODAL))
    assert pair[1].shows("Take this payment?")
    same_screen(pair)
    both(pair, lambda t: t.type("\x1b"))
    same_screen(pair)
    both(pair, lambda t: t.type(CHANGE))
    assert pair[1].shows("changed")
    same_screen(pair)
    plain, frugal = pair
    assert frugal.total() < plain.total()


def test_a_resize_redraws_correctly(pair: tuple[Terminal, Terminal]) -> None:
    both(pair, lambda t: resize(t, 60, 18))
    same_screen(pair)
    both(pair, lambda t: resize(t, 90, 30))
    same_screen(pair)
    both(pair, lambda t: t.type(MODAL))
    same_screen(pair)


def test_ctrl_l_repaints_a_garbled_screen(pair: tuple[Terminal, Terminal]) -> None:
    plain, frugal = pair
    with frugal._lock:  # line noise: the terminal shows something the program never sent
        frugal._stream.feed(b"\x1b[3;5H\x1b[41mNOISE NOISE\x1b[0m\x1b[20;1Hmore noise")
    assert frugal.shows("NOISE")
    time.sleep(0.2)
    frugal.type("\x0c")
    frugal.wait_quiet(seconds=1.0)
    assert not frugal.shows("NOISE")
    same_screen(pair)
