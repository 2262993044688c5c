"""Ed25519 keys and signed checkpoints.

The private key never enters the database: it is read from a PEM file (``--key`` or the
``PGBOOKS_AUDIT_KEY`` environment variable). A checkpoint statement is compact, key-sorted JSON
(``v``, ``tenant_id``, ``seq``, ``head``, ``signed_at``); the signature covers a domain prefix
plus the statement bytes, so a signature can never be replayed as another kind of message.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

CHECKPOINT_DOMAIN = b"pgbooks-checkpoint-v1\n"
MANIFEST_DOMAIN = b"pgbooks-manifest-v1\n"
KEY_ENV = "PGBOOKS_AUDIT_KEY"


class SigningKeyError(Exception):
    """The signing key is missing or unreadable."""


def generate_key(path: Path) -> str:
    """Write a new Ed25519 private key (PEM, mode 0600) and ``<path>.pub``; return the hex
    public key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    pub = public_hex(key)
    Path(str(path) + ".pub").write_text(pub + "\n")
    return pub


def load_key(path: str | Path | None = None) -> Ed25519PrivateKey:
    """Load the private key from ``path`` or ``$PGBOOKS_AUDIT_KEY``."""
    where = path or os.environ.get(KEY_ENV)
    if not where:
        raise SigningKeyError(f"no signing key: pass --key PATH or set {KEY_ENV}")
    try:
        key = serialization.load_pem_private_key(Path(where).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"cannot read signing key {where}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{where} is not an Ed25519 private key")
    return key


def public_hex(key: Ed25519PrivateKey) -> str:
    """Raw 32-byte public key, hex."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        .hex()
    )


def load_public(value: str) -> bytes:
    """A public key given as 64 hex characters or as a path to a file holding them."""
    text = value.strip()
    if len(text) != 64 and Path(text).is_file():
        text = Path(text).read_text().strip()
    raw = bytes.fromhex(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes (64 hex characters)")
    return raw


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement about the head of one tenant chain."""

    statement: str
    public_key: bytes
    signature: bytes


def checkpoint_statement(
    tenant_id: str, seq: int, head_hex: str, when: datetime | None = None
) -> str:
    """The exact text that is signed."""
    signed_at = (when or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    doc = {"v": 1, "tenant_id": tenant_id, "seq": seq, "head": head_hex, "signed_at": signed_at}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def sign_checkpoint(key: Ed25519PrivateKey, tenant_id: str, seq: int, head_hex: str) -> Checkpoint:
    """Sign the head of a tenant chain."""
    statement = checkpoint_statement(tenant_id, seq, head_hex)
    sig = key.sign(CHECKPOINT_DOMAIN + statement.encode())
    return Checkpoint(statement, bytes.fromhex(public_hex(key)), sig)


def verify_signature(domain: bytes, message: bytes, public_key: bytes, signature: bytes) -> bool:
    """True when ``signature`` is ``public_key``'s Ed25519 signature of domain + message."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, domain + message)
    except (InvalidSignature, ValueError):
        return False
    return True
