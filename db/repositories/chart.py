"""The chart of accounts as the accountant keeps it: add an account under a parent, (de)activate one.

Accounts are never deleted, and posted journal lines keep pointing at them. The supervisor reads the
books and may not change them: the database refuses it (no INSERT/UPDATE grant) whatever the screen shows.
"""

from __future__ import annotations

import re

from sqlalchemy import text

from db.errors import NotFound, Refused, ValidationError
from db.repositories.accounting import AccountBalance
from db.repositories.base import Repository

ACCOUNT_TYPES = ("asset", "liability", "equity", "income", "expense")
SYSTEM_CODES = ("1000", "1100", "1200", "2000", "3000", "4000", "4100", "5000")
_CODE = re.compile(r"^[0-9]{3,10}$")


class ChartRepository(Repository):
    def add_account(self, code: str, name: str, account_type: str, parent_code: str = "") -> int:
        """Add an account; returns its id. A child takes its parent's type."""
        code, name, parent_code = code.strip(), name.strip(), parent_code.strip()
        problems: dict[str, str] = {}
        if not _CODE.match(code):
            problems["code"] = "an account code is 3 to 10 digits, e.g. 1010"
        if not name:
            problems["name"] = "the account name is required"
        elif len(name) > 100:
            problems["name"] = "at most 100 characters"
        if account_type not in ACCOUNT_TYPES:
            problems["type"] = f"choose one of {', '.join(ACCOUNT_TYPES)}"
        if problems:
            raise ValidationError(problems)
        with self.work() as session:
            if session.execute(text("SELECT 1 FROM chart_of_accounts WHERE account_code = :c"), {"c": code}).first():
                raise ValidationError({"code": f"account {code} already exists"})
            parent_id = None
            if parent_code:
                parent = session.execute(
                    text("SELECT id, account_type FROM chart_of_accounts WHERE account_code = :c"),
                    {"c": parent_code}).first()
                if parent is None:
                    raise ValidationError({"parent": f"there is no account {parent_code}"})
                if parent.account_type != account_type:
                    raise ValidationError({"type": f"account {parent_code} is an {parent.account_type} account; "
                                                   "a sub-account has its parent's type"})
                parent_id = parent.id
            return int(session.execute(
                text("INSERT INTO chart_of_accounts (account_code, account_name, account_type, parent_id) "
                     "VALUES (:c, :n, :t, :p) RETURNING id"),
                {"c": code, "n": name, "t": account_type, "p": parent_id},
            ).scalar_one())

    def set_active(self, account: AccountBalance, active: bool) -> None:
        if not active and account.account_code in SYSTEM_CODES:
            raise Refused(f"account {account.account_code} is used by every payment and disbursement; "
                          "it cannot be deactivated")
        with self.work() as session:
            done = session.execute(text("UPDATE chart_of_accounts SET is_active = :a WHERE id = :i RETURNING id"),
                                   {"a": active, "i": account.id}).first()
        if done is None:
            raise NotFound(f"account {account.account_code} does not exist")
