"""Type-ahead as curses programs have it: every key reaches the widget that would have had it had the keys
been typed slowly, in order.

A counter runs at speed. A password manager types `user TAB password ENTER` in one burst, a scanner sends
a loan number and Enter within milliseconds, a cashier types the amount before the loan has loaded. Textual
hands each key to whatever has focus at the moment it reads the key, but focus moves, screens open and
database answers arrive a few steps later, so keys right behind a Tab, an Enter or a function key would land
in the field or screen they were meant to leave.

`TypeAhead` sits between the terminal and the app. A key goes through at once when nothing is pending;
otherwise it waits in a queue, in order, until
- the app has *settled*: every message the previous key caused, on the app and on every widget of the
  screen in front (focus moves, screen pushes and pops, dialogs, field clears), has been handled; and
- no *hold* blocks it: a screen that asked the database something whose answer moves focus or changes what
  the next key means holds keys until the answer is on screen (`hold`/`release`, done by the one database
  path in screens.data). A hold may let through keys that only edit the field being typed in
  (`EDITING_PASSES`), so typing stays as fast as the person while Enter waits for the answer.

Keys typed ahead of something that failed are dropped (`flush`), as curses programs flush their input
on an error: "C-000003 ENTER 2 ENTER" must never pay 2 into whatever "C-0000032" finds because the first
customer had no loan. Nothing else typed is dropped: a settle that cannot finish (a handler that waits on
something else) gives up after `SETTLE_LIMIT` seconds and the queue moves on.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from textual import events

if TYPE_CHECKING:
    from textual.app import App
    from textual.message_pump import MessagePump

KeyFilter = Callable[[events.Key], bool]
"""Which keys a hold keeps back (True: this key waits)."""

SETTLE_LIMIT = 2.0
"""Seconds a settle may take before the next key goes on regardless (a handler waiting on something else)."""

_EDITING = frozenset({
    "backspace", "delete", "left", "right", "home", "end", "ctrl+left", "ctrl+right", "shift+left",
    "shift+right", "shift+home", "shift+end", "ctrl+u", "ctrl+k", "ctrl+w", "ctrl+a", "ctrl+e", "ctrl+h",
    "ctrl+d",
})


def every_key(_key: events.Key) -> bool:
    """Hold everything: the answer decides where every following key belongs."""
    return True


def editing_passes(key: events.Key) -> bool:
    """Hold all but the keys that type into or move within the field (search and preview as you type)."""
    return not (key.is_printable or key.key in _EDITING)


ALL_KEYS: KeyFilter = every_key
EDITING_PASSES: KeyFilter = editing_passes


class TypeAhead:
    """The app's queue of keys typed ahead; see the module's docstring."""

    def __init__(self, app: App[Any], dispatch: Callable[[events.Key | events.Paste], Awaitable[None]],
                 settle_limit: float = SETTLE_LIMIT) -> None:
        self._app = app
        self._dispatch = dispatch
        self._settle_limit = settle_limit
        self._queue: deque[events.Key | events.Paste] = deque()
        self._holds: dict[int, tuple[object, KeyFilter]] = {}
        self._tokens = itertools.count(1)
        self._busy = False
        """A key was handed on and what it caused has not settled yet (or the pump is at work)."""
        self._wake: asyncio.Event | None = None
        self._pump: asyncio.Task[None] | None = None

    # --- holds ---------------------------------------------------------------------------------------

    def hold(self, owner: object, keys: KeyFilter = ALL_KEYS) -> int:
        """Keep back the keys `keys` selects until `release(token)`; returns the token."""
        token = next(self._tokens)
        self._holds[token] = (owner, keys)
        return token

    def release(self, token: int) -> None:
        if self._holds.pop(token, None) is not None:
            self._poke()

    def release_all(self, owner: object) -> None:
        """Everything `owner` holds (a screen going away takes its holds with it)."""
        for token in [t for t, (who, _) in self._holds.items() if who is owner]:
            del self._holds[token]
        self._poke()

    def flush(self) -> int:
        """Drop the keys typed ahead (what they were typed for did not happen: a refusal, an error, a lost
        connection); returns how many were dropped. Keys typed after this are kept as usual."""
        dropped = len(self._queue)
        self._queue.clear()
        self._poke()
        return dropped

    def held(self, event: events.Key | events.Paste) -> bool:
        key = _PASTED if isinstance(event, events.Paste) else event  # a paste is held as typed text is
        return any(keys(key) for _, keys in self._holds.values())

    # --- keys ----------------------------------------------------------------------------------------

    async def key(self, event: events.Key | events.Paste) -> None:
        """A key (or a paste, which is typing too) from the terminal; called by the app on its own loop."""
        if not self._queue and not self._busy and not self.held(event):
            self._busy = True
            try:
                await self._dispatch(event)
            finally:
                self._start_pump()  # even when a handler failed: the keys behind must not be stranded
            return
        self._queue.append(event)
        self._start_pump()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _start_pump(self) -> None:
        if self._pump is None or self._pump.done():
            self._busy = True
            self._pump = asyncio.get_running_loop().create_task(self._run(), name="type-ahead")
        else:
            self._poke()

    async def _run(self) -> None:
        self._wake = asyncio.Event()
        try:
            while True:
                await self._settle()
                if not self._queue:
                    return
                head = self._queue[0]
                if self.held(head):
                    self._wake.clear()
                    if self.held(head):  # a release may have come between the check and the clear
                        await self._wake.wait()
                    continue
                self._queue.popleft()
                self._app.post_message(ReleasedKey(head))
        finally:
            self._busy = bool(self._queue)
            self._pump = None
            if self._queue:  # ended by an error or cancellation with keys left: never strand them
                try:
                    self._start_pump()
                except RuntimeError:  # the loop is closing with the app
                    pass

    async def _settle(self) -> None:
        """Wait until the app and the screen in front have handled every message queued so far, and what
        those messages queued in turn (a screen push, its mount, the focus it sets)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settle_limit
        while loop.time() < deadline:
            if not await _drain(self._pumps(), max(deadline - loop.time(), 0.001)):
                return
            await asyncio.sleep(0)  # let tasks the handlers started (screen switches) take their first step
            if all(_quiet(pump) for pump in self._pumps()):
                return

    def _pumps(self) -> list[MessagePump]:
        """The app, the screen in front and whatever has focus, and every widget of that screen with messages
        still queued (a widget with none has nothing that could move focus or open a screen)."""
        app = self._app
        try:
            screen = app.screen
        except Exception:  # noqa: BLE001 - no screen yet, or the app is closing: nothing to wait for
            return [app] if app.is_running else []
        pumps: list[MessagePump] = [app, screen]
        focused = screen.focused
        if focused is not None and focused.is_running:
            pumps.append(focused)
        pumps.extend(node for node in screen.walk_children() if node.is_running and not _quiet(node)
                     and node is not focused)
        return pumps


def typeahead_of(app: object) -> TypeAhead | None:
    """The app's type-ahead queue, when the app has one (the AstroFinance app does; a test's bare app may not)."""
    found = getattr(app, "typeahead", None)
    return found if isinstance(found, TypeAhead) else None


async def _drain(pumps: list[MessagePump], timeout: float) -> bool:
    """Queue a marker behind everything each pump has queued and wait until every marker ran; False when
    there was nothing to wait for or the wait timed out."""
    remaining = 0
    drained = asyncio.Event()

    def one_done() -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            drained.set()

    for pump in pumps:
        if pump.call_later(one_done):
            remaining += 1
    if remaining == 0:
        return False
    try:
        await asyncio.wait_for(drained.wait(), timeout=timeout)
    except TimeoutError:
        return False
    return True


def _quiet(pump: MessagePump) -> bool:
    return pump._message_queue.empty()  # noqa: SLF001 - the one way to see a pump has nothing left to do


class ReleasedKey(events.Event):
    """Carries a queued key (or paste) back onto the app's own loop, behind everything queued before it."""

    def __init__(self, key: events.Key | events.Paste) -> None:
        super().__init__()
        self.key = key


_PASTED = events.Key("a", "a")
"""What a hold is asked about a paste: text typed into the field."""
