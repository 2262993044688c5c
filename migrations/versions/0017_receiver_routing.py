"""Receiver routing: one channel per (platform, external account); 429s counted per bucket.

Revision ID: 0017
Revises: 0016
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
