"""Payout rollup: the payout views kept fast (rollup per payout + changed payouts).

Revision ID: 0019
Revises: 0018
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
