"""QuickBooks mirror: index on the pgbooks PrivateNote marker (documents without DocNumber).

Revision ID: 0015
Revises: 0014
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
