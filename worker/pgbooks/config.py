"""Configuration from the environment (and a ``.env`` file in the working directory).

Only ``DATABASE_URL`` is needed by the foundation; later subsystems add their own keys here so
that there is one place to read about configuration. Secrets are never printed: use
:func:`redact_url` before showing a URL, and :func:`scrub` on any text that may quote one.

``.env`` is looked up from the current working directory upwards (the first one found wins);
variables already set in the environment win over it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dotenv import find_dotenv, load_dotenv

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/pgbooks"
# Environment variables whose values are secrets: never printed, scrubbed from error messages.
SECRET_ENV = ("PGBOOKS_SECRET_KEY", "PGBOOKS_QBO_CLIENT_SECRET", "PGBOOKS_AUDIT_KEY", "PGPASSWORD")


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one process."""

    database_url: str


def load_env() -> None:
    """Load ``.env`` from the working directory (or its nearest parent holding one)."""
    path = find_dotenv(usecwd=True)
    if path:
        load_dotenv(path, override=False)


def load_settings() -> Settings:
    """Read settings from the environment, after loading ``.env`` if present."""
    load_env()
    return Settings(database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))


def _password(url: str) -> str | None:
    """The password a connection string carries (URL, URL query or key=value form)."""
    if "://" in url:
        parts = urlsplit(url)
        if parts.password:
            return parts.password
        return dict(parse_qsl(parts.query)).get("password")
    from psycopg.conninfo import conninfo_to_dict

    try:
        value = conninfo_to_dict(url).get("password")
    except Exception:  # unparseable: nothing to extract
        return None
    return None if value is None else str(value)


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***`` (URL or ``key=value`` form)."""
    if "://" not in url:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        try:
            params = conninfo_to_dict(url)
        except Exception:  # never echo what we cannot parse
            return "<connection string>"
        if "password" in params:
            params["password"] = "***"
        return make_conninfo("", **params)
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "password" for k, _ in query):
        query = [(k, "***" if k == "password" else v) for k, v in query]
        parts = parts._replace(query=urlencode(query, safe="*"))
    if parts.password is None:
        return urlunsplit(parts)
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def secrets_in_use() -> list[str]:
    """Secret values of this process (database password, keys): what :func:`scrub` removes."""
    found = [os.environ.get(name, "") for name in SECRET_ENV]
    found.append(_password(os.environ.get("DATABASE_URL", "")) or "")
    return [s for s in found if len(s) >= 4]


def scrub(text: str) -> str:
    """``text`` with every secret of this process replaced by ``***``."""
    for secret in secrets_in_use():
        text = text.replace(secret, "***")
    return text


def check_database(url: str) -> None:
    """Connect once and close: long-running commands call it first, so that a database that
    cannot be reached at start is exit code 4 with a message (they retry once running)."""
    import psycopg

    psycopg.connect(url, connect_timeout=10).close()
