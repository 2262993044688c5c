"""`python -m qbo_sandbox serve ...`."""

from .cli import app

app()
