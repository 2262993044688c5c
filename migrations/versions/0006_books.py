"""Books: provider-neutral accounting documents and per-tenant posting settings.

Revision ID: 0006
Revises: 0005
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
