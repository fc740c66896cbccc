"""Branches: the tree under the head office, staff assigned to a branch, a customer's transfer between
branches, and the period close per branch.

Every write goes through the database's own function (create_branch, rename_branch, set_branch_active,
assign_user_branch, close_branch_period, transfer_customer), which holds the rules and the audit; the checks
here come first so a person reads what is wrong beside the field it concerns, before any round trip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text

from db.errors import AstrofinError, Refused, ValidationError
from db.repositories.base import Repository
from db.validation import reason_problem

CODE = re.compile(r"[A-Z][A-Z0-9]{1,9}")  # as the branches_code_check constraint
CODE_RULE = "a branch code has 2 to 10 letters or digits and starts with a letter, e.g. NRB01"
NAME_LIMIT = 100
REASON_LIMIT = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
OPEN_LOANS = ("pending", "approved", "active", "defaulted")


@dataclass(frozen=True)
class Branch:
    """One branch as the tree shows it; the counts are filled for the administrator's tree only."""

    id: int
    code: str
    name: str
    parent_id: int | None
    parent_code: str | None
    depth: int
    is_active: bool
    closed_through: date | None
    staff: int = 0
    open_loans: int = 0
    customers: int = 0
    tills_required: bool = False
    """Cash taken or paid out there must go through the cashier's open till."""

    @property
    def label(self) -> str:
        """How a choice of branch reads: its code and name."""
        return f"{self.code} · {self.name}"


def clean_code(raw: str) -> str:
    """A branch code as stored: trimmed and upper-cased."""
    return raw.strip().upper()


def code_problem(code: str) -> str | None:
    if not code:
        return "the branch code is required"
    if not CODE.fullmatch(code):
        return CODE_RULE
    return None


def name_problem(name: str) -> str | None:
    if not name:
        return "the branch name is required"
    if len(name) > NAME_LIMIT:
        return f"the branch name has at most {NAME_LIMIT} characters"
    if _CONTROL.search(name) or not name.isprintable():
        return "the branch name contains control characters (tabs, line breaks, escapes); type it plainly"
    return None


def transfer_problems(to_branch_id: int | None, reason: str) -> dict[str, str]:
    """What is wrong with a transfer as typed, field by field (before anything is asked or written)."""
    problems: dict[str, str] = {}
    if to_branch_id is None:
        problems["branch"] = "choose the branch the customer moves to"
    reason = reason.strip()
    problem = reason_problem(reason, "say why the customer moves, in a few words")
    if problem:
        problems["reason"] = problem
    elif len(reason) > REASON_LIMIT:
        problems["reason"] = f"the reason has at most {REASON_LIMIT} characters"
    return problems


def close_problems(branch_id: int | None, through: date | None, today: date | None = None) -> dict[str, str]:
    """What is wrong with a period close as chosen, field by field."""
    problems: dict[str, str] = {}
    if branch_id is None:
        problems["branch"] = "choose the branch to close"
    if through is None:
        problems["through"] = "enter the last day to close"
    elif today is not None and through >= today:
        problems["through"] = "a period can be closed through yesterday at the latest"
    return problems


def _on_field(error: AstrofinError, fields: Mapping[str, str]) -> AstrofinError:
    """A refusal of the database put beside the field it names: the database's column name (RAISE … USING
    COLUMN) or a word of its message, mapped through `fields` (the database's word → the form's field)."""
    if isinstance(error, ValidationError):
        return ValidationError({fields.get(name, name): message for name, message in error.fields.items()})
    if isinstance(error, Refused):
        message = str(error)
        lowered = message.lower()
        for word, field in fields.items():
            if re.search(rf"\b{re.escape(word)}\b", lowered):
                return ValidationError({field: message})
    return error


