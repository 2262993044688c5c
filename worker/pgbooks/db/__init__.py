"""Database lifecycle: migrations (alembic) and reload of replaceable SQL code."""
