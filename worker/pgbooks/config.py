"""Configuration from the environment (and a ``.env`` file in the working directory).

Only ``DATABASE_URL`` is needed by the foundation; later subsystems add their own keys here so
that there is one place to read about configuration. Secrets are never printed: use
:func:`redact_url` before showing a URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from dotenv import load_dotenv

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/pgbooks"


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one process."""

    database_url: str


def load_settings() -> Settings:
    """Read settings from the environment, after loading ``.env`` if present."""
    load_dotenv(override=False)
    return Settings(database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))
