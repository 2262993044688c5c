"""Orders: canonical commerce facts (tenants, channels, orders, payments, refunds, payouts).

Revision ID: 0003
Revises: 0002
"""

from pgbooks.db.sqlfile import roll_forward_only, run_sibling_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sibling_sql(__file__)


def downgrade() -> None:
    roll_forward_only()
