"""`astrofin audit verify`: filled by the ledger work (hash chain)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    return None
