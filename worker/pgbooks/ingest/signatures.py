"""Webhook signature checks over the raw request bytes (never over re-serialised JSON).

Each check returns one of the values stored in ``ingest.raw_events.signature_result``:
``valid``, ``invalid``, ``missing``, ``stale_timestamp`` (Stripe only) or ``no_secret``.
Secrets are tried in order (current, then previous) so a secret can be rotated without losing
deliveries; every comparison is constant-time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence

STRIPE_TOLERANCE_S = 300

SHOPIFY_HMAC_HEADERS = ("x-shopify-hmac-sha256", "shopify-hmac-sha256")
WOOCOMMERCE_HMAC_HEADERS = ("x-wc-webhook-signature",)
STRIPE_HEADERS = ("stripe-signature",)


def _header(headers: Mapping[str, str], names: Sequence[str]) -> str | None:
    for name in names:
        value = headers.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def hmac_sha256(secret: str, message: bytes) -> bytes:
    """Raw HMAC-SHA256 digest of ``message`` under ``secret`` (UTF-8)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def sign_base64(secret: str, body: bytes) -> str:
    """The Shopify / WooCommerce header value for ``body``: base64 of HMAC-SHA256."""
    return base64.b64encode(hmac_sha256(secret, body)).decode()


def sign_stripe(secret: str, body: bytes, timestamp: int) -> str:
    """A ``Stripe-Signature`` header value for ``body`` signed at ``timestamp``."""
    digest = hmac_sha256(secret, str(timestamp).encode() + b"." + body).hex()
    return f"t={timestamp},v1={digest}"


def verify_base64_hmac(value: str | None, body: bytes, secrets: Sequence[str]) -> str:
    """Check a base64 HMAC-SHA256 header (Shopify, WooCommerce) against each secret."""
    if not secrets:
        return "no_secret"
    if value is None:
        return "missing"
    try:
        given = base64.b64decode(value, validate=True)
    except ValueError:
        return "invalid"
    ok = False
    for secret in secrets:
        # No early exit: the time taken does not tell which secret (if any) matched.
        ok |= hmac.compare_digest(given, hmac_sha256(secret, body))
    return "valid" if ok else "invalid"


def parse_stripe_header(value: str) -> tuple[int | None, list[str]]:
    """``t=…,v1=…[,v1=…][,v0=…]`` → (timestamp, every v1 signature). Other schemes ignored."""
    timestamp: int | None = None
    v1: list[str] = []
    for item in value.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(val)
            except ValueError:
                timestamp = None
        elif key == "v1":
            v1.append(val.strip().lower())
    return timestamp, v1


def verify_stripe(
    value: str | None,
    body: bytes,
    secrets: Sequence[str],
    now: float,
    tolerance: int = STRIPE_TOLERANCE_S,
) -> str:
    """Check ``Stripe-Signature``: any v1 matching any secret, and ``|now - t| <= tolerance``.

    A correct signature with a timestamp outside the tolerance is ``stale_timestamp`` (a replay).
    """
    if not secrets:
        return "no_secret"
    if value is None:
        return "missing"
    timestamp, given = parse_stripe_header(value)
    if timestamp is None or not given:
        return "invalid"
    signed = str(timestamp).encode() + b"." + body
    ok = False
    for secret in secrets:
        expected = hmac_sha256(secret, signed).hex().encode()
        for candidate in given:
            ok |= hmac.compare_digest(candidate.encode(), expected)
    if not ok:
        return "invalid"
    if abs(now - timestamp) > tolerance:
        return "stale_timestamp"
    return "valid"


def verify(
    platform: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    now: float,
    tolerance: int = STRIPE_TOLERANCE_S,
) -> str:
    """Signature result for a delivery from ``platform`` (headers with lower-case names)."""
    if platform == "shopify":
        return verify_base64_hmac(_header(headers, SHOPIFY_HMAC_HEADERS), body, secrets)
    if platform == "woocommerce":
        return verify_base64_hmac(_header(headers, WOOCOMMERCE_HMAC_HEADERS), body, secrets)
    if platform == "stripe":
        return verify_stripe(_header(headers, STRIPE_HEADERS), body, secrets, now, tolerance)
    raise ValueError(f"platform: no signature scheme for {platform!r}")
