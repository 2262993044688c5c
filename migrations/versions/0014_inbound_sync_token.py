"""Inbound changes: SyncToken tells apart two QuickBooks changes in the same second.

Revision ID: 0014
Revises: 0013
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
