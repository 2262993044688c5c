"""Audit trail tooling: checkpoint signing (Ed25519, key outside the database), export bundles
and their standalone offline verifier, and the ``pgbooks audit`` / ``pgbooks close`` commands.

The rules live in SQL (``sql/code/audit``, ``sql/code/close``); this package only signs, writes
files and verifies them without a database.
"""
