"""Books derivation off the commit path: the derive request queue and the per-tenant opt-in.

Revision ID: 0022
Revises: 0021
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
