"""The shadow screen sends only what changed, and a terminal that receives it shows exactly what it would
have shown had it received Textual's full output. Both streams are fed to `pyte` (a VT emulator) and the
screens compared cell by cell: character, and the style that shows (a blank shows only its background,
reverse, underline and strike-through)."""

from __future__ import annotations

import random

import pyte
import pytest
from rich.cells import cell_len

from astrofin_tui.shadow_screen import DEFAULT_PEN, Pen, ShadowScreen, apply_sgr, sgr_transition

W, H = 80, 24


class Term:
    """A pyte terminal."""

    def __init__(self, width: int = W, height: int = H) -> None:
        self.screen = pyte.Screen(width, height)
        self.stream = pyte.Stream(self.screen)

    def feed(self, data: str) -> None:
        self.stream.feed(data)

    def cells(self) -> list[list[tuple[object, ...]]]:
        rows = []
        for y in range(self.screen.lines):
            row: list[tuple[object, ...]] = []
            for x in range(self.screen.columns):
                c = self.screen.buffer[y][x]
                if c.data == " ":
                    row.append((" ", c.bg, c.reverse, c.underscore, c.strikethrough))
                else:
                    row.append((c.data, c.fg, c.bg, c.bold, c.italics, c.underscore, c.strikethrough, c.reverse,
                                c.blink))
            rows.append(row)
        return rows

    def text(self) -> list[str]:
        return list(self.screen.display)

    @property
    def cursor(self) -> tuple[int, int]:
        return min(self.screen.cursor.x, self.screen.columns - 1), self.screen.cursor.y  # x = width: pending wrap


class Pair:
    """The same program output into two terminals: as written, and through a shadow screen."""

    def __init__(self, width: int = W, height: int = H) -> None:
        self.plain, self.frugal = Term(width, height), Term(width, height)
        self.shadow = ShadowScreen(width, height)
        self.sent = 0
        start = "\x1b[?1049h"
        self.plain.feed(start)
        self.frugal.feed(self.shadow.feed(start))

    def feed(self, frame: str) -> str:
        out = self.shadow.feed(frame)
        self.sent += len(out.encode())
        self.plain.feed(frame)
        self.frugal.feed(out)
        return out

    def check(self) -> None:
        assert self.frugal.cells() == self.plain.cells(), "\n".join(self.frugal.text())
        assert self.frugal.cursor == self.plain.cursor


def line(x: int, y: int, *segments: tuple[str, str]) -> str:
    """A Textual-like strip: a cursor move, then each (sgr, text) segment ended by a reset."""
    return f"\x1b[{y + 1};{x + 1}H" + "".join(f"\x1b[{sgr}m{text}\x1b[0m" for sgr, text in segments)


def full_frame(rows: list[list[tuple[str, str]]]) -> str:
    """What Textual writes for a full repaint: every line, joined by newlines, then the cursor placed."""
    return "\n".join(line(0, y, *row) for y, row in enumerate(rows)) + "\x1b[1;1H"


def screen(title: str, body: str, width: int = W, height: int = H) -> list[list[tuple[str, str]]]:
    rows = [[("1;37;44", title.ljust(width)[:width])]]
    for y in range(1, height - 1):
        text = f"{body} {y}" if y % 3 == 0 else ""
        rows.append([("39;49", text.ljust(width)[:width])])
    rows.append([("30;46", " ^p palette  ctrl+o Sign out".ljust(width)[:width])])
    return rows


def test_first_frame_draws_the_whole_screen() -> None:
    pair = Pair()
    pair.feed(full_frame(screen("AstroFinance", "first")))
    pair.check()


def test_repainting_the_same_picture_sends_nothing() -> None:
    pair = Pair()
    frame = full_frame(screen("AstroFinance", "same"))
    pair.feed(frame)
    assert pair.feed(frame) == ""
    pair.check()