class BranchRepository(Repository):
    # --- reading --------------------------------------------------------------------------------------

    def tree(self, *, counts: bool = True) -> list[Branch]:
        """The branches the signed-in person may see, each after its parent (ordered by path). With `counts`
        (the administrator's view) each carries its active staff, open loans and customers."""
        with self.work() as session:
            rows = session.execute(text("""
                SELECT b.id, b.code, b.name, b.parent_id, p.code AS parent_code,
                       coalesce(array_length(string_to_array(trim(BOTH '/' FROM b.path), '/'), 1), 1) - 1 AS depth,
                       b.is_active, b.closed_through, b.tills_required
                FROM branches b LEFT JOIN branches p ON p.id = b.parent_id
                ORDER BY b.path, b.id
            """)).all()
            staff: dict[int, int] = {}
            loans: dict[int, int] = {}
            customers: dict[int, int] = {}
            if counts and rows:
                staff = dict(session.execute(text(
                    "SELECT branch_id, count(*) FROM users WHERE is_active GROUP BY branch_id")).tuples().all())
                loans = dict(session.execute(text(
                    "SELECT branch_id, count(*) FROM loans WHERE status = ANY(:open) GROUP BY branch_id"),
                    {"open": list(OPEN_LOANS)}).tuples().all())
                customers = dict(session.execute(text(
                    "SELECT branch_id, count(*) FROM customers GROUP BY branch_id")).tuples().all())
        return [Branch(row.id, row.code, row.name, row.parent_id, row.parent_code, max(int(row.depth), 0),
                       row.is_active, row.closed_through, staff.get(row.id, 0), loans.get(row.id, 0),
                       customers.get(row.id, 0), row.tills_required) for row in rows]

    def get(self, branch_id: int) -> Branch:
        found = [branch for branch in self.tree(counts=False) if branch.id == branch_id]
        if not found:
            raise Refused(f"branch {branch_id} does not exist or is not yours to see")
        return found[0]

    # --- the administrator's changes ------------------------------------------------------------------

    def create(self, code: str, name: str, parent_id: int | None) -> Branch:
        code, name = clean_code(code), name.strip()
        problems = {field: problem for field, problem in (
            ("code", code_problem(code)), ("name", name_problem(name)),
            ("parent", None if parent_id is not None else "choose the branch it belongs under"),
        ) if problem}
        if problems:
            raise ValidationError(problems)
        try:
            with self.work() as session:
                taken = session.scalar(text("SELECT name FROM branches WHERE code = :code"), {"code": code})
                if taken is not None:
                    raise ValidationError({"code": f"the code {code} is already the branch {taken}"})
                branch_id = session.scalar(text("SELECT create_branch(:code, :name, :parent, :user)"),
                                           {"code": code, "name": name, "parent": parent_id,
                                            "user": self.actor.user_id})
        except (Refused, ValidationError) as exc:
            raise _on_field(exc, {"code": "code", "name": "name", "parent_id": "parent", "parent": "parent"}) from exc
        return self.get(int(branch_id))

    def rename(self, branch_id: int, name: str) -> Branch:
        name = name.strip()
        problem = name_problem(name)
        if problem:
            raise ValidationError({"name": problem})
        try:
            with self.work() as session:
                session.execute(text("SELECT rename_branch(:branch, :name, :user)"),
                                {"branch": branch_id, "name": name, "user": self.actor.user_id})
        except (Refused, ValidationError) as exc:
            raise _on_field(exc, {"name": "name"}) from exc
        return self.get(branch_id)

    def set_active(self, branch_id: int, active: bool) -> Branch:
        """Deactivate or reactivate; the database refuses the head office, a branch with open loans and one
        with active branches under it, and says which."""
        try:
            with self.work() as session:
                session.execute(text("SELECT set_branch_active(:branch, :active, :user)"),
                                {"branch": branch_id, "active": active, "user": self.actor.user_id})
        except ValidationError as exc:  # the refusal concerns the branch as a whole, not a field of a form
            raise Refused("; ".join(exc.fields.values())) from exc
        return self.get(branch_id)

    def set_tills_required(self, branch_id: int, required: bool) -> Branch:
        """Whether cash in the branch must go through an open till (an administrator's switch; setting the state
        it already has changes nothing)."""
        try:
            with self.work() as session:
                session.execute(text("SELECT set_branch_tills_required(:branch, :required, :user)"),
                                {"branch": branch_id, "required": required, "user": self.actor.user_id})
        except ValidationError as exc:  # the refusal concerns the branch as a whole, not a field of a form
            raise Refused("; ".join(exc.fields.values())) from exc
        return self.get(branch_id)

    def assign_user(self, user_id: int, branch_id: int) -> None:
        """Staff work for one branch (and see the branches under it)."""
        try:
            with self.work() as session:
                session.execute(text("SELECT assign_user_branch(:member, :branch, :admin)"),
                                {"member": user_id, "branch": branch_id, "admin": self.actor.user_id})
        except (Refused, ValidationError) as exc:
            raise _on_field(exc, {"branch_id": "branch", "branch": "branch"}) from exc

    # --- supervisors and accountants ------------------------------------------------------------------

    def close_period(self, branch_id: int | None, through: date | None, *, today: date | None = None) -> Branch:
        """Nothing may be posted in the branch on or before `through` once this is done."""
        problems = close_problems(branch_id, through, today)
        if problems:
            raise ValidationError(problems)
        assert branch_id is not None
        try:
            with self.work() as session:
                session.execute(text("SELECT close_branch_period(:branch, :through, :user)"),
                                {"branch": branch_id, "through": through, "user": self.actor.user_id})
        except (Refused, ValidationError) as exc:
            raise _on_field(exc, {"closed_through": "through", "through": "through", "date": "through",
                                  "future": "through", "yesterday": "through"}) from exc
        return self.get(branch_id)

    def transfer_customer(self, customer_id: int, to_branch_id: int | None, reason: str) -> int:
        """Move the customer, their loans and the loans' transactions to another branch (supervisor only);
        returns how many loans moved."""
        reason = reason.strip()
        problems = transfer_problems(to_branch_id, reason)
        if problems:
            raise ValidationError(problems)
        try:
            with self.work() as session:
                current = session.scalar(text("SELECT branch_id FROM customers WHERE id = :customer"),
                                         {"customer": customer_id})
                if current is not None and current == to_branch_id:
                    raise ValidationError({"branch": "the customer is already in this branch"})
                moved = session.scalar(text("SELECT transfer_customer(:customer, :branch, :reason, :user)"),
                                       {"customer": customer_id, "branch": to_branch_id, "reason": reason,
                                        "user": self.actor.user_id})
        except (Refused, ValidationError) as exc:
            raise _on_field(exc, {"reason": "reason", "branch_id": "branch", "branch": "branch"}) from exc
        return int(moved or 0)

    def customer_branch(self, customer_id: int) -> Branch | None:
        """The branch a customer belongs to."""
        with self.work() as session:
            branch_id = session.scalar(text("SELECT branch_id FROM customers WHERE id = :customer"),
                                       {"customer": customer_id})
        if branch_id is None:
            return None
        return next((b for b in self.tree(counts=False) if b.id == branch_id), None)
