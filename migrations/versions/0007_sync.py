"""Sync: outbox, attempts, locks, remote links, rate limits, connections, exceptions.

Revision ID: 0007
Revises: 0006
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