def test_a_screen_change_sends_only_the_difference() -> None:
    pair = Pair()
    pair.feed(full_frame(screen("AstroFinance · Home", "home line")))
    out = pair.feed(full_frame(screen("AstroFinance · Payment", "home line")))
    pair.check()
    assert "Payment" in out and "home line" not in out
    assert len(out) < 40


def test_one_typed_character_costs_a_few_bytes() -> None:
    pair = Pair()
    pair.feed(full_frame(screen("Sign in", "x")))
    typed = ""
    for char in "cashier":
        typed += char
        out = pair.feed(line(10, 5, ("39;49", typed.ljust(30))) + "\x1b[6;11H")
        pair.check()
        assert len(out) <= 20, repr(out)


def test_blank_stretches_are_erased_and_the_rest_of_a_line_cleared() -> None:
    pair = Pair()
    pair.feed(line(0, 2, ("41", "x" * 80)))
    out = pair.feed(line(0, 2, ("41", "x" + " " * 40 + "y" * 39)))
    pair.check()
    assert "\x1b[40X" in out
    out = pair.feed(line(0, 2, ("41", "x" + " " * 79)))
    pair.check()
    assert out.count("\x1b[K") == 1 and " " * 10 not in out


def test_blanks_whose_style_shows_are_written_not_erased() -> None:
    pair = Pair()
    pair.feed(line(0, 1, ("39;49", "a" * 30)))
    out = pair.feed(line(0, 1, ("7", " " * 30)))
    pair.check()
    assert " " * 30 in out


def test_wide_characters_are_rewritten_whole() -> None:
    pair = Pair()
    pair.feed(full_frame(screen("Customers", "row")))
    pair.feed(line(4, 3, ("39;49", "王小明 Wanjiru 😀 ok")))
    pair.check()
    # Change only the text after the emoji, then replace the CJK name by a narrower one.
    pair.feed(line(4, 3, ("39;49", "王小明 Wanjiru 😀 OK")))
    pair.check()
    pair.feed(line(4, 3, ("39;49", "Ann  Wanjiru 😀 OK")))
    pair.check()
    pair.feed(line(4, 3, ("39;49", "A王小明Wanjiru 😀 OK")))
    pair.check()


def test_combining_marks_stay_with_their_letter() -> None:
    pair = Pair()
    pair.feed(line(0, 0, ("39;49", "Jose\u0301 Nin\u0303o")))
    pair.feed(line(0, 0, ("39;49", "Jose\u0301 Nin\u0303a")))
    pair.check()


def test_the_cursor_ends_where_the_program_put_it() -> None:
    pair = Pair()
    pair.feed(full_frame(screen("Sign in", "x")) + "\x1b[7;15H")
    pair.check()
    pair.feed(line(14, 6, ("39;49", "a")) + "\x1b[7;16H")
    pair.check()
    assert pair.frugal.cursor == (15, 6)


def test_modes_and_queries_pass_through_in_order_with_the_style_reset() -> None:
    shadow = ShadowScreen(W, H)
    shadow.feed("\x1b[?1049h")
    out = shadow.feed("\x1b[1;1H\x1b[1;31mred\x1b[?2004h\x1b[6n")
    assert out.index("red") < out.index("\x1b[?2004h") < out.index("\x1b[6n")
    assert out.index("\x1b[0m") < out.index("\x1b[?2004h")
    out = shadow.feed("\x1b[?1049l\x1b[?25h")
    assert out.endswith("\x1b[?1049l\x1b[?25h")


def test_entering_the_alternate_screen_clears_it() -> None:
    shadow = ShadowScreen(W, H)
    assert shadow.feed("\x1b[?1049h") == "\x1b[?1049h\x1b[H\x1b[2J"


def test_a_resize_forgets_the_copy_and_the_next_frame_is_sent_whole() -> None:
    pair = Pair(40, 10)
    pair.feed(full_frame(screen("Home", "line", 40, 10)))
    pair.shadow.resize(30, 8)
    pair.plain.screen.resize(8, 30)
    pair.frugal.screen.resize(8, 30)
    pair.frugal.feed("\x1b[3;3Hgarbage")  # what a terminal may keep or reflow after a resize
    pair.plain.feed("\x1b[3;3Hgarbage")
    out = pair.feed(full_frame(screen("Home", "line", 30, 8)))
    pair.check()
    assert out.count("line") == len([y for y in range(1, 7) if y % 3 == 0])


