"""Bad input to every option of the `astrofin` command (astrofin_tui.cli.main, in-process): empty, huge,
negative, non-numeric, unicode, control characters, SQL and markup fragments. Each run ends with exit 0, 1
or 2 and, when refused, one last line on stderr from astrofin — never a traceback or an "unexpected error" —
with the database unchanged (a hash of every table). Exit 0 means the value was valid (an empty --user is
the configured default, a numeric --interval is an interval) and the command did its normal work.

Left out on purpose: the app itself (no subcommand), and --reset/--create of migrate and restore, which
drop or create databases by design. A NUL byte is never tried: a command line cannot carry one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL

from tests.reliability.conftest import Run
from tests.reliability.faultlib import fingerprint, record, scale

BAD = ["", " ", "0", "-1", "-999999999999", "9" * 400, "x" * 5000, "abc", "1.5", "1e3", "NaN", "inf", "-inf",
       "Ñandú Zoë", "😀", "\u202eevil", "\t", "\r\n", "\x1b[31mred", "\x07", "'; drop table users; --",
       "\"; DROP DATABASE postgres; --", "[bold]x[/bold]", "[/]", "%s", "%(x)s", "{}", "../../etc/passwd",
       "/dev/full", "--help"]
VALUES = st.one_of(st.sampled_from(BAD),
                   st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                           max_size=30))
PASSWORDS = "a-good-password-1\na-good-password-1\n"


@dataclass(frozen=True)
class Option:
    command: tuple[str, ...]
    option: str
    """The option's long name, or "" for the positional argument."""
    rest: tuple[str, ...] = ()
    """Other arguments the command needs to get past its parser."""


OPTIONS = [
    *(Option(("db", "migrate"), name) for name in ("--user", "--database")),
    *(Option(("db", "seed"), name) for name in ("--user", "--database")),
    *(Option(("db", "backup"), name) for name in ("--user", "--database", "--output-dir", "--retention-days",
                                                  "--retention-count")),
    *(Option(("db", "restore"), name, ("x.dump",)) for name in ("--user", "--database")),
    Option(("db", "restore"), ""),
    *(Option(("db", "maintenance"), name) for name in ("--user", "--database")),
    Option(("users", "add"), "", ("--role", "cashier")),
    Option(("users", "add"), "--role", ("someone",)),
    Option(("users", "add"), "--full-name", ("someone", "--role", "cashier", "--database", "no_such_db")),
    Option(("users", "add"), "--database", ("someone", "--role", "cashier")),
    Option(("audit", "verify"), "--database"),
    *(Option(("sms", "dispatch"), name) for name in ("--interval", "--limit", "--database")),
    *(Option(("sms", "poll"), name) for name in ("--limit", "--database")),
    Option(("sms", "preview"), "--template", ("--loan", "1")),
    Option(("sms", "preview"), "--loan", ("--template", "overdue_reminder")),
    Option(("sms", "preview"), "--database", ("--template", "overdue_reminder", "--loan", "1")),
    Option(("sms", "status-callback"), "--provider"),
    Option(("sms", "status-callback"), "--database", ("--provider", "twilio")),
]


@dataclass
class Tally:
    runs: int = 0
    codes: dict[int, int] = field(default_factory=dict)


def _argv(option: Option, value: str, joined: bool) -> list[str]:
    if not option.option:
        return [*option.command, *option.rest, "--", value] if value.startswith("-") else \
            [*option.command, *option.rest, value]
    given_value = [f"{option.option}={value}"] if joined else [option.option, value]
    return [*option.command, *given_value, *option.rest]


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: " ".join((*o.command, o.option or "<arg>")))
def test_every_cli_option_refuses_bad_values_in_one_line_and_writes_nothing(
        cli: Callable[..., Run], db_url: URL, option: Option) -> None:
    engine = create_engine(db_url, poolclass=pool.NullPool)
    tally = Tally()
    try:
        @settings(max_examples=4 * scale(), deadline=None, derandomize=True, database=None)
        @given(VALUES, st.booleans())
        def attempt(value: str, joined: bool) -> None:
            before = fingerprint(engine)
            run = cli(*_argv(option, value, joined), stdin=PASSWORDS)
            tally.runs += 1
            tally.codes[run.code] = tally.codes.get(run.code, 0) + 1
            shown = f"{option} {value!r}: exit {run.code}\n{run.err[-2000:]}"
            assert run.code in (0, 1, 2), shown
            assert "Traceback" not in run.err and "unexpected error" not in run.err, shown
            if run.code != 0:
                last = run.err.strip().splitlines()[-1] if run.err.strip() else ""
                assert last.startswith("astrofin"), shown
            if run.code != 0:  # a refusal writes nothing; an accepted value (e.g. "" = the default) runs
                assert fingerprint(engine) == before, f"{shown}\nthe database changed"

        attempt()
    finally:
        engine.dispose()
    codes = ", ".join(f"{count}× exit {code}" for code, count in sorted(tally.codes.items()))
    record(f"astrofin {' '.join(option.command)} {option.option or '<argument>'}", tally.runs,
           f"{codes}; 0 tracebacks; every refusal one 'astrofin…' line and 0 writes", group="cli")
