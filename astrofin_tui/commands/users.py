"""`astrofin users add NAME --role ROLE [--branch CODE]`: the first accounts of a production database."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import pool, text
from sqlalchemy.exc import IntegrityError

from db.config import load_settings
from db.engine import make_engine
from db.errors import AstrofinError
from db.passwords import hash_password, password_problem
from db.target import resolve

ROLES = ("cashier", "loan_officer", "supervisor", "accountant", "admin")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("users", help="manage staff accounts from the shell")
    commands = parser.add_subparsers(title="users commands", metavar="COMMAND", required=True)
    add = commands.add_parser("add", help="create a staff account (the password is asked twice)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--full-name", default=None, help="the person's name (default: the username)")
    add.add_argument("--branch", default="HQ", help="the code of the branch they work in (default: HQ, the head "
                     "office, whose staff see every branch)")
    add.add_argument("-d", "--database", default=None, help="database name (default: configured)")
    add.set_defaults(handler=_add)


def _read_password() -> tuple[str, str]:
    if sys.stdin.isatty():
        return getpass.getpass("Password: "), getpass.getpass("Password again: ")
    lines = sys.stdin.read().splitlines()
    return (lines[0] if lines else ""), (lines[1] if len(lines) > 1 else "")


def _add(args: argparse.Namespace) -> int:
    username = args.username.strip()
    password, again = _read_password()
    problem = password_problem(password, again)
    if problem:
        raise AstrofinError(problem + "; no account created")
    target = resolve(load_settings(), database=args.database)
    engine = make_engine(target.url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            code = args.branch.strip().upper()
            branch = conn.execute(text("SELECT id FROM branches WHERE code = :c AND is_active"), {"c": code}).scalar()
            if branch is None:
                known = ", ".join(conn.execute(text(
                    "SELECT code FROM branches WHERE is_active ORDER BY path")).scalars())
                raise AstrofinError(f"there is no active branch {code!r} (branches: {known}); no account created")
            conn.execute(
                text("INSERT INTO users (username, password_hash, full_name, role, branch_id) "
                     "VALUES (:u, :h, :n, :r, :b)"),
                {"u": username, "h": hash_password(password), "n": args.full_name or username, "r": args.role,
                 "b": branch},
            )
    except IntegrityError as exc:
        detail = str(exc.orig)
        if "users_username_key" in detail:
            raise AstrofinError(f"a user named {username!r} already exists; no account created") from None
        if "username_check" in detail:
            raise AstrofinError(
                "a username has 2 to 50 letters, digits, '.', '_' or '-' and starts with a letter or digit"
            ) from None
        raise AstrofinError(f"the account was refused: {detail.splitlines()[0]}") from None
    finally:
        engine.dispose()
    print(f"created {args.role} {username} in {args.branch.strip().upper()}")
    return 0
