"""`astrofin db …`: migrate, seed, backup, restore, maintenance."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    return None
