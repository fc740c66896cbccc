"""One refused call: its SQLSTATE, its COLUMN and its message, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from db.engine import Actor, unit_of_work


def refused(app: Engine, actor: Actor, sql: str, **params: Any) -> tuple[str, str, str]:
    """(sqlstate, column, message) of a call the database must refuse."""
    with pytest.raises(DBAPIError) as info, unit_of_work(app, actor) as session:
        session.execute(text(sql), {"me": actor.user_id, **params})
    orig = info.value.orig
    diag = getattr(orig, "diag", None)
    return (getattr(orig, "sqlstate", "") or "", getattr(diag, "column_name", None) or "",
            getattr(diag, "message_primary", None) or "")
