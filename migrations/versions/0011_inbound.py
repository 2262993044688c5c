"""Inbound (two-way sync): QuickBooks notifications, CDC state, conflict policies, overrides.

Revision ID: 0011
Revises: 0010
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
