"""Encryption of OAuth tokens at rest (Fernet; key from ``PGBOOKS_SECRET_KEY`` or ``.env``).

The database only ever sees ciphertext: a dump, a replica or an analyst cannot use a token.
Any string works as a key (it is stretched with SHA-256); a real Fernet key is used as is.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken

from pgbooks.config import load_env

ENV_KEY = "PGBOOKS_SECRET_KEY"


class SecretKeyError(RuntimeError):
    """The token encryption key is missing or does not decrypt the stored tokens."""


def _fernet_key(raw: str) -> bytes:
    try:
        if len(base64.urlsafe_b64decode(raw.encode())) == 32:
            return raw.encode()
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest())


class TokenCipher:
    """Encrypts and decrypts token strings with one key."""

    def __init__(self, key: str | None = None) -> None:
        if key is None:
            load_env()  # .env of the working directory, like every setting
            key = os.environ.get(ENV_KEY)
        if not key:
            raise SecretKeyError(
                f"{ENV_KEY} is not set: export it (or put it in .env) to encrypt QuickBooks tokens"
            )
        self._fernet = Fernet(_fernet_key(key))

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def decrypt(self, blob: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(blob)).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                f"stored token does not decrypt with {ENV_KEY}: was the key changed?"
            ) from exc
