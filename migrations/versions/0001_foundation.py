"""Foundation: roles, schemas, privileges revoked from PUBLIC, deploy metadata.

Revision ID: 0001
Revises:
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
