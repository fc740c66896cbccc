"""A progress bar on stderr for the long commands (imports): redrawn in place on a terminal, a line every
tenth of the way otherwise, so a log file gets a few lines and not thousands."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Callable as a progress callback: bar(done, total)."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.started = time.monotonic()
        self.drawn = 0.0
        self.tenth = -1
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        now = time.monotonic()
        if self.tty:
            if now - self.drawn < 0.1 and done < total:
                return
            self.drawn = now
            filled = int(share * self.width)
            rate = done / (now - self.started) if now > self.started else 0.0
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                              f"{done:,}/{total:,} {rate:,.0f}/s ")
            self.stream.flush()
            return
        tenth = int(share * 10)
        if tenth > self.tenth:
            self.tenth = tenth
            self.stream.write(f"{self.label}: {done:,} of {total:,} rows\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
