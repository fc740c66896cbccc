"""Groups and collection sheets: centers, groups and their members, loans taken in a group, a meeting's repayments
posted at once.

1. `groups` (centers and groups: number, name, branch, loan officer, meeting weekday and frequency anchored at
   `first_meeting_date`, place, active or closed) and `group_members` (role, joined, left; one active group per
   customer), under row-level security like the other branch tables. `loans.group_id` (NULL: an individual loan).
2. `create_group`, `update_group`, `close_group`, `add_group_member`, `remove_group_member` (loan officers and
   supervisors); `next_meeting_date`, `group_meeting_dates`.
3. A group loan: its customer an active member, weekly or biweekly as the meetings allow, its first repayment (and
   so every installment) on a meeting day.
4. `collection_sheets` and `collection_sheet_lines`; `collection_sheet(group, date)` (what each member loan owes at
   the meeting, arrears included, and the most it takes) and `post_collection_sheet` (every repayment of a meeting in
   one transaction through the counter's allocation and posting, all or nothing, once per group and date), by the
   group's loan officer from the meeting (or a supervisor or cashier); loan officers open and close a till session
   of their own for the meeting's cash (open_till, close_till; ledger_take_repayment is record_loan_payment's
   posting, split out for the sheet). SQLSTATE P0131: a line of a sheet refused, its loan number as COLUMN.

Revision ID: 0023
Revises: 0019
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0023"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0023_groups.sql")


def downgrade() -> None:
    run_sql("0023_groups_downgrade.sql")
