"""Audit canonical encoding v2: the hashed bytes are stored; snapshots are generated from them.

Revision ID: 0018
Revises: 0017
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
