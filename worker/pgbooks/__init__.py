"""pgbooks: the thin Python side (worker, receiver, CLI) of a Postgres-native bookkeeping engine."""

__version__ = "0.1.0"
