"""The `astrofin` command: the app by default, and the subcommands operators use from a shell.

Each group of subcommands lives in astrofin_tui/commands/ and registers itself here. Every error a
person can cause ends as one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from db.paths import ensure_runtime_dir

ensure_runtime_dir()

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from astrofin_tui.commands import audit, config, database, imports, mpesa, sms, users

    parser = _Parser(prog="astrofin", description="AstroFinance: microfinance branch operations.")
    parser.add_argument("--low-bandwidth", action="store_true",
                        help="frugal screen updates for slow SSH links (on by itself over SSH)")
    parser.set_defaults(handler=_run_app)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    for module in (database, config, users, audit, sms, imports, mpesa):
        module.register(subparsers)
    return parser


def _run_app(args: argparse.Namespace) -> int:
    from astrofin_tui.mosh_login import start_mosh_server_if_asked

    start_mosh_server_if_asked()  # an SSH login that is mosh starting its server becomes mosh-server running the app
    from astrofin_tui.launch import run_app

    return run_app(low_bandwidth=bool(args.low_bandwidth))


def main(argv: Sequence[str] | None = None) -> int:
    from sqlalchemy.exc import OperationalError

    from db.config import ConfigError
    from db.errors import AstrofinError, unreachable_message

    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except (AstrofinError, ConfigError) as exc:
        print(f"astrofin: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        print(f"astrofin: {unreachable_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("astrofin: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one line, and where the details are
        from astrofin_tui.crash import report

        print(f"astrofin: {report(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
