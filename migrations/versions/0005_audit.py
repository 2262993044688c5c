"""Audit: append-only hash-chained event log per tenant, checkpoints.

Revision ID: 0005
Revises: 0004
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
