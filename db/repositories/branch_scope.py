"""Which branches a report covers: the branches a staff member may choose from, and the condition that narrows
a query to one branch, with or without the branches below it.

Row-level security already limits every query to the signed-in person's scope (their branch and those below
it; the head office sees all), so "no branch chosen" adds no condition at all. A chosen branch narrows that
scope further: `= :branch` alone, or `= ANY(branch_subtree(:branch))` with the branches below. The subtree is
read once per query (a scalar sub-select the planner runs once as an init plan), never once per row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from db.repositories.base import Repository


@dataclass(frozen=True)
class BranchOption:
    """A branch as a selector lists it: indented by its depth below the highest branch the person sees."""

    id: int
    code: str
    name: str
    depth: int
    is_active: bool = True

    @property
    def label(self) -> str:
        return f"{'  ' * self.depth}{self.code} {self.name}"


def branch_condition(column: str, branch_id: int | None, with_children: bool) -> str:
    """The SQL that narrows `column` (a branch_id column, a fixed name written by the caller, never input) to
    the chosen branch; '' for the caller's whole scope. Binds `:branch` when not empty."""
    if branch_id is None:
        return ""
    if with_children:
        # The cast makes the sub-select one array value (ANY over a bare sub-select would compare each row).
        return f" AND {column} = ANY(CAST((SELECT branch_subtree(CAST(:branch AS bigint))) AS bigint[]))"
    return f" AND {column} = CAST(:branch AS bigint)"


def branch_params(branch_id: int | None) -> dict[str, object]:
    return {} if branch_id is None else {"branch": branch_id}


class BranchScopeRepository(Repository):
    def visible_branches(self) -> list[BranchOption]:
        """The branches the person may see (row-level security chooses them), as a tree in depth-first order:
        each branch followed by the branches below it, siblings by code. Ancestors the database shows above
        the person's own branch (for naming it) are left out: they are not the person's to report on."""
        with self.read_work() as session:
            rows = session.execute(
                text("""
                    SELECT b.id, b.code, b.name, b.parent_id, b.path, b.is_active
                    FROM branches b
                    WHERE b.id = ANY(astrofin_branch_scope())
                """)
            ).all()
        by_parent: dict[int | None, list[tuple[int, str, str, bool]]] = {}
        ids = {row.id for row in rows}
        for row in rows:
            parent = row.parent_id if row.parent_id in ids else None
            by_parent.setdefault(parent, []).append((row.id, row.code, row.name, row.is_active))
        found: list[BranchOption] = []

        def walk(parent: int | None, depth: int) -> None:
            for branch_id, code, name, active in sorted(by_parent.get(parent, []), key=lambda b: b[1]):
                found.append(BranchOption(branch_id, code, name, depth, active))
                walk(branch_id, depth + 1)

        walk(None, 0)
        return found
