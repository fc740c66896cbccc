"""Errors a person can act on. Their message is shown as is: one line, no traceback."""

from __future__ import annotations


class AstrofinError(Exception):
    """Base of every error whose message is meant for the person at the keyboard."""


class NotFound(AstrofinError):
    pass


class Refused(AstrofinError):
    """The database or a rule refused the request (permission, wrong status, bad amount …).

    Every SQLSTATE P0102–P0111 of docs/database.md comes back as this (or, when the refusal names its field, as a
    ValidationError beside it), with the database's sentence: P0111 is a penalty waiver above what is unpaid."""


class DatabaseUnavailable(AstrofinError):
    pass


def first_line(exc: BaseException) -> str:
    """The driver's own first line of an error, without SQLAlchemy's wrapping."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def unreachable_message(exc: BaseException) -> str:
    return f"cannot reach the database server: {first_line(exc)}"


class ValidationError(AstrofinError):
    """Input refused field by field: `fields` maps a field name to the message shown beside it."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__("; ".join(f"{name.replace('_', ' ')}: {msg}" for name, msg in self.fields.items()))


# SQLSTATEs of the database's refusals that carry more than a sentence (see docs/database.md, Conventions).
SHEET_LINE_REFUSED = "P0131"
"""A line of a collection sheet refused (0023): the loan number of its row comes as the error's COLUMN."""


class LineRefused(ValidationError):
    """A row of a sheet refused: `row` is the loan number the database named, `message` what to show on that row.
    Nothing of the sheet was written."""

    def __init__(self, row: str, message: str) -> None:
        self.row = row
        self.message = message
        super().__init__({row: message})
