"""Signature checks against the published test vectors (shared/reference/webhook-signing.md)."""

from __future__ import annotations

from pgbooks.ingest import signatures as sig

from .conftest import fixture_bytes

SHOPIFY_BODY = "shopify__slince__Order__view.json"
STRIPE_BODY = "stripe__payrails__charge.succeeded.json"
WOO_BODY = "woocommerce__derived__wcdocs_v3_orders_examples.json"


def test_shopify_vector_validates_and_a_trailing_newline_breaks_it() -> None:
    body = fixture_bytes(SHOPIFY_BODY)
    header = "kZ/UaLfDC+H/lOermFiDlwDUR3KOdtS+jh1Gg4vQtI8="
    assert sig.sign_base64("hush", body) == header
    assert sig.verify("shopify", {"x-shopify-hmac-sha256": header}, body, ["hush"], 0) == "valid"
    assert sig.verify("shopify", {"shopify-hmac-sha256": header}, body, ["hush"], 0) == "valid"
    assert sig.sign_base64("hush", body + b"\n") == "9qYN9vMtJ+apxaY3wEpmRTxHn59E45hsSVfI2l4mpq0="
    res = sig.verify("shopify", {"x-shopify-hmac-sha256": header}, body + b"\n", ["hush"], 0)
    assert res == "invalid"


def test_woocommerce_vector_validates() -> None:
    body = fixture_bytes(WOO_BODY)
    header = "7y6ByaGjTanySFrEhuZ9jGlmfySR3EGJ4dR/rfraSnA="
    assert sig.sign_base64("wc_secret", body) == header
    headers = {"x-wc-webhook-signature": header}
    assert sig.verify("woocommerce", headers, body, ["wc_secret"], 0) == "valid"
    assert sig.verify("woocommerce", headers, body, ["other"], 0) == "invalid"


def test_stripe_vector_tolerance_and_rotation() -> None:
    body = fixture_bytes(STRIPE_BODY)
    header = "t=1700000000,v1=bb5a1a58a6b0dbe7659fa3f6209fdbb3677e8ae73f5784fbd6833008dd935207"
    assert sig.sign_stripe("whsec_test_secret", body, 1700000000) == header
    h = {"stripe-signature": header}
    assert sig.verify("stripe", h, body, ["whsec_test_secret"], 1700000000 + 300) == "valid"
    assert sig.verify("stripe", h, body, ["whsec_test_secret"], 1700000000 - 300) == "valid"
    stale = sig.verify("stripe", h, body, ["whsec_test_secret"], 1700000000 + 301)
    assert stale == "stale_timestamp"
    # Rotation: the current secret differs, the previous one signed it; or several v1 values.
    assert sig.verify("stripe", h, body, ["whsec_new", "whsec_test_secret"], 1700000000) == "valid"
    multi = {"stripe-signature": "t=1700000000,v1=" + "0" * 64 + "," + header.split(",")[1]}
    assert sig.verify("stripe", multi, body, ["whsec_test_secret"], 1700000000) == "valid"
    v0_only = {"stripe-signature": "t=1700000000,v0=" + header.split("v1=")[1]}
    assert sig.verify("stripe", v0_only, body, ["whsec_test_secret"], 1700000000) == "invalid"


def test_missing_header_garbage_and_no_secret() -> None:
    body = b"{}"
    assert sig.verify("shopify", {}, body, ["s"], 0) == "missing"
    assert sig.verify("shopify", {"x-shopify-hmac-sha256": "%%%"}, body, ["s"], 0) == "invalid"
    assert sig.verify("stripe", {"stripe-signature": "garbage"}, body, ["s"], 0) == "invalid"
    assert sig.verify("stripe", {}, body, [], 0) == "no_secret"
