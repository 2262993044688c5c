"""Guess a statement file's format from its first bytes (and its name as a last resort)."""

from __future__ import annotations

import re

from .model import StatementParseError

__all__ = ["FORMATS", "detect_format"]

FORMATS = ("ofx", "camt", "bai2", "mt940", "csv")

_HEAD = 8192
_OFX_RE = re.compile(rb"OFXHEADER\s*:|<\?OFX\b|<OFX>", re.IGNORECASE)
_CAMT_RE = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]|<(\w+:)?BkToCstmr")
_BAI2_RE = re.compile(rb"\A01,[^\r\n]*/")
_MT940_TAG_RE = re.compile(rb"^\s*:(20|25|28C?|60[FM]|61|62[FM]|86):", re.MULTILINE)
_MT940_ENVELOPE_RE = re.compile(rb"\A\{1:")
_CSV_EXT = (".csv", ".tsv", ".txt")


def _strip_bom(data: bytes) -> bytes:
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if data.startswith(bom):
            return data[len(bom) :]
    return data


def detect_format(data: bytes, filename: str | None = None) -> str:
    """Return one of :data:`FORMATS`, or raise :class:`StatementParseError`."""
    head = _strip_bom(data[:_HEAD]).lstrip()
    if not head:
        raise StatementParseError("detect", "empty file", filename=filename)
    if _OFX_RE.search(head):
        return "ofx"
    if head.startswith(b"<"):
        if _CAMT_RE.search(head):
            return "camt"
        raise StatementParseError(
            "detect",
            "XML document that is neither OFX nor ISO 20022 camt.052/053/054",
            line=1,
            filename=filename,
        )
    if _BAI2_RE.match(head):
        return "bai2"
    if _MT940_ENVELOPE_RE.match(head) or len(_MT940_TAG_RE.findall(head)) >= 2:
        return "mt940"
    if b"\x00" in head:
        raise StatementParseError("detect", "binary data, not a statement", filename=filename)
    first_line = head.split(b"\n", 1)[0]
    if any(sep in first_line for sep in (b",", b";", b"\t", b"|")):
        return "csv"
    if filename and filename.lower().endswith(_CSV_EXT):
        return "csv"
    raise StatementParseError(
        "detect",
        "unrecognised format (expected OFX/QFX, camt.05x XML, BAI2, MT940 or CSV)",
        filename=filename,
    )
