"""Bank: imported bank statements and their lines, matched to payouts.

Revision ID: 0008
Revises: 0007
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
