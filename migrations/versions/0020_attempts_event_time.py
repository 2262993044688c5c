"""sync.attempts: an index by tenant, event and time for health over a recent window.

Revision ID: 0020
Revises: 0019
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
