"""Outbox: per-realm index of the due entries in claim order.

Revision ID: 0021
Revises: 0020
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
