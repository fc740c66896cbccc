"""What the books say, read as the owner: the lines of one entry, balances, and everything a refusal must leave."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine, text


def entry_lines(engine: Engine, entry_id: int) -> list[tuple[str, Decimal, Decimal]]:
    """(account code, debit, credit) of each line of an entry, in order."""
    with engine.connect() as conn:
        return [(r.account_code, r.debit, r.credit) for r in conn.execute(text(
            "SELECT a.account_code, d.debit, d.credit FROM journal_entry_details d "
            "JOIN chart_of_accounts a ON a.id = d.account_id WHERE d.journal_entry_id = :e ORDER BY d.id"),
            {"e": entry_id})]


def transaction_lines(engine: Engine, transaction_id: int) -> list[tuple[str, Decimal, Decimal]]:
    with engine.connect() as conn:
        entry = conn.execute(text("SELECT id FROM journal_entries WHERE transaction_id = :t"),
                             {"t": transaction_id}).scalar_one()
    return entry_lines(engine, entry)


def account_balance(engine: Engine, code: str, branch_id: int | None = None) -> Decimal:
    """Debits less credits on the account (of one branch's entries, or all)."""
    with engine.connect() as conn:
        return Decimal(conn.execute(text(
            "SELECT coalesce(sum(d.debit - d.credit), 0) FROM journal_entry_details d "
            "JOIN journal_entries e ON e.id = d.journal_entry_id "
            "JOIN chart_of_accounts a ON a.id = d.account_id "
            "WHERE a.account_code = :c AND (CAST(:b AS bigint) IS NULL OR e.branch_id = CAST(:b AS bigint))"),
            {"c": code, "b": branch_id}).scalar_one())


def trial_balance_difference(engine: Engine) -> Decimal:
    with engine.connect() as conn:
        return Decimal(conn.execute(text("SELECT coalesce(sum(debit - credit), 0) FROM journal_entry_details"))
                       .scalar_one())


def written(engine: Engine) -> dict[str, str]:
    """Every row a till or payment function may write, as text: what 'nothing written' compares."""
    queries = {
        "till_sessions": "SELECT coalesce(string_agg(s::text, '|' ORDER BY s.id), '') FROM till_sessions s",
        "tills": "SELECT coalesce(string_agg(t::text, '|' ORDER BY t.id), '') FROM tills t",
        "transactions": "SELECT coalesce(string_agg(t::text, '|' ORDER BY t.id), '') FROM transactions t",
        "journal_entries": "SELECT coalesce(string_agg(e::text, '|' ORDER BY e.id), '') FROM journal_entries e",
        "journal_entry_details": "SELECT coalesce(string_agg(d::text, '|' ORDER BY d.id), '') "
                                 "FROM journal_entry_details d",
        "payment_schedules": "SELECT coalesce(string_agg((to_jsonb(s) - 'updated_at')::text, '|' ORDER BY s.id), '') "
                             "FROM payment_schedules s",
        "loans": "SELECT coalesce(string_agg((to_jsonb(l) - 'updated_at')::text, '|' ORDER BY l.id), '') FROM loans l",
    }
    with engine.connect() as conn:
        return {name: conn.execute(text(sql)).scalar_one() for name, sql in queries.items()}
