"""The audit log's hash chain: seal what has been written, then verify the chain (migrations 0003).

The work is done by the SQL functions `seal_audit_log()` and `verify_audit_log()`; these helpers run
them on a connection or session and return plain results.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

Executor = Connection | Session


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows_checked: int
    """Sealed rows whose hashes and links were checked."""
    unsealed: int
    """Rows written since the last seal, covered by the next one."""
    broken_id: int | None = None
    """The audit row id where the chain first breaks (for rows deleted at the end: the last row left)."""
    kind: str | None = None
    """'edited', 'deleted' or 'inserted'."""
    reason: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None

    def summary(self) -> str:
        if self.ok:
            return f"OK: {self.rows_checked} rows sealed and verified ({self.unsealed} not yet sealed)"
        return f"BROKEN at audit row ID: {self.broken_id} ({self.kind}): {self.reason}"


def seal(conn: Executor) -> int:
    """Chain every committed unsealed row; returns how many were sealed. Commit to keep them."""
    return int(conn.execute(text("SELECT seal_audit_log()")).scalar_one())


def verify(conn: Executor) -> VerifyResult:
    """Check the whole chain and report the first edited, deleted or inserted row."""
    row = conn.execute(
        text("SELECT rows_checked, unsealed, broken_id, problem_kind, problem, head_seq, head_hash "
             "FROM verify_audit_log()")
    ).one()
    return VerifyResult(
        ok=row.broken_id is None and row.problem_kind is None,
        rows_checked=int(row.rows_checked or 0),
        unsealed=int(row.unsealed or 0),
        broken_id=None if row.broken_id is None else int(row.broken_id),
        kind=row.problem_kind,
        reason=row.problem,
        head_seq=None if row.head_seq is None else int(row.head_seq),
        head_hash=row.head_hash,
    )
