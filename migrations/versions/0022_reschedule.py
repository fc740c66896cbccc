"""Rescheduling: a loan officer or supervisor asks to move a loan's unpaid tail (from which unpaid installment, a new
next due date, extra installments, a new rate, grace periods, arrears kept or waived, a reason); another supervisor
approves or rejects it. On approval the unpaid tail is written anew by the one schedule math, the replaced rows are
kept in `payment_schedule_history`, and nothing is posted (cash basis).

1. `loan_reschedules` (pending → approved | rejected, one pending per loan) and `payment_schedule_history`, branch
   tables under row-level security, audited, following their loan's branch.
2. The schedule math takes grace periods (interest-only installments at the start):
   `ledger_schedule_amounts(…, p_grace)` and `ledger_schedule_rows(…, p_grace)`; the old signatures call them with 0.
3. `preview_reschedule`, `request_reschedule`, `approve_reschedule`, `reject_reschedule`.
4. Late penalties on a rescheduled tail: each charge's unpaid part is moved onto the new schedule or waived by the
   reschedule (`loan_charges.rescheduled_id`, `moved_amount`; `loan_charge_unpaid` pays what an installment carried
   first); the arrears interest a reschedule keeps stays due (`payment_schedules.interest_carried`, kept by the payoff
   in `ledger_payoff_rows` under every rule).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0022_reschedule.sql")


def downgrade() -> None:
    run_sql("0022_reschedule_downgrade.sql")
