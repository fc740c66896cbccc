"""A read that writes nothing: the checks a form makes before it saves (a national ID or a phone another
customer has, a customer's loans in play) run in a transaction that is rolled back, never committed, so the
save that follows is the first commit the person's action makes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from db.engine import Actor, act_as
from db.repositories.base import translate


@contextmanager
def peek(engine: Engine, actor: Actor) -> Iterator[Session]:
    """One read-only transaction as the actor's database role, rolled back at the end."""
    try:
        with Session(engine, expire_on_commit=False) as session:
            act_as(session, actor)
            try:
                yield session
            finally:
                session.rollback()
    except DBAPIError as exc:
        raise translate(exc) from exc
