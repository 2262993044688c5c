"""Database side of the audit commands: each function is one call to a ``close.*`` SQL function
(the rules live there), plus the signing and file writing that must happen outside the
database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pgbooks.audit import bundle, signing


def connect(url: str, user: str | None = None) -> psycopg.Connection:
    """An autocommit connection whose application user (pgbooks.user) is ``user``."""
    conn = psycopg.connect(url, autocommit=True)
    if user:
        conn.execute("SELECT set_config('pgbooks.user', %s, false)", (user,))
    return conn


def verify(
    conn: psycopg.Connection, tenant: str, from_seq: int = 1, to_seq: int | None = None
) -> dict[str, Any]:
    """close.audit__verify as a dict."""
    cur = conn.execute("SELECT * FROM close.audit__verify(%s, %s, %s)", (tenant, from_seq, to_seq))
    row = cur.fetchone()
    assert row is not None and cur.description is not None
    return {d.name: v for d, v in zip(cur.description, row, strict=True)}


def tenants(conn: psycopg.Connection) -> list[str]:
    """Tenants that have an audit chain."""
    rows = conn.execute("SELECT DISTINCT tenant_id FROM audit.events ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def checkpoint(conn: psycopg.Connection, tenant: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    """Sign the current head of ``tenant`` and store the checkpoint (chain verified first)."""
    res = verify(conn, tenant)
    if not res["ok"]:
        raise RuntimeError(f"chain of {tenant} is broken, refusing to sign: {res['problem']}")
    if res["head_seq"] is None:
        raise RuntimeError(f"tenant {tenant} has no audit events yet")
    cp = signing.sign_checkpoint(key, tenant, int(res["head_seq"]), str(res["head_hash"]))
    conn.execute(
        "SELECT close.checkpoint__record(%s, %s, %s, %s)",
        (tenant, cp.statement, cp.public_key, cp.signature),
    )
    return {
        "tenant_id": tenant,
        "seq": res["head_seq"],
        "head": res["head_hash"],
        **json.loads(cp.statement),
    }


def receipt(conn: psycopg.Connection, order_id: str, tenant: str | None = None) -> dict[str, Any]:
    """close.audit__receipt; the tenant is found from orders.orders when not given."""
    if tenant is None:
        rows = conn.execute(
            "SELECT DISTINCT tenant_id FROM orders.orders WHERE order_id = %s", (order_id,)
        ).fetchall()
        if len(rows) != 1:
            raise RuntimeError(f"order {order_id} found in {len(rows)} tenants: pass --tenant")
        tenant = str(rows[0][0])
    row = conn.execute("SELECT close.audit__receipt(%s, %s)", (tenant, order_id)).fetchone()
    assert row is not None
    return dict(row[0])


def _chain_files(conn: psycopg.Connection, tenant: str, from_seq: int = 1) -> dict[str, str]:
    events = conn.execute(
        "SELECT seq, prev_hash, hash, canonical FROM close.audit__export(%s, %s)",
        (tenant, from_seq),
    ).fetchall()
    cps = conn.execute(
        "SELECT seq, head_hash, statement, public_key, signature FROM close.checkpoint__list(%s)",
        (tenant,),
    ).fetchall()
    ev_text = "".join(
        json.dumps({"seq": s, "prev_hash": p, "hash": h, "canonical": c}) + "\n"
        for s, p, h, c in events
    )
    cp_text = "".join(
        json.dumps({"seq": s, "head_hash": h, "statement": st, "public_key": pk, "signature": sg})
        + "\n"
        for s, h, st, pk, sg in cps
    )
    head = events[-1][0] if events else None
    info = {
        "format": "pgbooks-chain/1",
        "tenant_id": tenant,
        "audit_from_seq": from_seq,
        "audit_head_seq": head,
    }
    return {
        "audit_events.jsonl": ev_text,
        "checkpoints.jsonl": cp_text,
        "chain.json": json.dumps(info) + "\n",
    }


# Progress of a long export: (what is being done, steps done, steps in all or None if unknown).
OnProgress = Callable[[str, int, int | None], None]


def _quiet(_what: str, _done: int, _total: int | None) -> None:
    """The default progress callback: nothing shown."""


def _write(
    directory: Path,
    files: dict[str, str],
    kind: str,
    key: Ed25519PrivateKey | None,
    on_progress: OnProgress,
) -> dict[str, Any]:
    written = 0

    def on_file(name: str) -> None:
        nonlocal written
        written += 1
        on_progress(f"wrote {name}", written, len(files))

    on_progress("writing files", 0, len(files))
    return bundle.write_bundle(directory, files, kind=kind, key=key, on_file=on_file)


def export_chain(
    conn: psycopg.Connection,
    tenant: str,
    directory: Path,
    key: Ed25519PrivateKey | None,
    on_progress: OnProgress = _quiet,
) -> dict[str, Any]:
    """Whole chain of a tenant + its checkpoints: an auditor checks offline that every earlier
    signed head is still on it (the chain only grew). Signs a fresh checkpoint first if keyed."""
    if key is not None:
        on_progress("signing a checkpoint", 0, None)
        checkpoint(conn, tenant, key)
    on_progress("reading the chain", 0, None)
    return _write(directory, _chain_files(conn, tenant), "chain", key, on_progress)


def export_period(
    conn: psycopg.Connection,
    tenant: str,
    period: str,
    directory: Path,
    key: Ed25519PrivateKey | None,
    on_progress: OnProgress = _quiet,
) -> dict[str, Any]:
    """close.export_period files, after signing a checkpoint of the head (if keyed)."""
    if key is not None:
        on_progress("signing a checkpoint", 0, None)
        checkpoint(conn, tenant, key)
    on_progress(f"reading {period}", 0, None)
    with conn.transaction():
        rows = conn.execute(
            "SELECT file_name, content FROM close.export_period(%s, %s)", (tenant, period)
        ).fetchall()
    files = {str(n): str(c or "") for n, c in rows}
    return _write(directory, files, "period", key, on_progress)
