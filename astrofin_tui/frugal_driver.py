"""A terminal driver for slow links: blank runs are erased (ECH) instead of written out as spaces, and
each style reset is folded into the style that follows it.

Textual paints every cell, so a mostly empty screen is mostly spaces on the wire. Curses programs erase
blank stretches with `ESC [ n X` (erase n characters, in the current background colour, without moving the
cursor) and then step over them with `ESC [ n C`. This driver does the same to each frame before it is
written, only where the result looks identical: a run of spaces that is a whole styled segment, whose
style has no underline, blink, reverse or strike-through (erased cells would not show those).
"""

from __future__ import annotations

import re

from textual.drivers.linux_driver import LinuxDriver

# A styled segment made only of spaces: `ESC[<params>m` + spaces, up to the `ESC[0m` that ends it.
_BLANK_SEGMENT = re.compile(r"(\x1b\[([0-9;]*)m)( +)(?=\x1b\[0m)")
_NOT_ERASABLE = {4, 5, 6, 7, 9, 21, 53}  # underline, blink, reverse, strike, double underline, overline


def _erasable(params: str) -> bool:
    codes = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else [0]
    i = 0
    while i < len(codes):
        code = codes[i]
        if code in (38, 48, 58):  # extended colour: 38;5;N or 38;2;R;G;B — skip its arguments
            i += 3 if i + 1 < len(codes) and codes[i + 1] == 5 else 5
            continue
        if code in _NOT_ERASABLE:
            return False
        i += 1
    return True


def _erase(match: re.Match[str]) -> str:
    sgr, params, spaces = match.group(1), match.group(2), match.group(3)
    count = len(spaces)
    replacement = f"\x1b[{count}X\x1b[{count}C"
    if len(replacement) >= count or not _erasable(params):
        return match.group(0)
    return sgr + replacement


# Textual ends every styled segment with a reset and starts the next with its full style; a reset followed
# (after any cursor moves, which do not depend on style) by a style is the same as one `ESC[0;<style>m`.
_RESET_THEN_STYLE = re.compile(r"\x1b\[0m((?:\x1b\[[0-9]*;?[0-9]*H)*)\x1b\[([0-9;]+)m")


def compress(frame: str) -> str:
    """The same picture in fewer bytes."""
    frame = _BLANK_SEGMENT.sub(_erase, frame)
    return _RESET_THEN_STYLE.sub(lambda m: f"{m.group(1)}\x1b[0;{m.group(2)}m", frame)


class FrugalDriver(LinuxDriver):
    def write(self, data: str) -> None:
        super().write(compress(data))
