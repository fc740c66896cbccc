"""`astrofin db migrate|seed|backup|restore|maintenance`: the five database scripts of the design, and
`astrofin db penalties`, the maintenance run's late penalties alone.

db/migrate.sh, db/seed.sh, db/backup.sh, db/restore.sh and db/maintenance.sh run these commands, and
each command's -h shows the options of the original design. Results go to stdout, progress to stderr
(a single updating line when stderr is a terminal), failures to one "astrofin: …" line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from astrofin_tui.cli import _Parser
from db.config import ConfigError, Settings, load_settings
from db.errors import AstrofinError

DESIGN_DEFAULTS = {
    "user": "postgres",
    "database": "astrofinance",
    "backup_dir": "./backups",
    "retention_days": "30",
    "retention_count": "10",
}


class ScriptParser(_Parser):
    """A parser whose help reads like the design's scripts: "Usage: …" and aligned "-u, --user" lines."""

    help_column = 17
    """Width of the option column, as in the design's help texts."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("add_help", False)
        super().__init__(**kwargs)
        command = self.prog.split()[-1]
        script = os.environ.get("ASTROFIN_SCRIPT", "")
        if script and Path(script).name == f"{command}.sh":
            self.prog = script  # run through db/<command>.sh: name the script the person typed
        self.add_argument("-h", "--help", action="help", help="Show this help message")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:  # type: ignore[override]
        """Name this command, not `astrofin`, when an option is not one of its own."""
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def format_help(self) -> str:
        positionals = [action.metavar or action.dest for action in self._actions
                       if not action.option_strings and action.help != argparse.SUPPRESS]
        lines = [f"Usage: {' '.join([self.prog, '[options]', *map(str, positionals)])}"]
        if self.description:
            lines += ["", textwrap.fill(self.description, 100)]
        lines += ["", "Options:"]
        width = self.help_column
        for action in self._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS:
                continue
            invocation = ", ".join(action.option_strings)
            lines.append(f"  {invocation.ljust(width - 1)} {action.help}")
        if self.epilog:
            lines += ["", self.epilog]
        return "\n".join(lines) + "\n"


class _Progress:
    """Step reports on stderr: one updating line on a terminal, one line per finished step otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.shown = False

    def __call__(self, message: str, fraction: float) -> None:
        if self.live:
            width = shutil.get_terminal_size((80, 24)).columns
            line = f"{fraction * 100:3.0f}% {message}"[: max(width - 1, 10)]
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
            self.shown = True
        elif not message.endswith("…"):
            print(message, file=self.stream, flush=True)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


# --- the parsers --------------------------------------------------------------------------------------------

def _configured() -> dict[str, str]:
    """Defaults shown in help and used when an option is not given: the configuration's, else the design's."""
    defaults = dict(DESIGN_DEFAULTS)
    try:
        settings = load_settings()
    except ConfigError:
        return defaults
    defaults["user"] = settings.connection.user or defaults["user"]
    defaults["database"] = settings.connection.database or defaults["database"]
    defaults["backup_dir"] = str(settings.backup.get("path") or defaults["backup_dir"])
    for key in ("retention_days", "retention_count"):
        value = str(settings.backup.get(key) or "").strip()
        if value.isdigit() and int(value) >= 1:
            defaults[key] = value
    return defaults


