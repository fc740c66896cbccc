"""A shadow copy of the terminal's screen, so each frame is sent as only the cells that changed.

Textual repaints whole regions: a screen change, a modal's push or a re-layout resends every cell of the
screen even where the picture stays the same. Curses keeps a copy of what the terminal shows and sends the
difference; `ShadowScreen` does the same with Textual's output. What Textual writes is a small language
(cursor positioning, SGR styles, text); it is parsed into the *wanted* grid (character and style per cell),
then the cells that differ from the *shown* grid are written with the cheapest cursor moves and the
shortest style transitions, blank stretches erased (`ECH`, `EL`) instead of written out.

Anything else (terminal modes, queries, clipboard, title) is passed through in order, after the picture
before it has been sent. Sequences that change the screen in ways the grid does not model make every cell
unknown, and an unknown cell is always rewritten. Entering the alternate screen clears it explicitly, so the
grid knows it is blank. Wide characters (CJK, emoji) take two cells; a change to either half rewrites the
whole character, and the cursor is placed absolutely after one, so a terminal that disagrees about a width
loses at most that character's line position until the next move, never the grid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rich.cells import split_graphemes

# --- styles --------------------------------------------------------------------------------------------

_OFF_CODES = {
    "1": "22", "2": "22", "3": "23", "4": "24", "21": "24", "5": "25", "6": "25", "7": "27", "8": "28",
    "9": "29", "51": "54", "52": "54", "53": "55",
}
# Attributes that show on a blank cell; an erased cell (ECH, EL) has none of them, only the background.
_SHOW_ON_BLANK = ("4", "21", "5", "6", "7", "8", "9", "51", "52", "53")


@dataclass(frozen=True, slots=True)
class Pen:
    """The SGR state: attribute codes that are on, and the colours (empty = the terminal's default)."""

    attrs: frozenset[str] = frozenset()
    fg: str = ""
    bg: str = ""
    ul: str = ""  # underline colour (58;…)
    link: str = ""  # an OSC 8 hyperlink: "params;uri"

    def codes(self) -> list[str]:
        return [*sorted(self.attrs, key=_code_order), *(c for c in (self.fg, self.bg, self.ul) if c)]

    @property
    def blank_visible(self) -> bool:
        """True when a space in this style shows more than its background."""
        return bool(self.link) or any(a in _SHOW_ON_BLANK or a.startswith("4:") for a in self.attrs)


def _code_order(code: str) -> tuple[int, str]:
    head = code.split(":", 1)[0]
    return (int(head) if head.isdigit() else 999, code)


DEFAULT_PEN = Pen()


def apply_sgr(pen: Pen, params: str) -> Pen:
    """The pen after `ESC [ params m`."""
    parts = params.split(";") if params else ["0"]
    attrs, fg, bg, ul = set(pen.attrs), pen.fg, pen.bg, pen.ul
    i = 0
    while i < len(parts):
        code = parts[i] or "0"
        i += 1
        head = code.split(":", 1)[0]
        if head in ("38", "48", "58"):
            if ":" in code:  # colon form: one parameter
                colour = code
            else:
                kind = parts[i] if i < len(parts) else ""
                n = 2 if kind == "5" else 4 if kind == "2" else 1
                colour = ";".join([code, *parts[i:i + n]])
                i += n
            if head == "38":
                fg = colour
            elif head == "48":
                bg = colour
            else:
                ul = colour
            continue
        if not head.isdigit():
            continue
        value = int(head)
        if value == 0:
            attrs, fg, bg, ul = set(), "", "", ""
        elif code == "4:0" or value == 24:
            attrs = {a for a in attrs if a not in ("4", "21") and not a.startswith("4:")}
        elif value == 4:
            attrs = {a for a in attrs if a != "4" and not a.startswith("4:")}
            attrs.add(code)
        elif value == 22:
            attrs -= {"1", "2"}
        elif value in (23, 25, 27, 28, 29, 54, 55):
            attrs -= {k for k, off in _OFF_CODES.items() if off == head}
        elif 30 <= value <= 37 or 90 <= value <= 97:
            fg = head
        elif value == 39:
            fg = ""
        elif 40 <= value <= 47 or 100 <= value <= 107:
            bg = head
        elif value == 49:
            bg = ""
        elif value == 59:
            ul = ""
        else:
            attrs.add(code)
    return Pen(frozenset(attrs), fg, bg, ul, pen.link)


def _attr_off(code: str) -> str | None:
    return "24" if code.startswith("4:") else _OFF_CODES.get(code)


def sgr_transition(current: Pen, target: Pen) -> str:
    """The shortest SGR sequence that turns `current` into `target` (links aside): a full reset and the
    target's codes, or only the codes that change."""
    if current.attrs == target.attrs and (current.fg, current.bg, current.ul) == (target.fg, target.bg, target.ul):
        return ""
    full = ["0", *target.codes()] if target.codes() else [""]
    delta: list[str] | None = []
    removed = current.attrs - target.attrs
    added = set(target.attrs - current.attrs)
    for code in sorted(removed, key=_code_order):
        off = _attr_off(code)
        if off is None:
            delta = None
            break
        if off not in delta:  # type: ignore[operator]
            delta.append(off)  # type: ignore[union-attr]
        if off == "22":  # 22 ends bold and faint together: put back the one that stays
            added |= {"1", "2"} & target.attrs
        if off == "24":
            added |= {a for a in target.attrs if a == "4" or a == "21" or a.startswith("4:")}
    if delta is not None:
        delta.extend(sorted(added, key=_code_order))
        for mine, theirs, default in ((current.fg, target.fg, "39"), (current.bg, target.bg, "49"),
                                      (current.ul, target.ul, "59")):
            if mine != theirs:
                delta.append(theirs or default)
    chosen = full if delta is None or len(";".join(delta)) >= len(";".join(full)) else delta
    return f"\x1b[{';'.join(chosen)}m"


def _link_sequence(link: str) -> str:
    return f"\x1b]8;{link}\x1b\\" if link else "\x1b]8;;\x1b\\"


# --- cells ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    text: str  # one grapheme; "" for the right half of a wide character
    pen: Pen
    width: int = 1  # 2 for a wide character's left half, 0 for its right half


UNKNOWN: Cell | None = None  # a cell whose content on the terminal is not known: always rewritten
BLANK = Cell(" ", DEFAULT_PEN)


def make_cell(text: str, pen: Pen, width: int = 1) -> Cell:
    """A cell; a plain space keeps only what shows on it (its background), so equal-looking blanks compare
    equal and can be erased instead of written."""
    if text == " " and not pen.blank_visible:
        pen = Pen(bg=pen.bg) if (pen.attrs or pen.fg or pen.ul) else pen
    return Cell(text, pen, width)


Row = list[Cell | None]

# --- parsing -------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"(?P<csi>\x1b\[(?P<prefix>[<=>?]?)(?P<params>[0-9:;]*)(?P<inter>[\x20-\x2f]*)(?P<final>[\x40-\x7e]))"
    r"|(?P<osc>\x1b\](?P<osc_body>[^\x07\x1b]*)(?:\x07|\x1b\\))"
    r"|(?P<dcs>\x1b[P_^X][^\x1b]*\x1b\\)"
    r"|(?P<esc>\x1b[\x20-\x2f]*[\x30-\x7e])"
    r"|(?P<ctl>[\x00-\x1a\x1c-\x1f\x7f])"
    r"|(?P<text>[^\x00-\x1f\x7f]+)"
    r"|(?P<rest>\x1b)",
    re.DOTALL,
)
# Sequences that may be passed through without resetting the style first: they draw nothing.
_HARMLESS_PRIVATE_MODES = {"2026"}
_ALT_SCREEN_MODES = {"1049", "1047", "47"}
# CSI finals that change the screen in ways the grid does not model.
_UNMODELLED = set("LM@PSTrZIW^`b") | {"s", "u"}


