"""`astrofin config show|set-password`."""

from __future__ import annotations

import argparse
import getpass
import json

from db.config import load_settings
from db.engine import KEYRING_SERVICE, keyring_key
from db.errors import AstrofinError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("config", help="show the effective settings, store a password")
    commands = parser.add_subparsers(title="config commands", metavar="COMMAND", required=True)
    show = commands.add_parser("show", help="print the effective settings (password masked)")
    show.set_defaults(handler=_show)
    setpw = commands.add_parser("set-password",
                                help="keep the production database password in the system keyring")
    setpw.set_defaults(handler=_set_password)


def _show(args: argparse.Namespace) -> int:
    print(json.dumps(load_settings().masked(), indent=2))
    return 0


def _set_password(args: argparse.Namespace) -> int:
    settings = load_settings()
    conn = settings.connection
    if conn.environment != "production":
        raise AstrofinError("set-password is for the production connection: run it with ASTROFIN_ENV=production")
    try:
        import keyring
        from keyring.backends.fail import Keyring as FailKeyring

        if isinstance(keyring.get_keyring(), FailKeyring):
            raise RuntimeError("no keyring backend")
    except Exception:
        raise AstrofinError(
            "no system keyring is available on this host: set DB_PASSWORD (or PROD_DB_PASSWORD) "
            "in the service's environment, or use a pgpass file (PGPASSFILE)"
        ) from None
    password = getpass.getpass(f"Password for {conn.user}@{conn.host}/{conn.database}: ")
    if not password:
        raise AstrofinError("no password given; nothing stored")
    keyring.set_password(KEYRING_SERVICE, keyring_key(conn), password)
    print(f"stored in the system keyring for {keyring_key(conn)}")
    return 0