def _at_least_one(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _day(raw: str) -> date:
    from widgets.dates import DateError, parse_date

    try:
        day = parse_date(raw, latest=date.today())
    except DateError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    assert day is not None
    return day


def _connection_options(parser: argparse.ArgumentParser, defaults: dict[str, str]) -> None:
    parser.add_argument("-u", "--user", default=None, help=f"Database user (default: {defaults['user']})")
    parser.add_argument("-d", "--database", default=None,
                        help=f"Database name (default: {defaults['database']})")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    defaults = _configured()
    group = subparsers.add_parser("db", help="migrate, seed, back up, restore and maintain the database",
                                  description="The database scripts: migrate, seed, backup, restore, maintenance.")
    commands = group.add_subparsers(title="db commands", metavar="COMMAND", required=True,
                                    parser_class=ScriptParser)

    migrate = commands.add_parser("migrate", help="apply the schema migrations up to the latest revision",
                                  description="Apply the database migrations in order, up to the latest revision.")
    _connection_options(migrate, defaults)
    migrate.add_argument("-c", "--create", action="store_true", help="Create database if it doesn't exist")
    migrate.add_argument("-r", "--reset", action="store_true", help="Reset database (drop and recreate)")
    migrate.add_argument("-b", "--backup", action="store_true", help="Backup database before migration")
    migrate.set_defaults(handler=_migrate)

    seed = commands.add_parser("seed", help="load the reference data (and with --demo the demo data)",
                               description="Seed the database with initial data for development and testing. "
                                           "Seeding twice changes nothing.")
    _connection_options(seed, defaults)
    seed.add_argument("--demo", action="store_true", help="Also load the demo staff, customers and loans")
    seed.add_argument("--scale", type=_at_least_one, default=None, metavar="N",
                      help="Load a synthetic portfolio of N customers (an empty book; see docs/performance.md)")
    seed.add_argument("--random-seed", type=int, default=1, metavar="S",
                      help="Random seed of --scale (default: 1; the same seed gives the same book)")
    seed.set_defaults(handler=_seed)

    backup = commands.add_parser("backup", help="write a verified, compressed backup and apply retention",
                                 description="Create a compressed backup (pg_dump custom format) of the "
                                             "database, verify it, then delete backups past retention.")
    backup.help_column = 21  # type: ignore[attr-defined]
    _connection_options(backup, defaults)
    backup.add_argument("-o", "--output-dir", default=None,
                        help=f"Backup directory (default: {defaults['backup_dir']})")
    backup.add_argument("-r", "--retention-days", type=_at_least_one, default=None,
                        help=f"Days to keep backups (default: {defaults['retention_days']})")
    backup.add_argument("-c", "--retention-count", type=_at_least_one, default=None,
                        help=f"Maximum number of backups to keep (default: {defaults['retention_count']})")
    backup.add_argument("--verify-restore", action="store_true",
                        help="Also restore the dump into a scratch database and compare every table")
    backup.set_defaults(handler=_backup)

    restore = commands.add_parser(
        "restore", help="restore a backup into a new, empty or (with --reset) replaced database",
        description="Restore a database from a backup. The file is checked before the database is touched.",
        epilog="Example:\n"
               f"  {_script_or('restore')} -r backups/astrofin_20230101_120000.dump\n"
               f"  {_script_or('restore')} --list",
    )
    restore.help_column = 21  # type: ignore[attr-defined]
    _connection_options(restore, defaults)
    restore.add_argument("-c", "--create", action="store_true", help="Create database if it doesn't exist")
    restore.add_argument("-r", "--reset", action="store_true", help="Reset database (drop and recreate)")
    restore.add_argument("-l", "--list", action="store_true", help="List available backups and exit")
    restore.add_argument("backup_file", nargs="?", default=None, help="the .dump file to restore")
    restore.set_defaults(handler=_restore)

    maintenance = commands.add_parser(
        "maintenance", help="backup, VACUUM ANALYZE, REINDEX, refresh views, late penalties, statistics",
        description="Perform routine maintenance on the database: backup, VACUUM ANALYZE, REINDEX, refresh "
                    "materialized views, perform_database_maintenance(), the day's late penalties, statistics.")
    maintenance.help_column = 21  # type: ignore[attr-defined]
    _connection_options(maintenance, defaults)
    maintenance.add_argument("-n", "--no-backup", action="store_true", help="Skip backup before maintenance")
    maintenance.add_argument("--verify-restore", action="store_true",
                             help="Restore the backup into a scratch database and compare every table")
    maintenance.set_defaults(handler=_maintenance)

    penalties = commands.add_parser(
        "penalties", help="charge the late penalties due (the maintenance run does it daily)",
        description="Charge the late penalties due on or before a day (today by default), in every branch: each "
                    "occurrence not yet written is written once, and missed days are caught up.")
    penalties.help_column = 21  # type: ignore[attr-defined]
    _connection_options(penalties, defaults)
    penalties.add_argument("--as-of", type=_day, default=None, metavar="DATE",
                           help="Charge what is due on or before DATE (default: today), e.g. 2026-12-06")
    penalties.set_defaults(handler=_penalties)


def _script_or(command: str) -> str:
    script = os.environ.get("ASTROFIN_SCRIPT", "")
    return script if Path(script).name == f"{command}.sh" else f"astrofin db {command}"


# --- the handlers -------------------------------------------------------------------------------------------

def _target(args: argparse.Namespace) -> tuple[Settings, Any]:
    from db.scripts_common import check_database_name
    from db.target import resolve

    settings = load_settings()
    if args.database is not None:
        check_database_name(args.database)
    target = resolve(settings, user=args.user or None, database=args.database or None)
    return settings, target


def _backup_options(settings: Settings) -> tuple[Path, int, int]:
    from db.backup import backup_settings

    return backup_settings(settings)


def _migrate(args: argparse.Namespace) -> int:
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import DBAPIError

    from db import migrate
    from db.backup import backup_database
    from db.scripts_common import Steps, create_database, database_exists, drop_database, first_line

    settings, target = _target(args)
    name = target.database
    backup = None
    with _Progress() as progress:
        steps = Steps(3, progress)
        exists = database_exists(target)
        if not args.backup:
            steps.skip("Backup", "not asked for (-b)")
        elif not exists or migrate.current_revision(target.url) is None:
            steps.skip("Backup", "nothing to back up yet: the database has no schema")
        else:
            folder, days, count = _backup_options(settings)
            with steps.step("Backup") as step:
                backup = backup_database(target, folder, retention_days=days, retention_count=count)
                step.detail = backup.summary()
        if args.reset:
            with steps.step(f"Reset database {name}"):
                drop_database(target)
                create_database(target)
        elif not exists:
            if not args.create:
                raise AstrofinError(f"database {name!r} does not exist; add --create (-c) to create it")
            with steps.step(f"Create database {name}"):
                create_database(target)
        else:
            steps.skip("Create database", "it exists")
        with steps.step("Migrate to head") as step:
            try:
                migrate.upgrade(target.url)
                revision = migrate.current_revision(target.url)
            except (DBAPIError, CommandError) as exc:
                raise AstrofinError(f"migration of {name!r} failed: {first_line(exc)}") from None
            step.detail = f"revision {revision}"
    if backup is not None:
        print(f"backup written: {backup.summary()}")
    head = " (head)" if revision == migrate.head_revision() else ""
    print(f"{name}: schema at revision {revision}{head}")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import DBAPIError

    from db.bootstrap import check_migrated
    from db.scripts_common import Steps, connect, first_line
    from db.seed import seed_database

    _settings, target = _target(args)
    with _Progress() as progress:
        steps = Steps(2, progress)
        with steps.step(f"Check the schema of {target.database}"):
            with connect(target):
                pass
            check_migrated(target.url)
        with steps.step("Seed the demo data" if args.demo else "Seed the reference data") as step:
            try:
                report = seed_database(target.url, demo=args.demo)
            except DBAPIError as exc:
                raise AstrofinError(f"seeding {target.database!r} failed: {first_line(exc)}") from None
            step.detail = report.summary()
    print(f"{target.database}: {report.summary()}")
    if args.scale:
        from db.scale_seed import seed_scale

        with _Progress() as progress:
            scale = seed_scale(target.url, args.scale, random_seed=args.random_seed, progress=progress)
        print(f"{target.database}: {scale.summary()}")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from db.backup import backup_database

    settings, target = _target(args)
    folder, days, count = _backup_options(settings)
    with _Progress() as progress:
        result = backup_database(
            target, Path(args.output_dir) if args.output_dir else folder,
            retention_days=args.retention_days or days, retention_count=args.retention_count or count,
            progress=progress, restore_check=args.verify_restore)
    print(f"backup written: {result.summary()}")
    if result.restore_check is not None:
        print(result.restore_check.summary())
    for path in result.deleted:
        print(f"deleted old backup: {path}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from db.restore import restore_database
    from db.scripts_common import human_size, list_backups

    if args.list:
        folder, _days, _count = _backup_options(load_settings())
        backups = list_backups(folder)
        if not backups:
            print(f"no backups in {folder.absolute()}")
            return 0
        print(f"Backups in {folder.absolute()} (newest first):")
        for item in backups:
            print(f"  {item.path.name:<34}{human_size(item.size):>11}  {item.taken_at:%Y-%m-%d %H:%M:%S}")
        return 0
    if not args.backup_file:
        raise AstrofinError("name the backup file to restore (or use --list to see the backups)")
    _settings, target = _target(args)
    with _Progress() as progress:
        result = restore_database(target, args.backup_file, create=args.create, reset=args.reset,
                                  progress=progress)
    print(result.summary())
    return 0


def _maintenance(args: argparse.Namespace) -> int:
    from db.maintenance import MaintenanceOptions, run_maintenance

    settings, target = _target(args)
    if args.verify_restore and args.no_backup:
        raise AstrofinError("--verify-restore checks the backup, and --no-backup skips it: choose one")
    options = MaintenanceOptions.from_settings(settings, no_backup=args.no_backup,
                                               verify_restore=args.verify_restore)
    with _Progress() as progress:
        report = run_maintenance(target, options, progress=progress)
    print(f"Maintenance of {report.database} finished in {report.seconds:.1f} s")
    if report.backup is not None:
        print(f"backup written: {report.backup.summary()}")
        if report.backup.restore_check is not None:
            print(report.backup.restore_check.summary())
    for outcome in report.steps:
        if outcome.status != "done":
            print(f"{outcome.title}: {outcome.status}: {outcome.detail}")
    if report.penalties_written is not None:
        print(f"late penalties: {report.penalties_written} charges written")
    if report.function_report is not None:
        print("perform_database_maintenance():")
        print(json.dumps(report.function_report, indent=2, default=str, ensure_ascii=False))
    if report.stats is not None:
        print("\n".join(report.stats.lines()))
    return 0


def _penalties(args: argparse.Namespace) -> int:
    from db.maintenance import run_penalties
    from widgets.dates import format_date

    _settings, target = _target(args)
    day = args.as_of or date.today()
    written = run_penalties(target, day)
    print(f"Late penalties due on or before {format_date(day)}: {written} "
          f"charge{'' if written == 1 else 's'} written")
    return 0
