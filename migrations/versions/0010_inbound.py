"""Inbound (two-way sync): QuickBooks notifications, CDC state, conflict policies, overrides.

Revision ID: 0010
Revises: 0009
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
