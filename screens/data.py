"""The base of every screen that talks to the database.

Each call runs in a thread worker (exclusive per purpose, never taking the app down) and posts its result
back; widgets change only on the UI thread. A lost connection shows a banner and a probe retries; reads
and idempotent writes run again by themselves when the database is back, other saves wait for the person
to press save again — and what was typed stays in the form throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget

from db.errors import AstrofinError, DatabaseUnavailable, ValidationError
from screens.base import BackScreen
from screens.context import ScreenContext
from widgets.fields import FieldRow, show_errors
from widgets.status import WORKING, ConnectionBanner, StatusLine

RETRY_SECONDS = 3.0
AUTO = "auto"
"""Run the job again by itself once the database is back (reads, writes with an idempotency key)."""
ASK = "ask"
"""Wait for the person to submit again (a save that is not idempotent)."""


class DbDone(Message):
    """A database job finished (posted from its worker thread)."""

    def __init__(self, tag: str, seq: int, result: Any = None, error: BaseException | None = None) -> None:
        super().__init__()
        self.tag = tag
        self.seq = seq
        self.result = result
        self.error = error


class DbProbed(Message):
    def __init__(self, ok: bool) -> None:
        super().__init__()
        self.ok = ok


def is_outage(error: BaseException | None) -> bool:
    """The database could not be reached (as opposed to a refusal the person can act on)."""
    if isinstance(error, DatabaseUnavailable):
        return True
    if isinstance(error, DBAPIError):
        return getattr(error.orig, "sqlstate", None) is None or str(getattr(error.orig, "sqlstate", "")).startswith(
            "08")
    return isinstance(error, SQLAlchemyError | ConnectionError)


def describe(error: BaseException) -> str:
    if isinstance(error, AstrofinError):
        text_ = str(error)
    else:
        text_ = f"something went wrong ({type(error).__name__}); nothing was saved by this step"
    return text_[:1].upper() + text_[1:] if text_ else "Something went wrong."


class DataScreen(BackScreen):
    """A screen with a connection banner (`ConnectionBanner`) and a `StatusLine` with id `status`."""

    RESTORED_ASK = "The database is back. Submit again to save (nothing was saved twice)."

    def __init__(self, context: ScreenContext) -> None:
        super().__init__()
        self.ctx = context
        self._seq: dict[str, int] = {}
        self._jobs: dict[str, tuple[Callable[[], Any], str]] = {}
        self._waiting: list[str] = []
        self._asked: list[str] = []
        self._probe_timer: Timer | None = None
        self._lost_jobs: dict[str, Callable[[], Any]] = {}

    # --- the parts every data screen has -------------------------------------------------------------

    @property
    def banner(self) -> ConnectionBanner:
        return self.query_one(ConnectionBanner)

    @property
    def status(self) -> StatusLine:
        return self.query_one("#status", StatusLine)

    @property
    def retry_seconds(self) -> float:
        return float(getattr(self.app, "retry_seconds", RETRY_SECONDS))

    def busy(self, tag: str) -> bool:
        """A job with this tag is running, or waits to run again once the database is back."""
        return tag in self._jobs or tag in self._waiting

    # --- jobs ----------------------------------------------------------------------------------------

    def start(self, tag: str, job: Callable[[], Any], *, retry: str = AUTO, working: str | None = WORKING) -> None:
        """Run `job` in a thread; `done(tag, result)` or `failed(tag, error)` follow on the UI thread."""
        seq = self._seq.get(tag, 0) + 1
        self._seq[tag] = seq
        self._jobs[tag] = (job, retry)
        if working:
            self.status.working(working)
        self.run_worker(lambda: self._run(tag, seq, job), name=tag, group=tag, thread=True, exclusive=True,
                        exit_on_error=False)

    def _run(self, tag: str, seq: int, job: Callable[[], Any]) -> None:
        try:
            result = job()
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the screen as a message
            self.post_message(DbDone(tag, seq, error=exc))
        else:
            self.post_message(DbDone(tag, seq, result=result))

    def on_db_done(self, message: DbDone) -> None:
        message.stop()
        if self._seq.get(message.tag) != message.seq:
            return  # an older call of the same kind: a newer one is on its way
        job = self._jobs.pop(message.tag, None)
        if message.error is not None and is_outage(message.error):
            self._connection_lost(message.tag, job, message.error)
            return
        if message.error is not None:
            self.failed(message.tag, message.error)
        else:
            self.done(message.tag, message.result)

    def done(self, tag: str, result: Any) -> None:
        """A job finished; screens override this."""
        self.status.clear()

    def failed(self, tag: str, error: BaseException) -> None:
        """A refusal: field errors beside their fields, anything else on the status line."""
        if isinstance(error, ValidationError):
            self.show_field_errors(error.fields)
        else:
            self.status.say(describe(error), kind="error")

    def show_field_errors(self, errors: dict[str, str]) -> None:
        rows = list(self.query(FieldRow))
        leftover = show_errors(rows, errors)
        if leftover:
            self.status.say("; ".join(errors[name] for name in leftover), kind="error")
        elif errors:
            self.status.say("Check the fields marked in red.", kind="error")
        else:
            self.status.clear()
        for row in rows:
            if row.field_name in errors and isinstance(row.control, Widget) and row.control.focusable:
                row.control.focus()
                break

    # --- lost connection -----------------------------------------------------------------------------

    def _connection_lost(self, tag: str, job: tuple[Callable[[], Any], str] | None, error: BaseException) -> None:
        if job is not None:
            self._jobs_lost(tag, job)
        self.banner.lost()
        self.status.say("Waiting for the database…", kind="error")
        if self._probe_timer is None:
            self._probe_timer = self.set_interval(self.retry_seconds, self._probe)

    def _jobs_lost(self, tag: str, job: tuple[Callable[[], Any], str]) -> None:
        self._lost_jobs[tag] = job[0]
        if job[1] == AUTO:
            if tag not in self._waiting:
                self._waiting.append(tag)
        elif tag not in self._asked:
            self._asked.append(tag)

    @property
    def connection_lost(self) -> bool:
        return self._probe_timer is not None

    def _probe(self) -> None:
        engine = self.ctx.engine

        def ping() -> None:
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception:  # noqa: BLE001 - still down: the timer tries again
                self.post_message(DbProbed(False))
            else:
                self.post_message(DbProbed(True))

        self.run_worker(ping, name="probe", group="probe", thread=True, exclusive=True, exit_on_error=False)

    def on_db_probed(self, message: DbProbed) -> None:
        message.stop()
        if not message.ok or self._probe_timer is None:
            return
        self._probe_timer.stop()
        self._probe_timer = None
        self.banner.hide()
        lost = self._lost_jobs
        waiting, self._waiting = self._waiting, []
        asked, self._asked = self._asked, []
        self.status.clear()
        for tag in waiting:
            if tag in lost:
                self.start(tag, lost.pop(tag), retry=AUTO)
        if asked:
            self.status.say(self.RESTORED_ASK, kind="ok")
        self.connection_restored()

    def connection_restored(self) -> None:
        """The database answers again; screens may refresh what they show."""
