"""Ingest: raw webhook deliveries stored verbatim, normalizer state, quarantine.

Revision ID: 0004
Revises: 0003
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
