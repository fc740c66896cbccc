"""`astrofin sms …`: the SMS dispatcher, delivery reports and message previews, for operators.

The dispatcher is an operator's service: it connects with the configured operator connection (the
superuser on the embedded server), not as a staff member.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from db.config import load_settings
from db.engine import make_engine
from db.errors import AstrofinError, NotFound
from db.paths import file_logger
from db.target import resolve


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("sms", help="send queued SMS and record delivery reports")
    commands = parser.add_subparsers(title="sms commands", metavar="COMMAND", required=True)

    dispatch = commands.add_parser("dispatch", help="send queued messages through the configured provider")
    dispatch.add_argument("--loop", action="store_true", help="keep running, looking for due messages")
    dispatch.add_argument("--interval", type=float, default=10.0, metavar="S",
                          help="seconds between passes with --loop (default 10)")
    dispatch.add_argument("--limit", type=int, default=None, metavar="N", help="send at most N messages a pass")
    _database(dispatch)
    dispatch.set_defaults(handler=_operator_errors(_dispatch))

    callback = commands.add_parser("status-callback",
                                   help="apply a gateway's delivery report read from stdin (form or JSON body)")
    callback.add_argument("--provider", required=True, choices=("africastalking", "twilio"))
    _database(callback)
    callback.set_defaults(handler=_operator_errors(_status_callback))

    poll = commands.add_parser("poll", help="ask Twilio for the status of sent messages")
    poll.add_argument("--limit", type=int, default=100, metavar="N", help="check at most N messages (default 100)")
    _database(poll)
    poll.set_defaults(handler=_operator_errors(_poll))

    preview = commands.add_parser("preview", help="show a template filled for a loan, with its SMS part count")
    preview.add_argument("--template", required=True, help="template name, e.g. overdue_reminder")
    preview.add_argument("--loan", type=int, required=True, metavar="ID", help="loan id")
    _database(preview)
    preview.set_defaults(handler=_operator_errors(_preview))


def _operator_errors(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Database refusals an operator can fix, as one line that says how."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except DBAPIError as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None) or ""
            if sqlstate == "42501":
                user = load_settings().connection.user
                raise AstrofinError(
                    f"the database user {user!r} may not change sms_histories; the SMS commands are an operator's "
                    "service: run them as the owner of the schema (the user that migrates it)") from None
            if sqlstate in {"42703", "42P01", "42883"}:
                raise AstrofinError("this database lacks the SMS delivery columns (migration 0004); migrate it to "
                                    "the latest schema first") from None
            raise

    return run


def _database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--database", default=None, help="database name (default: configured)")


def _engine(args: argparse.Namespace) -> Engine:
    target = resolve(load_settings(), database=args.database)
    return make_engine(target.url, pool_size=2, pool_pre_ping=True)


def _log_to_file() -> None:
    file_logger("astrofin.sms", "sms.log", "%(asctime)s %(levelname)s %(message)s")


def _dispatch(args: argparse.Namespace) -> int:
    from db.sms.dispatcher import Dispatcher, DispatchSummary
    from db.sms.providers import build_provider
    from db.sms.settings import sms_settings

    if args.limit is not None and args.limit < 1:
        raise AstrofinError("--limit must be at least 1")
    if args.interval <= 0:
        raise AstrofinError("--interval must be more than 0 seconds")
    settings = load_settings()
    config = sms_settings(settings)
    provider = build_provider(config)  # refuses before anything is claimed when a credential is missing
    _log_to_file()
    engine = _engine(args)
    dispatcher = Dispatcher(engine, provider, config)
    stop = threading.Event()

    def report(summary: DispatchSummary) -> None:
        print(f"{provider.name}: {summary.line()}", flush=True)
        for message_id, reason in summary.failures:
            print(f"  message {message_id}: {reason}", flush=True)

    previous: Any = None
    try:
        if args.loop:
            previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
            try:
                dispatcher.run_forever(args.interval, stop, on_pass=report)
            except KeyboardInterrupt:
                stop.set()
            return 0
        summary = dispatcher.run_once(args.limit, stop)
        report(summary)
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        engine.dispose()


def _status_callback(args: argparse.Namespace) -> int:
    from db.sms.reports import apply_report, parse_report

    report = parse_report(args.provider, sys.stdin.read())
    engine = _engine(args)
    try:
        applied = apply_report(engine, report)
    finally:
        engine.dispose()
    print(applied.note)
    return 0


def _poll(args: argparse.Namespace) -> int:
    from db.sms.providers import TwilioProvider, build_provider
    from db.sms.reports import poll_twilio
    from db.sms.settings import sms_settings

    config = sms_settings(load_settings())
    if config.provider != "twilio":
        raise AstrofinError(f"polling is for Twilio; the {config.provider} provider reports by callback "
                            "(astrofin sms status-callback)")
    provider = build_provider(config)
    assert isinstance(provider, TwilioProvider)
    engine = _engine(args)
    try:
        summary = poll_twilio(engine, provider, limit=args.limit)
    finally:
        engine.dispose()
    print(f"checked {summary.checked}: {summary.delivered} delivered, {summary.failed} failed, "
          f"{summary.pending} still on their way")
    return 0


def _preview(args: argparse.Namespace) -> int:
    from db.sms.templates import loan_values, preview

    engine = _engine(args)
    try:
        with engine.connect() as conn:
            template = conn.execute(text("SELECT template_text FROM sms_templates WHERE name = :n"),
                                    {"n": args.template}).scalar()
            if template is None:
                raise NotFound(f"there is no SMS template named {args.template!r}")
            shown = preview(template, loan_values(conn, args.loan))
    finally:
        engine.dispose()
    print(shown.text)
    print(f"({shown.info.describe()})")
    return 0
