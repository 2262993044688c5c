"""Import a bank statement file: parse it whole (``pgbooks.bank``), then store it in one call to
``api.bank_statement__import`` (one transaction: the whole file or nothing)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pgbooks.bank import CsvProfile, Statement, StatementLine, get_profile, parse_statement

__all__ = ["build_document", "import_bytes", "import_file", "store_document"]

_FORMAT_KEYS = {"ofx": "ofx", "bai2": "bai2", "mt940": "mt940", "csv": "csv"}


def _format_key(fmt: str) -> str:
    return "camt" if fmt.startswith("camt") else _FORMAT_KEYS[fmt]


def _line(line: StatementLine) -> dict[str, Any]:
    return {
        "booking_date": line.booking_date.isoformat(),
        "value_date": line.value_date.isoformat() if line.value_date else None,
        "amount": format(line.amount, "f"),
        "currency": line.currency,
        "bank_id": line.bank_id,
        "fingerprint": line.fingerprint,
        "dedup_key": line.dedup_key,
        "description": line.description,
        "counterparty_name": line.counterparty_name,
        "counterparty_ref": line.counterparty_ref,
        "reference": line.reference,
        "transaction_code": line.transaction_code,
        "source": line.source,
    }


def _statement(st: Statement, default_account: str | None) -> dict[str, Any]:
    # An export that does not name its account (many single-account CSVs) gets the --account
    # given, else a stable name from its format and bank/profile: never the file name, which
    # changes between downloads and would defeat the dedup.
    account = (
        st.account_id.strip() or default_account or f"{_format_key(st.fmt)}:{st.bank or 'default'}"
    )
    return {
        "account_id": account,
        "currency": st.currency,
        "bank": st.bank,
        "statement_id": st.statement_id,
        "period_start": st.period_start.isoformat() if st.period_start else None,
        "period_end": st.period_end.isoformat() if st.period_end else None,
        "opening_balance": format(st.opening_balance.amount, "f") if st.opening_balance else None,
        "closing_balance": format(st.closing_balance.amount, "f") if st.closing_balance else None,
        "lines": [_line(x) for x in st.lines],
    }


def build_document(
    data: bytes,
    *,
    file_name: str | None = None,
    fmt: str | None = None,
    profile: str | CsvProfile | None = None,
    currency: str | None = None,
    account_id: str | None = None,
) -> dict[str, Any]:
    """Parse ``data`` and return the JSON document ``api.bank_statement__import`` takes.

    Raises :class:`pgbooks.bank.StatementParseError` (naming the line) when the file cannot be
    parsed; nothing is stored then.
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if prof is not None and currency is not None:
        prof = dataclasses.replace(prof, currency=currency)
    statements = parse_statement(data, filename=file_name, fmt=fmt, profile=prof)
    return {
        "file_sha256": hashlib.sha256(data).hexdigest(),
        "file_name": file_name,
        "format": _format_key(statements[0].fmt),
        "default_account_id": account_id,
        "statements": [_statement(s, account_id) for s in statements],
    }


def import_bytes(
    conn: psycopg.Connection[Any], tenant_id: str, data: bytes, **kw: Any
) -> dict[str, Any]:
    """Parse and store one file; returns the function's summary (counts, statement ids)."""
    return store_document(conn, tenant_id, build_document(data, **kw))


def store_document(
    conn: psycopg.Connection[Any], tenant_id: str, doc: dict[str, Any]
) -> dict[str, Any]:
    """Store a parsed file (:func:`build_document`) in one call, one transaction."""
    with conn.transaction():
        row = conn.execute(
            "SELECT api.bank_statement__import(%s, %s)", (tenant_id, Jsonb(doc))
        ).fetchone()
    assert row is not None
    result: dict[str, Any] = dict(row[0])
    result["format"] = doc["format"]
    result["statements"] = len(doc["statements"])
    return result


def import_file(
    conn: psycopg.Connection[Any], tenant_id: str, path: Path, **kw: Any
) -> dict[str, Any]:
    """:func:`import_bytes` for a file on disk (its name helps format detection)."""
    return import_bytes(conn, tenant_id, path.read_bytes(), file_name=path.name, **kw)
