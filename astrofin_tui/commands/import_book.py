"""`astrofin import template KIND`, `astrofin import customers|loans|repayments FILE [--dry-run] --as USER`: a book
brought over from spreadsheets (db/imports/book.py). The report goes beside the input; the summary to stdout, the
progress bar to stderr, a refusal of the whole file to one "astrofin: …" line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from db.errors import AstrofinError

KIND_HELP = {
    "customers": "customers from the customers template",
    "loans": "loans with their state (applications, disbursed, partly or fully repaid) from the loans template",
    "repayments": "repayments on loans from the repayments template",
}


def register(kinds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from db.imports.book import KINDS

    template = kinds.add_parser("template", help="write the CSV template of customers, loans or repayments",
                                description="Write a template: its header and one example row. Each column's "
                                            "notes are printed.")
    template.add_argument("kind", choices=KINDS, metavar="KIND", help=" | ".join(KINDS))
    template.add_argument("--output", type=Path, default=None, metavar="FILE",
                          help="where to write it (default: KIND.csv here)")
    template.set_defaults(handler=_template)
    for kind in KINDS:
        parser = kinds.add_parser(kind, help=f"import {KIND_HELP[kind]}",
                                  description=f"Import {KIND_HELP[kind]}: every row is checked first, then each "
                                              "good row is written in its own transaction, once (a rerun skips "
                                              "the rows done). The report is written beside the file.")
        parser.add_argument("file", type=Path, metavar="FILE")
        parser.add_argument("--dry-run", action="store_true", help="check and report every row, write nothing")
        parser.add_argument("--as", dest="actor", required=True, metavar="USERNAME",
                            help="the administrator, supervisor or accountant on whose behalf the rows are written")
        parser.add_argument("-u", "--user", default=None, help="database user (default: configured)")
        parser.add_argument("-d", "--database", default=None, help="database name (default: configured)")
        parser.set_defaults(handler=_import, kind=kind)


def _template(args: argparse.Namespace) -> int:
    from db.imports.book import template_notes, write_template

    path: Path = args.output or Path(f"{args.kind}.csv")
    try:
        write_template(args.kind, path)
    except OSError as exc:
        raise AstrofinError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"wrote {path}: the {args.kind} template (a header and one example row; replace the example)")
    for line in template_notes(args.kind):
        print(f"  {line}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from sqlalchemy import text

    from astrofin_tui.commands.database import _target
    from astrofin_tui.commands.progress import ProgressBar
    from db.engine import Actor, make_engine
    from db.imports.book import import_book

    settings, target = _target(args)
    engine = make_engine(target.url, settings)
    try:
        with engine.connect() as conn:
            row = conn.execute(text(
                "SELECT u.id, u.username, u.role, u.full_name, u.is_active, u.branch_id, b.code "
                "FROM users u LEFT JOIN branches b ON b.id = u.branch_id WHERE lower(u.username) = lower(:u)"),
                {"u": args.actor.strip()}).one_or_none()
        if row is None:
            raise AstrofinError(f"no user named {args.actor!r}: --as takes the username of an administrator, "
                                "supervisor or accountant")
        if not row.is_active:
            raise AstrofinError(f"user {row.username} is deactivated and cannot import")
        actor = Actor(row.id, row.username, row.role, row.full_name or "", branch_id=row.branch_id,
                      branch_code=row.code or "")
        bar = ProgressBar(f"{args.kind}{' (dry run)' if args.dry_run else ''}")
        try:
            summary = import_book(engine, actor, args.kind, args.file, dry_run=args.dry_run, progress=bar)
        finally:
            bar.finish()
    finally:
        engine.dispose()
    for line in summary.lines():
        print(line)
    return 0 if not summary.counts.get("refused") else 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(1)
