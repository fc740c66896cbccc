"""`astrofin import …`: data from files, as each importer in db/imports defines it.

Each kind registers its own subcommand from a module of its own (KINDS below), so that the statement import
and the template imports grow apart without touching each other.
"""

from __future__ import annotations

import argparse
import importlib

KINDS: tuple[str, ...] = ("import_mpesa", "import_book")
"""Modules of astrofin_tui.commands that each define register(kinds) for one or more `astrofin import` kinds."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("import", help="import M-Pesa statements, customers, loans and repayments")
    kinds = parser.add_subparsers(title="what to import", metavar="KIND", required=True,
                                  parser_class=type(parser))
    for name in KINDS:
        importlib.import_module(f"astrofin_tui.commands.{name}").register(kinds)
