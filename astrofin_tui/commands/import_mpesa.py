"""`astrofin import mpesa FILE [--dry-run] [--as USER]`: the M-Pesa org portal's statement, each row received into
the inbox and posted (db/mpesa/statement_import.py), with a progress bar, a summary and the report beside the file.

The rows are posted by a member of staff: the one named by --as, else the M-Pesa service user of the configuration
(`mpesa.user`, MPESA_USER), else `mpesa` (the demo seed's head-office cashier). It connects as `astrofin db
penalties` does, to the configured database.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_USER = "mpesa"
POSTING_ROLES = ("cashier", "supervisor", "accountant")


def register(kinds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = kinds.add_parser(
        "mpesa", help="import an M-Pesa org portal statement (CSV): receive and post each payment in",
        description="Import the statement the M-Pesa org portal exports (CSV): every completed payment in is "
                    "received into the M-Pesa inbox once and posted to the loan its account number names, or to "
                    "suspense. Importing the same file again changes nothing. Each row's outcome is written to "
                    "FILE.report.csv beside it.")
    parser.add_argument("file", metavar="FILE", help="the statement, as exported (CSV)")
    parser.add_argument("--dry-run", action="store_true",
                        help="read and match every row and report what would happen, writing nothing")
    parser.add_argument("--as", dest="as_user", default=None, metavar="USER",
                        help="the staff member who posts (default: the configuration's mpesa.user, else mpesa)")
    parser.add_argument("-d", "--database", default=None, help="Database name (default: the configured one)")
    parser.set_defaults(handler=_import)


def _user(settings: Any, as_user: str | None) -> str:
    if as_user:
        return as_user.strip()
    section = getattr(settings, "mpesa", None) or {}
    return str(section.get("user") or os.environ.get("MPESA_USER") or DEFAULT_USER).strip()


def _actor(engine: Any, username: str) -> Any:
    from sqlalchemy import text

    from db.engine import Actor
    from db.errors import AstrofinError

    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('astrofin.sign_in', :u, true)"), {"u": username})
        row = conn.execute(text("SELECT u.id, u.username, u.role, u.full_name, u.is_active, u.branch_id "
                                "FROM users u WHERE lower(u.username) = lower(:u)"), {"u": username}).one_or_none()
    if row is None:
        raise AstrofinError(f"there is no staff member {username!r} to post the statement as: name one with --as, "
                            f"or create it (astrofin users add {username} --role cashier)")
    if not row.is_active:
        raise AstrofinError(f"the staff member {row.username!r} is deactivated and cannot post a statement")
    if row.role not in POSTING_ROLES:
        raise AstrofinError(f"the staff member {row.username!r} is a {row.role.replace('_', ' ')}; a statement is "
                            f"posted by a cashier, supervisor or accountant")
    return Actor(row.id, row.username, row.role, row.full_name, branch_id=row.branch_id)


def _import(args: argparse.Namespace) -> int:
    from sqlalchemy import pool

    from astrofin_tui.commands.progress import ProgressBar
    from db.config import load_settings
    from db.engine import make_engine
    from db.errors import AstrofinError
    from db.mpesa.statement_import import import_statement
    from db.scripts_common import check_database_name
    from db.target import resolve

    path = Path(args.file)
    if not path.is_file():
        raise AstrofinError(f"{path}: no such file")
    settings = load_settings()
    if args.database is not None:
        check_database_name(args.database)
    target = resolve(settings, database=args.database or None)
    engine = make_engine(target.url, poolclass=pool.NullPool)
    try:
        actor = _actor(engine, _user(settings, args.as_user))
        bar = ProgressBar(f"M-Pesa {path.name}")
        try:
            summary = import_statement(engine, actor, path, dry_run=args.dry_run, progress=bar)
        finally:
            bar.finish()
    finally:
        engine.dispose()
    for line in summary.lines():
        print(line)
    sys.stdout.flush()
    return 0
