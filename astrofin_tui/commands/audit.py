"""`astrofin audit verify`: seal the audit log's hash chain, then check it end to end."""

from __future__ import annotations

import argparse

from sqlalchemy import Connection, pool, text
from sqlalchemy.exc import DBAPIError, OperationalError

from db import audit
from db.config import load_settings
from db.engine import make_engine
from db.errors import AstrofinError
from db.target import resolve


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("audit", help="check the tamper-evident audit log")
    commands = parser.add_subparsers(title="audit commands", metavar="COMMAND", required=True)
    verify = commands.add_parser(
        "verify",
        help="seal new audit rows, then verify the whole hash chain (exit 1 when it is broken)",
    )
    verify.add_argument("-d", "--database", default=None, help="database name (default: configured)")
    verify.add_argument("--no-seal", action="store_true",
                        help="only verify; rows written since the last seal are counted, not chained")
    verify.add_argument("-v", "--verbose", action="store_true",
                        help="also print how many rows were sealed and the chain head (keep a copy elsewhere)")
    verify.set_defaults(handler=_verify)


def _take_admin_role(conn: Connection) -> None:
    """A login role that is not a superuser reads the log as astrofin_admin when it may, for the transaction only:
    behind PgBouncer in transaction pooling the next transaction may get another server connection, and a
    session-wide SET ROLE would stay on this one for the next staff member (docs/scaling.md, section 2)."""
    conn.execute(text(
        "SELECT set_config('role', 'astrofin_admin', true) FROM pg_roles r "
        "WHERE r.rolname = current_user AND NOT r.rolsuper AND pg_has_role(current_user, 'astrofin_admin', 'MEMBER')"
    )).all()


def _verify(args: argparse.Namespace) -> int:
    target = resolve(load_settings(), database=args.database)
    engine = make_engine(target.url, poolclass=pool.NullPool)
    try:
        sealed = 0
        with engine.connect() as conn:
            if not args.no_seal:
                with conn.begin():
                    _take_admin_role(conn)
                    sealed = audit.seal(conn)
            with conn.begin():
                _take_admin_role(conn)
                result = audit.verify(conn)
    except OperationalError as exc:
        raise AstrofinError(f"cannot reach database {target.database!r}: {_first_line(exc)}") from None
    except DBAPIError as exc:
        code = getattr(exc.orig, "sqlstate", None)
        if code == "42883":
            raise AstrofinError(
                f"database {target.database!r} has no audit chain yet; run `astrofin db migrate` first"
            ) from None
        if code == "42501":
            raise AstrofinError(
                f"the database user may not read the audit log of {target.database!r}; "
                "connect as an administrator (DB_USER)"
            ) from None
        raise AstrofinError(f"audit verification failed: {_first_line(exc)}") from None
    finally:
        engine.dispose()
    print(result.summary())
    if args.verbose:
        print(f"sealed {sealed} new rows; chain head {result.head_seq}: {result.head_hash}")
    return 0 if result.ok else 1


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
