"""Saves that land once per key: the key a form makes when it opens (as the payment form does), stored with
a unique index (revision 0008), so a save retried after its reply was lost returns the first save's row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.errors import ValidationError

MAX_KEY = 200
KEY_OF_ANOTHER = "the form's key belongs to another save; open the form again"


def check_idempotency_key(key: str | None, field: str) -> None:
    """None saves without a key; a key is 1 to 200 characters (what the column's check allows)."""
    if key is not None and not (0 < len(key) <= MAX_KEY and key.strip()):
        raise ValidationError({field: "the form's key is not valid; open the form again"})


def existing_by_key(session: Session, model: Any, key: str | None, user_id: int, field: str) -> int | None:
    """The id of the row an earlier save with this key wrote, or None; a key of another person's save is
    refused rather than handing that row over."""
    if key is None:
        return None
    row = session.execute(select(model.id, model.created_by).where(model.idempotency_key == key)).one_or_none()
    if row is None:
        return None
    if row.created_by != user_id:
        raise ValidationError({field: KEY_OF_ANOTHER})
    return int(row.id)


def insert_once(session: Session, row: Any, key: str | None, user_id: int, field: str) -> int:
    """Insert the row; when a concurrent save with the same key committed first (the unique index waits
    for it, then refuses this one), the id of that save's row instead."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
        if key is None or not constraint.endswith("_idempotency_key_key"):
            raise
        found = existing_by_key(session, type(row), key, user_id, field)
        if found is None:
            raise
        return found
    return int(row.id)
