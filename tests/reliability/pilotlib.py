"""Hypothesis through Pilot: one app for many examples, and the bad values tried in every form field.

A Pilot app per example would cost a second each; `LiveApp` runs one app on an event loop in its own
thread, so a plain (synchronous) hypothesis test drives it example after example — type, check, clear —
and hypothesis still shrinks a failing value to a small one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input

from tests.reliability.faultlib import record, scale

T = TypeVar("T")

TABLES = ("users", "customers", "loans", "payment_schedules", "transactions", "chart_of_accounts",
          "journal_entries", "journal_entry_details", "sms_templates", "sms_histories", "audit_logs")

# What a hostile or careless person types: SQL and markup fragments, format strings, control characters,
# right-to-left and combining marks, wide characters, numbers in every wrong shape.
FRAGMENTS = ["", " ", "   ", "'; drop table customers; --", "' OR '1'='1", "\"; DELETE FROM loans; --",
             "Robert'); DROP TABLE users;--", "[bold]x[/bold]", "[bold]", "[/]", "[/bold]", "[red on blue]x",
             "[link=http://x]y[/link]", "[@click=app.quit]q[/]", "%s", "%(x)s", "%d%n", "{}", "{0}", "{first_name}",
             "${x}", "\\", "\\[b]", "NULL", "None", "null", "\x00", "\t", "\r\n", "\x1b[31mred", "\x1b]0;t\x07",
             "\x07", "\u202etxet", "\u200f\u05e9\u05dc\u05d5\u05dd", "\u0645\u0631\u062d\u0628\u0627",
             "e\u0301\u0301\u0301", "Z\u0351\u0352\u0353", "\u6f22\u5b57\u540d\u524d", "\uff21\uff22\uff23",
             "\U0001f600" * 5, "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\ufeff", "\u00a0", "x" * 2000,
             "9" * 40, "-1", "-0", "0", "-100.50", "1e3", "1E-5", "0x10", "NaN", "Infinity", "-Infinity",
             "1,000,000", "12.345", "1 000", "\u0661\u0662\u0663", "\uff11\uff12", "\u00bd", "2024-02-30",
             "0000-00-00", "9999-99-99", "2025-13-01", "31/12/2024", "tomorrow", "-2025-01-01", "2025-03-10T00:00",
             "C-", "L-", "C-0", "L-99999999999", "+", "+254", "@", "a@b", "O'Brien", "Ñandú Zoë"]
UNICODE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
DIGITS = st.from_regex(r"\A-?[0-9]{0,16}([.,][0-9]{0,4})?\Z", fullmatch=True)
HOSTILE = st.one_of(st.sampled_from(FRAGMENTS), UNICODE, DIGITS,
                    st.builds(lambda a, b: a + b, st.sampled_from(FRAGMENTS), UNICODE))


def examples(base: int) -> int:
    """Examples per form field group: the quick CI run, multiplied by ASTROFIN_FAULT_SCALE."""
    return base * scale()


def campaign_settings(base: int) -> settings:
    return settings(max_examples=examples(base), deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


def has_control(value: str | None) -> bool:
    """Control characters (NUL, escape, line breaks, C1): never stored from a form's field."""
    return any(unicodedata.category(char) == "Cc" for char in value or "")


def counts(engine: Engine) -> dict[str, int]:
    """Rows in each of the eleven tables: what 'nothing written' is compared with."""
    with engine.connect() as conn:
        # The names come from the fixed tuple above, never from input.
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES}  # noqa: S608


def shown(widget: Widget) -> str:
    """The text a widget puts on the screen (markup already applied), as plain characters."""
    visual = widget.render()
    plain = getattr(visual, "plain", None)
    return plain if isinstance(plain, str) else str(visual)


class LiveApp:
    """A Textual app under Pilot on an event loop in its own thread; `run` does one step and waits."""

    def __init__(self, app: App[Any], size: tuple[int, int] = (100, 30)) -> None:
        self.app = app
        self.size = size
        self.loop = asyncio.new_event_loop()
        self._jobs: asyncio.Queue[Any] | None = None
        self._ready = concurrent.futures.Future[None]()
        self._ended = concurrent.futures.Future[None]()
        self._thread = threading.Thread(target=self._main, name="live-app", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
            self._ended.set_result(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            if not self._ready.done():
                self._ready.set_exception(exc)
            self._ended.set_exception(exc)
        finally:
            self.loop.close()

    async def _serve(self) -> None:
        self._jobs = asyncio.Queue()
        async with self.app.run_test(size=self.size) as pilot:
            self._ready.set_result(None)
            while True:
                job, done = await self._jobs.get()
                if job is None:
                    break
                try:
                    done.set_result(await job(pilot))
                except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                    done.set_exception(exc)

    def __enter__(self) -> LiveApp:
        self._thread.start()
        self._ready.result(timeout=60)
        return self

    def run(self, step: Callable[[Pilot[Any]], Awaitable[T]], timeout: float = 120) -> T:
        done: concurrent.futures.Future[T] = concurrent.futures.Future()
        assert self._jobs is not None
        self.loop.call_soon_threadsafe(self._jobs.put_nowait, (step, done))
        return done.result(timeout=timeout)

    def __exit__(self, *exc: object) -> None:
        if self._jobs is not None and not self._ended.done():
            self.loop.call_soon_threadsafe(self._jobs.put_nowait, (None, None))
        self._ended.result(timeout=60)  # re-raises what the app died of, if it died
        self._thread.join(timeout=10)

    def alive(self) -> None:
        """The app is still running and has not caught an exception of its own."""
        assert self.app.is_running, "the app stopped"
        assert getattr(self.app, "_exception", None) is None, f"the app crashed: {self.app._exception!r}"


async def put(pilot: Pilot[Any], selector: str, value: str) -> str:
    """Clear the field and put the value in as typing or a paste would (max_length and restrict apply);
    returns what the field holds."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = ""
    field.insert_text_at_cursor(value)
    await pilot.pause()
    return field.value


@contextmanager
def tally(fault: str, *, group: str = "forms") -> Iterator[dict[str, int]]:
    """Count the inputs a test tried and how each ended; one line of the harness's table at the end."""
    seen: dict[str, int] = {}
    yield seen
    tries = sum(seen.values())
    parts = ", ".join(f"{n} {k}" for k, n in sorted(seen.items()))
    record(fault, tries, f"{parts}; 0 crashes, 0 writes on a refusal, nothing shown as markup", group=group)
