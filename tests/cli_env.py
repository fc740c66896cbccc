"""Point the `astrofin` command at a test database the way an operator would: with DB_* variables."""

from __future__ import annotations

import os

from sqlalchemy.engine import URL


def cli_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DB_HOST": str(url.query["host"]),
        "DB_PORT": str(url.query["port"]),
        "DB_NAME": url.database or "",
        "DB_USER": "postgres",
    })
    return env
