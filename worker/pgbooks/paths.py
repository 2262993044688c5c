"""Where the project's SQL, views and migrations live.

pgbooks runs from a checkout (``pip install -e .``): the SQL is the product, so it is read from
the source tree, never copied into site-packages. ``PGBOOKS_HOME`` overrides the location.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("PGBOOKS_HOME") or Path(__file__).resolve().parents[2])
SQL_DIR = ROOT / "sql"
VIEWS_DIR = ROOT / "views"
MIGRATIONS_DIR = ROOT / "migrations"
LOADORDER = SQL_DIR / "LOADORDER"
