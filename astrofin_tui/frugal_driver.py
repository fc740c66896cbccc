"""A terminal driver for slow links: it keeps a shadow copy of the screen and sends only the cells that
changed since the last frame (see `astrofin_tui.shadow_screen`).

Textual repaints whole regions on every screen change, modal and re-layout; curses programs keep a copy of
what the terminal shows and send the difference, erasing blank stretches (`ECH`, `EL`) instead of writing
them out. This driver does the same with each frame Textual writes.

The copy must never drift from the terminal:
- entering the alternate screen clears it, so the copy starts blank;
- a resize (SIGWINCH or an in-band report) forgets the copy: every cell of the next frames is sent;
- ctrl+l clears the terminal and repaints every cell, for a screen garbled by line noise or another
  program writing to the terminal.

Keys that arrive bunched over a slow link are the app's business, as in every profile: see
screens.typeahead.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any

from textual import events
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from astrofin_tui.shadow_screen import ShadowScreen

REPAINT_KEY = "ctrl+l"
SYNC_START, SYNC_END = "\x1b[?2026h", "\x1b[?2026l"
NONE, HELD, SENT = 0, 1, 2  # a synchronized-output start mark: none, held back, sent


class FrugalDriver(LinuxDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shadow_lock = threading.Lock()
        self._shadow: ShadowScreen | None = None
        # Set from a signal handler or the input thread, applied before the next frame is written. Each
        # resize stores a new tick from an atomic counter, so none is lost between reading and clearing.
        self._ticks = itertools.count(1)
        self._resize_tick = 0
        self._resize_seen = 0
        self._new_size: tuple[int, int] | None = None
        self._clear_requested = False
        # Textual brackets each frame in synchronized-output marks when the terminal has them; a frame
        # that changes nothing is then sent as nothing, not as an empty pair of marks.
        self._sync = NONE

    def write(self, data: str) -> None:
        with self._shadow_lock:
            shadow = self._shadow
            if shadow is None:
                self._resize_seen = self._resize_tick
                shadow = self._shadow = ShadowScreen(*(self._new_size or super()._get_terminal_size()))
            tick = self._resize_tick
            if tick != self._resize_seen and self._new_size is not None:
                self._resize_seen = tick
                shadow.resize(*self._new_size)
            if data == SYNC_START:
                self._sync = HELD
                return
            prefix = ""
            if self._clear_requested:
                self._clear_requested = False
                prefix = shadow.clear()
            out = prefix + shadow.feed(data)
            if data == SYNC_END:
                if self._sync == HELD:  # nothing sent since the start mark: send neither mark
                    body = out.removesuffix(SYNC_END)
                    out = SYNC_START + body + SYNC_END if body else ""
                self._sync = NONE
            elif out and self._sync == HELD:
                out = SYNC_START + out
                self._sync = SENT
            if out:
                super().write(out)

    def _get_terminal_size(self) -> tuple[int, int]:
        # Called for each SIGWINCH (and once at start): whatever the terminal kept is no longer trusted.
        size = super()._get_terminal_size()
        self._resized(size)
        return size

    def _resized(self, size: tuple[int, int]) -> None:
        self._new_size = size
        self._resize_tick = next(self._ticks)

    def process_message(self, message: Message) -> None:
        if isinstance(message, events.Resize):  # an in-band resize report
            self._resized((message.size.width, message.size.height))
        elif isinstance(message, events.Key) and message.key == REPAINT_KEY:
            self.repaint_all()
        super().process_message(message)

    def repaint_all(self) -> None:
        """Clear the terminal and send every cell again (safe from any thread)."""
        self._clear_requested = True
        app = self._app
        loop = getattr(self, "_loop", None)
        if isinstance(loop, asyncio.AbstractEventLoop) and not loop.is_closed():
            loop.call_soon_threadsafe(lambda: app.screen.refresh(repaint=True))