def test_clear_then_full_repaint_redraws_a_garbled_screen() -> None:
    pair = Pair()
    frame = full_frame(screen("Home", "line"))
    pair.feed(frame)
    pair.frugal.feed("\x1b[5;5Hline noise\x1b[41m  ")  # not the program's doing
    pair.frugal.feed(pair.shadow.clear())
    pair.feed(frame)
    pair.check()


def test_a_scroll_or_unknown_sequence_makes_every_cell_unknown() -> None:
    pair = Pair(20, 5)
    pair.feed(full_frame(screen("Home", "line", 20, 5)))
    pair.feed("\x1b[2;1H\x1b[L")  # insert line: not modelled
    out = pair.feed(full_frame(screen("Home", "line", 20, 5)))
    pair.check()
    assert "Home" in out


@pytest.mark.parametrize(("before", "after"), [
    ("1;31", "31"), ("1;2;31", "2;31"), ("4;41", "41"), ("0", "1;38;5;203;48;5;17"), ("7;32", "7;33"),
    ("38;2;10;20;30", "48;2;1;2;3"), ("4:3;58;5;1", "4"), ("3;9", "0"),
])
def test_sgr_transitions_reach_the_target_style(before: str, after: str) -> None:
    current, target = apply_sgr(DEFAULT_PEN, before), apply_sgr(DEFAULT_PEN, after)
    step = sgr_transition(current, target)
    assert apply_sgr(current, step[2:-1]) == target
    assert len(step) <= len(f"\x1b[0;{after}m")


def test_sgr_parses_extended_colours_as_colours() -> None:
    pen = apply_sgr(DEFAULT_PEN, "38;5;5;48;2;1;2;3;1")
    assert pen == Pen(frozenset({"1"}), "38;5;5", "48;2;1;2;3")


STYLES = ["0", "1", "7", "4", "39;49", "1;37;44", "30;46", "2;33", "3;38;5;245", "48;5;236", "9;31",
          "38;2;200;10;10;48;2;0;0;40", "1;4;35", "41", "93;100"]
WORDS = ["Wanjiru", "王小明", "😀", "KES 1,250.00", "  ", "        ", "Overdue", "│", "─" * 6, "Ñandú",
         "café", " " * 20, "ok"]  # (pyte wraps a combining mark at the margin: kept out)


def random_segment_text(rng: random.Random, width: int) -> str:
    """Text exactly `width` cells wide, wide characters only at even cells (as Textual's strips align them)."""
    text, cells = "", 0
    while cells < width:
        word = rng.choice(WORDS)
        size = cell_len(word)
        if cells + size > width or (size != len(word) and cells % 2):
            text += " "
            cells += 1
            continue
        text += word
        cells += size
    return text


@pytest.mark.parametrize("seed", range(16))
def test_random_frames_show_the_same_picture(seed: int) -> None:
    rng = random.Random(seed)
    width, height = rng.choice([(80, 24), (40, 12), (23, 7)])
    pair = Pair(width, height)
    pair.feed(full_frame([[(rng.choice(STYLES), random_segment_text(rng, width))] for _ in range(height)]))
    pair.check()
    for _ in range(40):
        parts = []
        for _ in range(rng.randint(1, 6)):
            y = rng.randrange(height)
            x = start = rng.randrange(0, width, 2)
            segments = []
            while x < width and rng.random() < 0.8:
                span = min(width - x, rng.choice([2, 4, 10, 20, 40]))
                segments.append((rng.choice(STYLES), random_segment_text(rng, span)))
                x += span
            parts.append(line(start, y, *segments))
        parts.append(f"\x1b[{rng.randrange(height) + 1};{rng.randrange(width) + 1}H")
        pair.feed("".join(parts))
        pair.check()