class ShadowScreen:
    """What the terminal shows (`shown`), what the program wants shown (`pending` rows over `shown`), and
    the terminal's real cursor and pen, so only differences are written."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.shown: list[Row] = [[UNKNOWN] * width for _ in range(height)]
        self.pending: dict[int, Row] = {}
        # The program's view: its cursor, pen, modes.
        self.x = self.y = 0
        self.pen = DEFAULT_PEN
        self.wrap_pending = False
        self.autowrap = True
        self.cursor_moved = False
        # The terminal's real state after what was sent (None: unknown).
        self.real_x: int | None = None
        self.real_y: int | None = None
        self.real_pen: Pen | None = DEFAULT_PEN
        self.out: list[str] = []

    # -- grid -----------------------------------------------------------------------------------------

    def resize(self, width: int, height: int) -> None:
        """A new terminal size: nothing on it is known any more (terminals differ in what they keep)."""
        self.width, self.height = width, height
        self.invalidate()
        self.x, self.y = min(self.x, max(width - 1, 0)), min(self.y, max(height - 1, 0))

    def invalidate(self) -> None:
        """Forget what the terminal shows: every cell is rewritten when next drawn."""
        self.shown = [[UNKNOWN] * self.width for _ in range(self.height)]
        self.pending.clear()
        self.real_x = self.real_y = None

    def clear(self) -> str:
        """Clear the terminal (ED 2 with the default style): the sequence to send; the copy is then blank."""
        pen = self.real_pen
        sequence = (_link_sequence("") if pen is None or pen.link else "") + (
            "\x1b[0m" if pen != DEFAULT_PEN else "") + "\x1b[H\x1b[2J"
        self.invalidate()
        self.shown = [[BLANK] * self.width for _ in range(self.height)]
        self.real_x = self.real_y = 0
        self.real_pen = DEFAULT_PEN
        self.cursor_moved = True
        return sequence

    def _row(self, y: int) -> Row:
        row = self.pending.get(y)
        if row is None:
            row = self.pending[y] = list(self.shown[y])
        return row

    def _put(self, x: int, y: int, cell: Cell | None) -> None:
        if 0 <= y < self.height and 0 <= x < self.width:
            self._row(y)[x] = cell

    def _blank(self, x0: int, x1: int, y: int) -> None:
        cell = make_cell(" ", Pen(bg=self.pen.bg))
        for x in range(max(x0, 0), min(x1, self.width)):
            self._put(x, y, cell)

    def _cursor(self, x: int, y: int) -> None:
        self.x = min(max(x, 0), max(self.width - 1, 0))
        self.y = min(max(y, 0), max(self.height - 1, 0))
        self.wrap_pending = False
        self.cursor_moved = True

    def _line_feed(self) -> None:
        if self.y >= self.height - 1:  # the terminal scrolls: let it, and forget the copy
            self._barrier("\n")
            self.invalidate()
        else:
            self.y += 1
        self.wrap_pending = False
        self.cursor_moved = True

    def _text(self, text: str) -> None:
        spans, _ = split_graphemes(text)
        for start, end, width in spans:
            grapheme = text[start:end]
            if width == 0:  # a combining mark or joiner on its own: it belongs to the character to its left
                self._attach(grapheme)
                continue
            if self.wrap_pending and self.autowrap:
                self.x = 0
                self._line_feed()
            if width == 2 and self.x == self.width - 1:  # does not fit: the terminal wraps or clips it
                if not self.autowrap:
                    continue
                self._put(self.x, self.y, make_cell(" ", self.pen))
                self.x = 0
                self._line_feed()
            self._clear_wide_neighbours(self.x, width)
            self._put(self.x, self.y, make_cell(grapheme, self.pen, width))
            if width == 2:
                self._put(self.x + 1, self.y, Cell("", self.pen, 0))
            if self.x + width >= self.width:
                self.x = self.width - 1
                self.wrap_pending = True
            else:
                self.x += width
                self.wrap_pending = False
            self.cursor_moved = True

    def _attach(self, mark: str) -> None:
        x = self.x if self.wrap_pending else self.x - 1
        row = self._row(self.y) if 0 <= self.y < self.height else None
        if row is None or not 0 <= x < self.width:
            return
        if row[x] is not None and row[x].width == 0 and x > 0:  # type: ignore[union-attr]
            x -= 1
        left = row[x]
        if left is not None:
            row[x] = replace(left, text=left.text + mark)

    def _clear_wide_neighbours(self, x: int, width: int) -> None:
        """Writing over half of a wide character blanks its other half (as terminals do)."""
        row = self._row(self.y)
        for cx in range(x, min(x + width, self.width)):
            cell = row[cx]
            if cell is None:
                continue
            if cell.width == 0 and cx - 1 >= 0 and cx - 1 < x:
                left = row[cx - 1]
                row[cx - 1] = make_cell(" ", left.pen if left else DEFAULT_PEN)
            if cell.width == 2 and cx + 1 < self.width and cx + 1 >= x + width:
                right = row[cx + 1]
                row[cx + 1] = make_cell(" ", right.pen if right else DEFAULT_PEN)

    # -- the program's output -------------------------------------------------------------------------

    def feed(self, data: str) -> str:
        """Take what the program wrote; return what to send to the terminal instead."""
        for match in _TOKEN.finditer(data):
            kind = match.lastgroup
            if kind == "text":
                self._text(match.group("text"))
            elif kind == "csi":
                self._csi(match)
            elif kind == "ctl":
                self._control(match.group("ctl"))
            elif kind == "osc":
                body = match.group("osc_body")
                if body.startswith("8;"):
                    self.pen = replace(self.pen, link=body[2:] if body.split(";", 2)[-1] else "")
                else:
                    self._barrier(match.group(0))
            elif kind == "esc":
                seq = match.group(0)
                if seq[1] in "()*+=>":  # character sets, keypad modes: nothing on the screen changes
                    self._barrier(seq)
                else:
                    self._barrier(seq)
                    self.invalidate()
            else:
                self._barrier(match.group(0))
        self.flush()
        out, self.out = "".join(self.out), []
        return out

    def _csi(self, match: re.Match[str]) -> None:
        prefix, params, inter, final = (match.group(g) for g in ("prefix", "params", "inter", "final"))
        if prefix or inter:
            self._barrier(match.group(0))
            if prefix == "?" and final in "hl" and not inter:
                modes = set(params.split(";"))
                if "7" in modes:
                    self.autowrap = final == "h"
                if modes & _ALT_SCREEN_MODES:
                    if final == "l":
                        self.invalidate()
                    else:  # clear it ourselves, so the grid knows it is blank
                        self.out.append(self.clear())
                        self.x = self.y = 0
            return
        nums = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []

        def arg(i: int, default: int = 1) -> int:
            return nums[i] if len(nums) > i and nums[i] else default

        if final == "m":
            self.pen = apply_sgr(self.pen, params)
        elif final in "Hf":
            self._cursor(arg(1) - 1, arg(0) - 1)
        elif final == "A":
            self._cursor(self.x, self.y - arg(0))
        elif final in "Be":
            self._cursor(self.x, self.y + arg(0))
        elif final in "Ca":
            self._cursor(self.x + arg(0), self.y)
        elif final == "D":
            self._cursor(self.x - arg(0), self.y)
        elif final == "E":
            self._cursor(0, self.y + arg(0))
        elif final == "F":
            self._cursor(0, self.y - arg(0))
        elif final in "G`":
            self._cursor(arg(0) - 1, self.y)
        elif final == "d":
            self._cursor(self.x, arg(0) - 1)
        elif final == "X":
            self._blank(self.x, self.x + arg(0), self.y)
            self.wrap_pending = False
        elif final == "K":
            mode = arg(0, 0)
            start, end = (self.x, self.width) if mode == 0 else (0, self.x + 1) if mode == 1 else (0, self.width)
            self._blank(start, end, self.y)
            self.wrap_pending = False
        elif final == "J":
            mode = arg(0, 0)
            rows = range(self.y + 1, self.height) if mode == 0 else range(self.y) if mode == 1 \
                else range(self.height)
            for y in rows:
                self._blank(0, self.width, y)
            if mode == 0:
                self._blank(self.x, self.width, self.y)
            elif mode == 1:
                self._blank(0, self.x + 1, self.y)
        elif final in "nc":  # reports and queries: nothing drawn
            self._barrier(match.group(0))
        else:
            self._barrier(match.group(0))
            if final in _UNMODELLED or final not in "hlqtp":
                self.invalidate()

    def _control(self, char: str) -> None:
        if char == "\r":
            self._cursor(0, self.y)
        elif char in "\n\x0b\x0c":
            self._line_feed()
        elif char == "\b":
            self._cursor(self.x - 1, self.y)
        elif char == "\t":
            self._cursor(min((self.x // 8 + 1) * 8, self.width - 1), self.y)
        elif char == "\x07":
            self._barrier(char)
        # other C0 controls draw nothing

    def _barrier(self, sequence: str) -> None:
        """Send the picture so far, then `sequence` as it is (with the terminal's pen back to default)."""
        self.flush()
        if sequence and not (sequence.startswith("\x1b[?") and sequence[3:-1] in _HARMLESS_PRIVATE_MODES):
            if self.real_pen is None or self.real_pen.link:
                self.out.append(_link_sequence(""))
            if self.real_pen != DEFAULT_PEN:
                self.out.append("\x1b[0m")
                self.real_pen = DEFAULT_PEN
        self.out.append(sequence)

    # -- sending the difference -----------------------------------------------------------------------

    def flush(self) -> None:
        """Write what changed since the last flush, then put the cursor where the program left it."""
        for y in sorted(self.pending):
            wanted = self.pending[y]
            self._send_row(y, self.shown[y], wanted)
            self.shown[y] = wanted
        had_changes = bool(self.pending)
        self.pending.clear()
        if had_changes or self.cursor_moved:
            if (self.real_x, self.real_y) != (self.x, self.y):
                self.out.append(self._move(self.x, self.y))
                self.real_x, self.real_y = self.x, self.y
        self.cursor_moved = False

    def _changed_runs(self, shown: Row, wanted: Row) -> list[tuple[int, int]]:
        width = len(wanted)
        changed = [wanted[x] is not None and wanted[x] != shown[x] for x in range(width)]
        # A wide character is written whole: widen every change that touches half of one, until none does.
        stable = False
        while not stable:
            stable = True
            for x in range(width):
                if not changed[x]:
                    continue
                for row in (shown, wanted):
                    cell = row[x]
                    if cell is None:
                        continue
                    other = x + 1 if cell.width == 2 else x - 1 if cell.width == 0 else -1
                    if 0 <= other < width and not changed[other] and wanted[other] is not None:
                        changed[other] = True
                        stable = False
        runs: list[tuple[int, int]] = []
        x = 0
        while x < width:
            if changed[x]:
                start = x
                while x < width and changed[x]:
                    x += 1
                runs.append((start, x))
            else:
                x += 1
        return runs

    def _send_row(self, y: int, shown: Row, wanted: Row) -> None:
        runs = self._changed_runs(shown, wanted)
        merged: list[tuple[int, int]] = []
        for start, end in runs:
            if merged and self._cheap_gap(wanted, merged[-1][1], start):
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        for start, end in merged:
            if self._send_run(y, start, end, wanted):
                break

    def _cheap_gap(self, wanted: Row, start: int, end: int) -> bool:
        """Rewriting the unchanged cells between two changes is shorter than a cursor move over them."""
        if end - start > 3:
            return False
        before = wanted[start - 1] if start > 0 else None
        if before is None or before.width != 1:
            return False
        for x in range(start, end):
            cell = wanted[x]
            if cell is None or cell.width != 1 or cell.pen != before.pen or not cell.text.isascii():
                return False
        return True

    def _send_run(self, y: int, start: int, end: int, wanted: Row) -> bool:
        """Write cells start..end of row y; True when the rest of the row was erased with it."""
        x = start
        while x < end:
            cell = wanted[x]
            if cell is None:  # unknown and unchanged: step over it
                x += 1
                continue
            if cell.width == 0:  # the right half of a wide character that was not rewritten with its head
                x += 1
                continue
            blanks = self._blank_run(wanted, x, end)
            if blanks >= 3:
                to_eol = all(c == cell for c in wanted[x + blanks:])
                erase = "\x1b[K" if to_eol else _csi(blanks, "X")
                skip = 0 if to_eol or x + blanks >= end else len(_csi(blanks, "C"))
                if len(erase) + skip < blanks:
                    self._goto(x, y)
                    self._set_pen(cell.pen, blank=True)
                    self.out.append(erase)
                    if to_eol:
                        return True
                    x += blanks
                    continue
            self._goto(x, y)
            self._set_pen(cell.pen, blank=cell.text == " " and not cell.pen.blank_visible)
            self.out.append(cell.text)
            if cell.width == 2 or x + cell.width >= self.width:
                # After a wide character or at the margin, the real cursor is not trusted to be anywhere.
                self.real_x = self.real_y = None
            else:
                self.real_x = x + 1
            x += max(cell.width, 1)
        return False

    def _blank_run(self, wanted: Row, x: int, end: int) -> int:
        cell = wanted[x]
        if cell is None or cell.text != " " or cell.pen.blank_visible:
            return 0
        n = x
        while n < end and wanted[n] == cell:
            n += 1
        return n - x

    def _set_pen(self, pen: Pen, blank: bool = False) -> None:
        """Put the terminal's pen at `pen`; for a blank (a space or an erase) any pen with the same
        background, link, and nothing else that shows on a blank, will do."""
        current = self.real_pen
        if blank and current is not None and current.bg == pen.bg and current.link == pen.link \
                and not current.blank_visible:
            return
        if current is None:  # not known: start from a reset
            self.out.append(_link_sequence(pen.link) + f"\x1b[{';'.join(['0', *pen.codes()])}m")
            self.real_pen = pen
            return
        if current.link != pen.link:
            self.out.append(_link_sequence(pen.link))
        self.out.append(sgr_transition(current, pen))
        self.real_pen = pen

    def _goto(self, x: int, y: int) -> None:
        if (self.real_x, self.real_y) != (x, y):
            self.out.append(self._move(x, y))
            self.real_x, self.real_y = x, y

    def _move(self, x: int, y: int) -> str:
        """The shortest sequence that puts the cursor at column x, row y (0-based) from where it is."""
        absolute = f"\x1b[{y + 1};{x + 1}H" if x else (f"\x1b[{y + 1}H" if y else "\x1b[H")
        rx, ry = self.real_x, self.real_y
        if rx is None or ry is None:
            return absolute
        options = [absolute]
        if ry == y:
            vertical = ""
        elif y > ry:
            vertical = _csi(y - ry, "B")
        else:
            vertical = _csi(ry - y, "A")
        vertical = min(vertical, f"\x1b[{y + 1}d", key=len) if vertical else ""
        if x == rx:
            horizontal = ""
        elif x > rx:
            horizontal = min(_csi(x - rx, "C"), "\r" + _csi(x, "C") if x else "\r", f"\x1b[{x + 1}G", key=len)
        else:
            candidates = ["\r" + (_csi(x, "C") if x else ""), _csi(rx - x, "D"), f"\x1b[{x + 1}G"]
            if rx - x <= 2:
                candidates.append("\b" * (rx - x))
            horizontal = min(candidates, key=len)
        options.append(vertical + horizontal)
        return min(options, key=len)


def _csi(n: int, final: str) -> str:
    return f"\x1b[{final}" if n == 1 else f"\x1b[{n}{final}"
