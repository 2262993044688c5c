"""Every SQL file is loaded, exactly once, in an order written down in sql/LOADORDER."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgbooks import paths
from pgbooks.db.loadorder import LoadOrderError, read_loadorder


def _all_sql_files() -> set[Path]:
    files = set(paths.SQL_DIR.rglob("*.sql")) | set(paths.VIEWS_DIR.rglob("*.sql"))
    examples = paths.VIEWS_DIR / "examples"
    return {f.resolve() for f in files if examples not in f.parents}


def test_every_sql_file_is_listed_exactly_once() -> None:
    order = read_loadorder()
    listed = list(order.tables) + list(order.code)
    assert len(listed) == len(set(listed))
    missing = sorted(str(p.relative_to(paths.ROOT)) for p in _all_sql_files() - set(listed))
    assert missing == [], f"add these to sql/LOADORDER: {missing}"


def test_tables_and_code_live_in_their_directories() -> None:
    order = read_loadorder()
    assert all((paths.SQL_DIR / "tables") in p.parents for p in order.tables)
    code_dirs = (paths.SQL_DIR / "code", paths.VIEWS_DIR)
    assert all(any(d in p.parents for d in code_dirs) for p in order.code)


def test_duplicate_and_missing_entries_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("SELECT 1;")
    lo = tmp_path / "LOADORDER"
    lo.write_text("[code]\na.sql\na.sql\n")
    with pytest.raises(LoadOrderError, match="listed twice"):
        read_loadorder(lo, tmp_path)
    lo.write_text("[code]\nb.sql\n")
    with pytest.raises(LoadOrderError, match="no such file"):
        read_loadorder(lo, tmp_path)
    lo.write_text("a.sql\n")
    with pytest.raises(LoadOrderError, match="before any"):
        read_loadorder(lo, tmp_path)
