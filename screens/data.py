"""The one way UI code calls the database.

Every screen and pane runs its repository calls through `DatabaseCalls.start` (a pane through `run_in`):
the call runs in a thread worker (exclusive per purpose, never taking the app down) and its result comes
back as a message; widgets change only on the UI thread, in `done` / `failed` or the callbacks given.
While a call runs, the keys typed ahead wait (screens.typeahead) unless the call says which may pass, so a
key never lands where the answer was about to move the focus.

A lost connection (connection errors only: SQLSTATE class 08, the server shutting down, the driver's
operational errors with no SQLSTATE) shows a banner and a probe retries; reads and idempotent writes run
again by themselves when the database is back, other saves wait for the person to press save again, and
what was typed stays in the form throughout. A refusal is never taken for an outage, nor an outage for an
empty result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget

from db.errors import AstrofinError, DatabaseUnavailable, ValidationError
from screens.base import BackScreen
from screens.context import ScreenContext
from screens.typeahead import ALL_KEYS, KeyFilter, typeahead_of
from widgets.fields import FieldRow, show_errors
from widgets.status import WORKING, ConnectionBanner, StatusLine

RETRY_SECONDS = 3.0
AUTO = "auto"
"""Run the job again by itself once the database is back (reads, writes with an idempotency key)."""
ASK = "ask"
"""Wait for the person to submit again (a save that is not idempotent)."""

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]
_SERVER_GONE = {"57P01", "57P02", "57P03"}  # shut down by an administrator, crashed, not yet accepting


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
    """The database could not be reached, as opposed to a refusal or a fault the person can act on."""
    if isinstance(error, DatabaseUnavailable):
        return True
    if isinstance(error, DisconnectionError | PoolTimeout | ConnectionError):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        sqlstate = str(getattr(error.orig, "sqlstate", None) or "")
        if sqlstate:
            return sqlstate.startswith("08") or sqlstate in _SERVER_GONE
        # No SQLSTATE: the driver's own connection failures (psycopg OperationalError / InterfaceError).
        return type(error.orig).__name__ in {"OperationalError", "InterfaceError"}
    return False


def describe(error: BaseException) -> str:
    if isinstance(error, AstrofinError):
        text_ = str(error)
    else:
        text_ = f"something went wrong ({type(error).__name__}); nothing was saved by this step"
    return text_[:1].upper() + text_[1:] if text_ else "Something went wrong."


class _Job:
    __slots__ = ("call", "retry", "on_done", "on_failed", "keys")

    def __init__(self, call: Callable[[], Any], retry: str, on_done: Done | None, on_failed: Failed | None,
                 keys: KeyFilter | None) -> None:
        self.call = call
        self.retry = retry
        self.on_done = on_done
        self.on_failed = on_failed
        self.keys = keys


class DatabaseCalls(Screen[Any]):
    """What any screen needs to call the database: jobs, the connection banner, the probe, held keys.

    A screen using it composes a `ConnectionBanner` and a `StatusLine` (found by `status`), and says which
    engine its probe pings (`db_engine`).
    """

    RESTORED_ASK = "The database is back. Submit again to save (nothing was saved twice)."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seq: dict[str, int] = {}
        self._jobs: dict[str, _Job] = {}
        self._waiting: list[str] = []
        self._asked: list[str] = []
        self._probe_timer: Timer | None = None
        self._lost_jobs: dict[str, _Job] = {}
        self._key_holds: dict[str, int] = {}

    # --- the parts every such screen has -------------------------------------------------------------

    @property
    def db_engine(self) -> Any:
        """The engine the probe pings: the screen context's (`ctx`), unless the screen says otherwise."""
        context = getattr(self, "ctx", None)
        if context is None:
            raise NotImplementedError(f"{type(self).__name__} names no engine for its probe")
        return context.engine

    @property
    def banner(self) -> ConnectionBanner:
        return self.query_one(ConnectionBanner)

    @property
    def status(self) -> StatusLine:
        found = self.query("#status")
        if found:
            return self.query_one("#status", StatusLine)
        return self.query(StatusLine).first()

    @property
    def retry_seconds(self) -> float:
        return float(getattr(self.app, "retry_seconds", RETRY_SECONDS))

    def busy(self, tag: str) -> bool:
        """A job with this tag is running, or waits to run again once the database is back."""
        return tag in self._jobs or tag in self._waiting

    # --- jobs ----------------------------------------------------------------------------------------

    def start(self, tag: str, job: Callable[[], Any], *, retry: str = AUTO, working: str | None = WORKING,
              on_done: Done | None = None, on_failed: Failed | None = None,
              hold: KeyFilter | None = ALL_KEYS) -> None:
        """Run `job` in a thread; then `on_done(result)` / `on_failed(error)` when given, else the screen's
        `done(tag, result)` / `failed(tag, error)`, on the UI thread. A newer job of the same tag supersedes
        an older one, whose answer is dropped. Until the answer is on screen, keys typed ahead that `hold`
        selects wait (None: none wait)."""
        self._run_job(tag, _Job(job, retry, on_done, on_failed, hold), working)

    def _run_job(self, tag: str, job: _Job, working: str | None) -> None:
        seq = self._seq.get(tag, 0) + 1
        self._seq[tag] = seq
        self._jobs[tag] = job
        self._hold_keys(tag, job.keys)
        if working:
            self.status.working(working)
        call = job.call
        self.run_worker(lambda: self._run(tag, seq, call), name=tag, group=tag, thread=True, exclusive=True,
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
        if message.error is not None and job is not None and job.keys is not None:
            self.drop_keys_typed_ahead()
        try:
            if message.error is not None and is_outage(message.error):
                self._connection_lost(message.tag, job, message.error)
            elif message.error is not None:
                if job is not None and job.on_failed is not None:
                    job.on_failed(message.error)
                else:
                    self.failed(message.tag, message.error)
            elif job is not None and job.on_done is not None:
                job.on_done(message.result)
            else:
                self.done(message.tag, message.result)
        finally:
            self._release_keys(message.tag)

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
        """Every message beside its field at once; the first field in the form that is wrong gets focus."""
        if errors:
            self.drop_keys_typed_ahead()
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

    # --- keys typed ahead ----------------------------------------------------------------------------

    def drop_keys_typed_ahead(self) -> int:
        """Something the keys were typed ahead of failed: they are dropped, never used for something else
        (the person sees the error and types again)."""
        queue = typeahead_of(self.app)
        dropped = queue.flush() if queue is not None else 0
        if dropped:
            self.app.bell()
        return dropped

    def _hold_keys(self, tag: str, keys: KeyFilter | None) -> None:
        self._release_keys(tag)
        queue = typeahead_of(self.app)
        if keys is not None and queue is not None:
            self._key_holds[tag] = queue.hold(self, keys)

    def _release_keys(self, tag: str) -> None:
        token = self._key_holds.pop(tag, None)
        queue = typeahead_of(self.app)
        if token is not None and queue is not None:
            queue.release(token)

    def on_unmount(self) -> None:
        queue = typeahead_of(self.app)
        if queue is not None:
            queue.release_all(self)
        self._key_holds.clear()

    # --- lost connection -----------------------------------------------------------------------------

    def _connection_lost(self, tag: str, job: _Job | None, error: BaseException) -> None:
        if job is not None:
            self._jobs_lost(tag, job)
        self.banner.lost()
        self.status.say("Waiting for the database…", kind="error")
        if self._probe_timer is None:
            self._probe_timer = self.set_interval(self.retry_seconds, self._probe)

    def _jobs_lost(self, tag: str, job: _Job) -> None:
        self._lost_jobs[tag] = job
        if job.retry == AUTO:
            if tag not in self._waiting:
                self._waiting.append(tag)
        elif tag not in self._asked:
            self._asked.append(tag)

    @property
    def connection_lost(self) -> bool:
        return self._probe_timer is not None

    def _probe(self) -> None:
        engine = self.db_engine

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
                self._run_job(tag, lost.pop(tag), WORKING)
        if asked:
            self.status.say(self.RESTORED_ASK, kind="ok")
        self.connection_restored()

    def connection_restored(self) -> None:
        """The database answers again; screens may refresh what they show."""


def run_in(widget: Widget, tag: str, job: Callable[[], Any], on_done: Done, on_failed: Failed | None = None,
           **options: Any) -> None:
    """`DatabaseCalls.start` for a pane inside a screen: the screen runs the job, the pane gets the answer."""
    screen = widget.screen
    if not isinstance(screen, DatabaseCalls):
        raise TypeError(f"{type(screen).__name__} cannot call the database: it is no DatabaseCalls screen")
    screen.start(tag, job, on_done=on_done, on_failed=on_failed, **options)


class DataScreen(DatabaseCalls, BackScreen):
    """A screen above home with a connection banner (`ConnectionBanner`) and a `StatusLine` with id `status`."""

    def __init__(self, context: ScreenContext) -> None:
        super().__init__()
        self.ctx = context
