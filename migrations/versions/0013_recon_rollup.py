"""Recon rollup: per-tenant reconciliation summary kept fast (rollup + changed days).

Revision ID: 0013
Revises: 0012
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
