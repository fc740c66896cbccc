"""Idempotent saves: customers and loans keep the key their form made, so a retried save lands once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from migrations.sqlfile import run_sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0008_idempotent_saves.sql")


def downgrade() -> None:
    run_sql("0008_idempotent_saves_downgrade.sql")
