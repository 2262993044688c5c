"""Exit codes shared by every ``pgbooks`` subcommand (documented in the README)."""

OK = 0
ERROR = 1  # the command failed; the message says why
USAGE = 2  # bad arguments (typer/click's own code)
ATTENTION = 3  # the command ran, and what it found needs a human (pending migrations, ...)
NO_DATABASE = 4  # DATABASE_URL cannot be reached
