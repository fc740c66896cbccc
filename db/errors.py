"""Errors a person can act on. Their message is shown as is: one line, no traceback."""

from __future__ import annotations


class AstrofinError(Exception):
    """Base of every error whose message is meant for the person at the keyboard."""


class NotFound(AstrofinError):
    pass


class Refused(AstrofinError):
    """The database or a rule refused the request (permission, wrong status, bad amount …)."""


class DatabaseUnavailable(AstrofinError):
    pass
