"""pgqueuer 1.6.0 schema in its own schema ``pgq`` (``pgq sql install`` output, verbatim).

Revision ID: 0002
Revises: 0001
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
