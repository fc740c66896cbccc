"""A meeting for the collection sheet screen: one branch (tills required, the cashier's till open) with a weekly
group of thirty members, each with a group loan of 4,000.00 at 0 % over four weeks disbursed four weeks before
the meeting, so that at the meeting every installment is due: 4,000.00 each, 3,000.00 of it arrears.

The day is fixed (MEETING) so that a snapshot of the sheet is the same every day; the app's clock is pinned to it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine, text

from tests.groups.book import GroupBranch, _staff, add_member, create_group, customer, group_loan, one

MEETING = date(2025, 3, 10)  # a Monday
FIRST = MEETING - timedelta(days=28)
DUE = Decimal("4000.00")
SURNAMES = ("Achieng", "Wanjiru", "Otieno", "Mwangi", "Kamau", "Njeri", "Chebet", "Kiprono", "Atieno", "Mutua",
            "Wambui", "Odhiambo", "Kariuki", "Nyambura", "Omondi", "Jepchirchir", "Kimani", "Akinyi", "Mugo",
            "Auma", "Ndungu", "Cherono", "Ouma", "Wairimu", "Kiplagat", "Adhiambo", "Gitau", "Nekesa", "Maina",
            "Anyango", "Rotich", "Moraa")


def build_meeting(owner: Engine, app: Engine, members: int = 30, code: str = "KSM01") -> GroupBranch:
    """The branch, its staff and its group (`branch.group`, `branch.customers`, `branch.loans` in sheet order:
    by surname)."""
    with owner.begin() as conn:
        hq = conn.execute(text("SELECT id FROM branches WHERE parent_id IS NULL")).scalar_one()
        admin = conn.execute(text("SELECT id FROM users WHERE username = 'admin'")).scalar_one()
        branch_id = conn.execute(text("SELECT create_branch(:c, 'Kisumu', :p, :a)"),
                                 {"c": code, "p": hq, "a": admin}).scalar_one()
    branch = GroupBranch(branch_id, code)
    _staff(owner, branch)
    s = branch.staff
    officer = s["officer"]
    branch.group = create_group(app, officer, "group", "Upendo Women", first=FIRST)
    roles = ("chair", "secretary", "treasurer")
    for n in range(members):
        c = customer(app, branch, SURNAMES[n % len(SURNAMES)] + ("" if n < len(SURNAMES) else str(n)))
        branch.customers.append(c)
        add_member(app, officer, branch.group, c, roles[n] if n < len(roles) else "member",
                   joined=FIRST - timedelta(days=7))
        branch.loans.append(group_loan(app, branch, c, branch.group, disbursed=FIRST))
    one(app, s["accountant"], "SELECT post_manual_journal_entry(:d, 'Vault opening', CAST(:l AS jsonb), :me)",
        d=FIRST - timedelta(days=1), me=s["accountant"].user_id,
        l='[{"account_code": "1050", "debit": "500000.00", "credit": "0"}, '
          '{"account_code": "3000", "debit": "0", "credit": "500000.00"}]')
    branch.till = one(app, s["supervisor"], "SELECT create_till('T1', 'Counter 1', :me)", me=s["supervisor"].user_id)
    one(app, s["admin"], "SELECT set_branch_tills_required(:b, true, :me)", b=branch.id, me=s["admin"].user_id)
    one(app, s["cashier"], "SELECT open_till(:t, 1000, :me)", t=branch.till, me=s["cashier"].user_id)
    return branch
