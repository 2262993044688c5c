"""Bank statement parsing: OFX/QFX, ISO 20022 camt.05x, BAI2, MT940/942 and CSV.

Entry point: :func:`parse_statement`. It returns whole statements or raises
:class:`StatementParseError`; it never returns part of a file.
"""

from __future__ import annotations

from collections.abc import Callable

from .detect import FORMATS, detect_format
from .model import (
    Balance,
    Statement,
    StatementLine,
    StatementParseError,
    fingerprint,
)
from .profiles import GENERIC, PROFILES, CsvProfile, get_profile, match_profile

__all__ = [
    "FORMATS",
    "GENERIC",
    "PROFILES",
    "Balance",
    "CsvProfile",
    "Statement",
    "StatementLine",
    "StatementParseError",
    "detect_format",
    "fingerprint",
    "get_profile",
    "match_profile",
    "parse_statement",
]

_FMT_NAMES = {"ofx": "OFX", "camt": "camt", "bai2": "BAI2", "mt940": "MT940", "csv": "CSV"}
_ALIASES = {
    "qfx": "ofx",
    "camt053": "camt",
    "camt.053": "camt",
    "camt052": "camt",
    "camt054": "camt",
    "mt942": "mt940",
    "sta": "mt940",
}


def _parser(fmt: str) -> Callable[..., list[Statement]]:
    # imported lazily so a missing optional library only affects its own format
    if fmt == "ofx":
        from .ofx import parse_ofx

        return parse_ofx
    if fmt == "camt":
        from .camt import parse_camt

        return parse_camt
    if fmt == "bai2":
        from .bai2 import parse_bai2

        return parse_bai2
    if fmt == "mt940":
        from .mt940 import parse_mt940

        return parse_mt940
    from .csvfile import parse_csv

    return parse_csv


def parse_statement(
    data: bytes,
    *,
    filename: str | None = None,
    fmt: str | None = None,
    profile: CsvProfile | None = None,
) -> list[Statement]:
    """Parse one statement file into one or more :class:`Statement` (one per account/period).

    ``fmt`` forces a format (one of :data:`FORMATS`), else it is detected from the content.
    ``profile`` applies to CSV only; without it the header picks a shipped profile or the
    generic one. Raises :class:`StatementParseError` naming the format and line/element.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if fmt is not None:
        key = fmt.lower()
        key = _ALIASES.get(key, key)
        if key not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    else:
        key = "csv" if profile is not None else detect_format(data, filename)
    parse = _parser(key)
    try:
        if key == "csv":
            statements = parse(data, filename=filename, profile=profile)
        else:
            statements = parse(data, filename=filename)
    except StatementParseError as exc:
        raise exc.with_filename(filename) from exc
    except RecursionError as exc:
        raise StatementParseError(
            _FMT_NAMES[key], "document nested too deeply", filename=filename
        ) from exc
    if not statements:
        raise StatementParseError(_FMT_NAMES[key], "no statement in file", filename=filename)
    return statements
