"""Unexpected errors: a one-line summary for the person, the full traceback in the log folder."""

from __future__ import annotations

import traceback
from datetime import datetime

from db.paths import log_dir, private_file


def report(exc: BaseException) -> str:
    path = private_file(log_dir() / "errors.log")
    with path.open("a", encoding="utf-8") as log:
        log.write(f"--- {datetime.now().isoformat(timespec='seconds')}\n")
        log.write("".join(traceback.format_exception(exc)))
    summary = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"unexpected error: {summary} (details in {path})"
