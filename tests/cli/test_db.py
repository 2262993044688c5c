"""`pgbooks db migrate|status` and where configuration comes from (environment, `.env`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import DB_PASSWORD, Cli, with_password

STATUS_KEYS = {
    "database",
    "revision",
    "head",
    "pending_migrations",
    "code_checksum_loaded",
    "code_checksum_current",
    "up_to_date",
}
MIGRATE_KEYS = {
    "revision_before",
    "revision_after",
    "migrations_applied",
    "code_reloaded",
    "code_checksum",
}


@pytest.mark.cli("db migrate", "db status")
def test_migrate_an_empty_database_then_status(empty_db_url: str, tmp_path: Path) -> None:
    cli = Cli(with_password(empty_db_url), tmp_path)
    before = cli("db", "status", "--json")
    assert before.code == 3, before  # pending migrations need attention
    facts = before.json()
    assert set(facts) == STATUS_KEYS
    assert facts["pending_migrations"] and facts["up_to_date"] is False
    assert ":***@" in facts["database"]  # the URL is shown, its password masked

    first = cli("db", "migrate")
    assert first.code == 0, first
    assert "schema: migrated" in first.stdout and "code:   reloaded" in first.stdout

    again = cli("db", "migrate", "--json")
    assert again.code == 0, again
    facts = again.json()
    assert set(facts) == MIGRATE_KEYS
    assert facts["migrations_applied"] is False and facts["code_reloaded"] is False

    after = cli("db", "status")
    assert after.code == 0, after
    assert "pending:  none" in after.stdout and "code:     current" in after.stdout


@pytest.mark.cli("db status", "exceptions list")
def test_database_url_from_dotenv_in_the_working_directory(
    module_db_url: str, tmp_path: Path
) -> None:
    url = with_password(module_db_url)
    cli = Cli(url, tmp_path)
    (tmp_path / ".env").write_text(f"DATABASE_URL={url}\n")
    done = cli("db", "status", "--json", unset=("DATABASE_URL",))
    assert done.code == 0, done
    assert done.json()["database"] == url.replace(DB_PASSWORD, "***")

    # every setting, including those options read from the environment (PGBOOKS_TENANT)
    (tmp_path / ".env").write_text(f"DATABASE_URL={url}\nPGBOOKS_TENANT=acme\n")
    listed = cli("exceptions", "list", "--json", unset=("DATABASE_URL",))
    assert listed.code == 0 and listed.json() == {"exceptions": []}, listed

    # found from a subdirectory too (nearest .env upwards)
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert cli("db", "status", unset=("DATABASE_URL",), cwd=sub).code == 0

    # the environment wins over .env
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://x:dotenv-pw@127.0.0.1:1/nowhere\n")
    assert cli("db", "status").code == 0
    unreachable = cli("db", "status", unset=("DATABASE_URL",))
    assert unreachable.code == 4, unreachable
    assert "dotenv-pw" not in unreachable.stderr and "127.0.0.1:1" in unreachable.stderr
