"""Books: tenant setting for test-mode orders (book, skip, or auto by the connected company).

Revision ID: 0012
Revises: 0011
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
