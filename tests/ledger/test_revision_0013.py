"""Revision 0013 comes and goes cleanly: the downgrade restores exactly the definitions of 0012 (function bodies,
settings and grants, indexes, constraints, columns, views), and the upgrade after it gives the same head."""

from __future__ import annotations

from sqlalchemy.engine import URL

from db import migrate
from tests.ledger.test_migration import _catalog
from tests.ledger.test_schedule_hot import _definitions

# The functions whose body 0013 replaces; the ones it adds are listed by the catalog as new names.
REPLACED = {"ledger_schedule_rows(numeric,numeric,text,integer,text,date)"}
ADDED = {"ledger_schedule_amounts(numeric,numeric,text,integer,integer)",
         "ledger_schedule_zero_installments(numeric,numeric,text,integer,integer)",
         "ledger_longest_working_term(numeric,numeric,text,integer,integer)",
         "ledger_check_entry_date(date)", "ledger_manual_amount(jsonb,text,integer)",
         "post_manual_journal_entry(date,text,jsonb,bigint)",
         "reverse_manual_journal_entry(bigint,text,bigint,date)"}


def test_revision_0013_comes_and_goes_cleanly(empty_database: URL) -> None:
    url = empty_database
    migrate.upgrade(url, "0012")
    at_0012 = _definitions(url)
    migrate.upgrade(url, "0013")
    at_0013 = _definitions(url)
    bodies = {d.split(" ")[1] for d in at_0013 - at_0012 if d.startswith("body ")}
    assert bodies == REPLACED | ADDED
    assert "index customers_phone_reverse_idx CREATE INDEX customers_phone_reverse_idx ON public.customers " \
           "USING btree (reverse(phone) text_pattern_ops)" in at_0013 - at_0012
    assert "column users.must_change_password boolean" in at_0013 - at_0012
    assert _catalog(url, "SELECT has_column_privilege('astrofin_app', 'users', 'must_change_password', 'UPDATE')"
                         "::text") == {"true"}
    migrate.downgrade(url, "0012")
    assert _definitions(url) == at_0012
    migrate.upgrade(url, "head")
    assert _definitions(url) == at_0013 or migrate.head_revision() != "0013"
