"""QuickBooks books closing date per tenant and realm (books.qbo_close_dates).

Revision ID: 0016
Revises: 0015
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
