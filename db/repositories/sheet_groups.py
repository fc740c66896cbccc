"""Finding the group or center whose collection sheet to open: by number or name, among the active groups the
signed-in person sees (row-level security decides which). A read only; the rules of groups and sheets live in
db/repositories/groups.py and revision 0023."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text

from db.repositories.base import Repository, contains_pattern

LIMIT = 8
_NUMBER = re.compile(r"^\s*G-?0*(\d{1,9})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class GroupChoice:
    id: int
    group_number: str
    name: str
    kind: str
    parent_number: str | None
    loan_officer_name: str


class SheetGroupFinder(Repository):
    def find(self, query: str, limit: int = LIMIT) -> list[GroupChoice]:
        """Active groups and centers whose number is the query (G-000012, G12, 12) or whose name holds it; a
        center before its groups, then by number."""
        words = query.strip()
        if not words:
            return []
        number = _NUMBER.match(words)
        digits = number.group(1) if number else None
        pattern = contains_pattern(words)
        with self.read_work() as session:
            rows = session.execute(text("""
    SELECT g.id, g.group_number, g.name, g.kind, p.group_number AS parent_number, u.full_name AS officer
    FROM groups g
    JOIN users u ON u.id = g.loan_officer_id
    LEFT JOIN groups p ON p.id = g.parent_id
    WHERE g.status = 'active'
      AND ((CAST(:digits AS text) IS NOT NULL
            AND g.group_number = 'G-' || CASE WHEN length(CAST(:digits AS text)) >= 6 THEN CAST(:digits AS text)
                                               ELSE lpad(CAST(:digits AS text), 6, '0') END)
           OR g.name ILIKE :pattern OR g.group_number ILIKE :pattern)
    ORDER BY (g.kind = 'center') DESC, g.group_number
    LIMIT :limit
"""), {"digits": digits, "pattern": pattern, "limit": limit}).all()
        return [GroupChoice(r.id, r.group_number, r.name, r.kind, r.parent_number, r.officer) for r in rows]
