"""Every bank file under tests/fixtures/realdata either imports with its expected lines or is
refused whole with a clear message; a file added without an expectation fails the test.

The expected line count of OFX, camt, BAI2 and MT940 files is also counted straight from the raw
bytes (one STMTTRN / Ntry / 16 record / :61: tag per line), so a parser that silently drops a
line cannot pass.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgbooks.bank import StatementParseError
from pgbooks.recon.importer import import_file

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "realdata"

# file -> (import options, line count, sum of amounts)
IMPORTS: dict[str, tuple[dict[str, Any], int, Decimal]] = {
    "bank_bai2/moov__sample1.txt": ({}, 17, Decimal("0.00")),
    # 03 record continued by 88 after "190/": bai2 0.15 glued type 190 to the next amount
    "bank_bai2/moov__sample2.txt": ({}, 4, Decimal("309500.00")),
    "bank_camt/genkgo__camt052.v2.xml": ({}, 1, Decimal("-200000")),
    "bank_camt/genkgo__camt053.v2.all-balance-types.xml": ({}, 1, Decimal("8.85")),
    "bank_camt/genkgo__camt053.v2.minimal.ultimate.xml": ({}, 1, Decimal("8.85")),
    "bank_camt/genkgo__camt053.v2.minimal.xml": ({}, 1, Decimal("8.85")),
    "bank_camt/genkgo__camt053.v2.with-account-name.xml": ({}, 1, Decimal("8.85")),
    "bank_camt/genkgo__camt053.v3.xml": ({}, 1, Decimal("8.85")),
    "bank_camt/genkgo__camt053.v4.xml": ({}, 1, Decimal("8.85")),
    "bank_camt/genkgo__camt053.v8.xml": ({}, 1, Decimal("8.85")),
    "bank_camt/genkgo__camt054.v2.xml": ({}, 1, Decimal("-200000")),
    "bank_csv/csv2ofx__capitalone.csv": ({}, 2, Decimal("0.00")),
    "bank_csv/csv2ofx__creditunion.csv": (
        {"profile": "creditunion", "currency": "USD", "account_id": "cu-checking"},
        8,
        Decimal("-465000"),
    ),
    "bank_csv/csv2ofx__mint.csv": ({}, 4, Decimal("-3000.00")),
    "bank_csv/csv2ofx__mint_extra.csv": ({}, 4, Decimal("-3000.00")),
    "bank_csv/csv2ofx__mint_headerless.csv": ({"profile": "mint_headerless"}, 4, Decimal("-3000")),
    "bank_csv/csv2ofx__pcmastercard.csv": ({}, 2, Decimal("-50.31")),
    "bank_csv/csv2ofx__schwab-checking.csv": ({}, 4, Decimal("-215.27")),
    "bank_csv/csv2ofx__stripe-default.csv": ({}, 5, Decimal("112.50")),
    # :61: customer reference is a 18-character IBAN (SWIFT allows 16): second reading
    "bank_mt940/wolph__ASNB__0708271685_09022020_164516.940.txt": ({}, 8, Decimal("56.94")),
    "bank_mt940/wolph__betterplace__sepa_snippet.sta": ({}, 11, Decimal("-2143323.39")),
    "bank_mt940/wolph__cmxl__mt940.sta": ({}, 16, Decimal("12327.30")),
    "bank_mt940/wolph__jejik__abnamro.sta": ({}, 10, Decimal("-345.93")),
    "bank_mt940/wolph__jejik__generic.sta": ({}, 2, Decimal("-20.00")),
    "bank_mt940/wolph__jejik__ing.sta": ({}, 7, Decimal("-45.59")),
    "bank_mt940/wolph__jejik__knab.sta": ({}, 3, Decimal("-6260")),
    "bank_mt940/wolph__jejik__rabobank.sta": ({}, 5, Decimal("-1589.09")),
    "bank_mt940/wolph__jejik__triodos.sta": ({}, 2, Decimal("-715.70")),
    "bank_mt940/wolph__mBank__mt940.sta": ({}, 3, Decimal("0.03")),
    "bank_mt940/wolph__mBank__mt942.sta": ({}, 3, Decimal("0.03")),
    "bank_ofx/asgrim__ofx-multiple-accounts-xml.ofx": ({}, 3, Decimal("514.72")),
    "bank_ofx/asgrim__ofxdata-credit-card.ofx": ({}, 1, Decimal("-100.00")),
    "bank_ofx/asgrim__ofxdata-memoWithQuotes.ofx": ({}, 16, Decimal("393.82")),
    "bank_ofx/asgrim__ofxdata-oneline.ofx": ({}, 8, Decimal("-1977.10")),
    "bank_ofx/asgrim__ofxdata-selfclose.ofx": ({}, 5, Decimal("585.00")),
    "bank_ofx/asgrim__ofxdata-xml.ofx": ({}, 3, Decimal("250.00")),
    "bank_ofx/asgrim__ofxdata.ofx": ({}, 3, Decimal("250.00")),
    "bank_ofx/ofxparse__anzcc.ofx": ({}, 1, Decimal("-5.50")),
    "bank_ofx/ofxparse__bank_medium.ofx": ({}, 3, Decimal("-345.27")),
    "bank_ofx/ofxparse__checking.ofx": ({}, 3, Decimal("-59.50")),
    "bank_ofx/ofxparse__multiple_accounts.ofx": ({}, 0, Decimal("0")),  # balances only
    "bank_ofx/ofxparse__suncorp.ofx": ({}, 1, Decimal("-16.85")),
}

# file -> (import options, words the refusal must contain besides the file name)
REFUSALS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "bank_csv/csv2ofx__creditunion.csv": ({}, ("line 1", "Currency missing")),
    "bank_csv/csv2ofx__mint_headerless.csv": ({}, ("line 1", "date column")),
    "bank_csv/csv2ofx__xero.csv": ({}, ("line 1", "date column")),  # a journal, not a statement
    "bank_mt940/wolph__self-provided__gv_codes.sta": ({}, ("line 1", "closing balance")),
    "bank_ofx/asgrim__ofxdata-banking-xml200.ofx": ({}, ("line 32", "TRNAMT missing")),
    "bank_ofx/ofxparse__fidelity.ofx": ({}, ("INVSTMTRS", "not bank statements")),
}

_RAW_LINE = {
    "bank_ofx": re.compile(rb"<STMTTRN>", re.IGNORECASE),
    "bank_camt": re.compile(rb"<Ntry>"),
    "bank_bai2": re.compile(rb"^16,", re.MULTILINE),
    "bank_mt940": re.compile(rb"^:61:", re.MULTILINE),
}


def _files() -> list[str]:
    return sorted(
        f"{p.parent.name}/{p.name}"
        for p in REAL.glob("bank_*/*")
        if p.is_file() and p.name != "SOURCES.md"
    )


def test_every_bank_file_has_an_expectation() -> None:
    files = set(_files())
    assert len(files) >= 40
    assert files == set(IMPORTS) | set(REFUSALS)
    assert {f.split("/")[0] for f in IMPORTS} == {
        "bank_bai2",
        "bank_camt",
        "bank_csv",
        "bank_mt940",
        "bank_ofx",
    }


def test_every_importable_file_stores_its_expected_lines(db: psycopg.Connection) -> None:
    for i, (rel, (kw, count, total)) in enumerate(sorted(IMPORTS.items())):
        tenant = f"r{i}"
        db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES (%s, %s)", (tenant, rel))
        path = REAL / rel
        res = import_file(db, tenant, path, **kw)
        rows = db.execute(
            "SELECT count(*), coalesce(sum(amount), 0) FROM ingest.bank_lines WHERE tenant_id = %s",
            (tenant,),
        ).fetchone()
        assert rows == (count, total), rel
        assert res["new_lines"] == res["lines"] == count, rel
        raw = _RAW_LINE.get(rel.split("/")[0])
        if raw is not None and rel not in REFUSALS:
            assert len(raw.findall(path.read_bytes())) == count, f"{rel}: a line was dropped"


@pytest.mark.parametrize("rel", sorted(REFUSALS))
def test_every_refused_file_says_where_and_why(db: psycopg.Connection, rel: str) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    kw, words = REFUSALS[rel]
    with pytest.raises(StatementParseError) as err:
        import_file(db, "acme", REAL / rel, **kw)
    msg = str(err.value)
    assert Path(rel).name in msg, msg
    for word in words:
        assert word in msg, msg
    assert db.execute("SELECT count(*) FROM ingest.bank_lines").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM ingest.bank_statements").fetchone() == (0,)
