"""Bank statement import: every format from real files, stored once, bad files refused whole."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from pgbooks.bank import StatementParseError
from pgbooks.cli import app
from pgbooks.recon.importer import build_document, import_bytes, import_file

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "realdata"


def _tenant(db: psycopg.Connection, tenant: str = "acme") -> str:
    db.execute(
        "INSERT INTO orders.tenants (tenant_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (tenant, tenant.title()),
    )
    return tenant


def _lines(db: psycopg.Connection, tenant: str) -> list[tuple]:
    return db.execute(
        "SELECT account_id, booking_date::text, amount, currency, bank_transaction_id, description"
        " FROM ingest.bank_lines WHERE tenant_id = %s ORDER BY bank_line_id",
        (tenant,),
    ).fetchall()


# (file, format key, accounts, line count, sum of amounts) per format, from the real files
CASES = [
    ("bank_ofx/asgrim__ofxdata.ofx", {}, "ofx", 3, Decimal("250.00")),
    ("bank_ofx/ofxparse__checking.ofx", {}, "ofx", 3, Decimal("-59.50")),
    ("bank_ofx/asgrim__ofx-multiple-accounts-xml.ofx", {}, "ofx", 3, Decimal("514.72")),
    ("bank_camt/genkgo__camt053.v2.minimal.xml", {}, "camt", 1, Decimal("8.85")),
    ("bank_camt/genkgo__camt053.v8.xml", {}, "camt", 1, Decimal("8.85")),
    ("bank_camt/genkgo__camt052.v2.xml", {}, "camt", 1, Decimal("-200000")),
    ("bank_bai2/moov__sample1.txt", {}, "bai2", 17, Decimal("0.00")),
    ("bank_mt940/wolph__jejik__ing.sta", {}, "mt940", 7, Decimal("-45.59")),
    ("bank_mt940/wolph__cmxl__mt940.sta", {}, "mt940", 16, Decimal("12327.30")),
    ("bank_csv/csv2ofx__capitalone.csv", {}, "csv", 2, Decimal("0.00")),
    ("bank_csv/csv2ofx__mint.csv", {}, "csv", 4, Decimal("-3000.00")),
    (
        "bank_csv/csv2ofx__mint_headerless.csv",
        {"profile": "mint_headerless"},
        "csv",
        None,
        None,
    ),
    (
        "bank_csv/csv2ofx__creditunion.csv",
        {"profile": "creditunion", "currency": "USD", "account_id": "cu-checking"},
        "csv",
        None,
        None,
    ),
    ("bank_csv/csv2ofx__stripe-default.csv", {"account_id": "stripe"}, "csv", 5, Decimal("112.50")),
]


def test_every_format_imports_its_lines_once(db: psycopg.Connection) -> None:
    # one database for every file (a fresh clone per file would make this slow), a tenant each
    for i, (rel, kw, fmt, count, total) in enumerate(CASES):
        tenant = _tenant(db, f"t{i}")
        path = REAL / rel
        first = import_file(db, tenant, path, **kw)
        assert first["format"] == fmt, rel
        assert first["already_imported"] is False, rel
        stored = _lines(db, tenant)
        assert first["new_lines"] == len(stored) == first["lines"] > 0, rel
        if count is not None:
            assert len(stored) == count, rel
            assert sum(r[2] for r in stored) == total, rel
        # the same file again: recognised, nothing new
        again = import_file(db, tenant, path, **kw)
        assert again["already_imported"] is True and again["new_lines"] == 0, rel
        assert len(_lines(db, tenant)) == len(stored), rel


def test_ofx_lines_carry_bank_ids_dates_and_signed_amounts(db: psycopg.Connection) -> None:
    tenant = _tenant(db)
    import_file(db, tenant, REAL / "bank_ofx/asgrim__ofxdata.ofx")
    assert _lines(db, tenant) == [
        (
            "098-121",
            "2007-03-15",
            Decimal("200.0000"),
            "USD",
            "980315001",
            "DEPOSIT / automatic deposit",
        ),
        (
            "098-121",
            "2007-03-29",
            Decimal("150.0000"),
            "USD",
            "980310001",
            "TRANSFER / Transfer from checking",
        ),
        ("098-121", "2007-07-09", Decimal("-100.0000"), "USD", "980309001", "John Hancock"),
    ]
    st = db.execute(
        "SELECT format, account_id, currency, period_start::text, period_end::text, closing_balance"
        " FROM ingest.bank_statements WHERE tenant_id = %s",
        (tenant,),
    ).fetchall()
    assert st == [("ofx", "098-121", "USD", "2007-01-01", "2007-10-15", Decimal("5250.0000"))]


def test_camt_bai2_mt940_lines_match_the_files(db: psycopg.Connection) -> None:
    tenant = _tenant(db)
    import_file(db, tenant, REAL / "bank_camt/genkgo__camt053.v2.minimal.xml")
    import_file(db, tenant, REAL / "bank_bai2/moov__sample1.txt")
    import_file(db, tenant, REAL / "bank_mt940/wolph__jejik__ing.sta")
    rows = _lines(db, tenant)
    assert rows[0][:4] == ("NL26VAYB8060476890", "2014-12-31", Decimal("8.8500"), "EUR")
    bai = [r for r in rows if r[0] == "10200123456"]
    assert bai[:2] == [
        ("10200123456", "2006-03-17", Decimal("-25.0000"), "CAD", None, "RETURNED CHEQUE"),
        ("10200123456", "2006-03-17", Decimal("-900.0000"), "CAD", None, "RTN-UNKNOWN"),
    ]
    ing = [r for r in rows if r[0] == "0001234567"]
    assert [r[2] for r in ing[:2]] == [Decimal("-25.0300"), Decimal("-3.0300")]


def test_overlapping_statement_stores_only_new_lines(db: psycopg.Connection) -> None:
    """A second export that repeats yesterday's lines adds only the new ones (fingerprint)."""
    tenant = _tenant(db)
    day1 = b"Date,Description,Amount\n2024-03-01,STRIPE PAYOUT,100.00\n2024-03-01,FEE,-1.00\n"
    day2 = day1 + b"2024-03-02,SHOPIFY PAYOUT,250.10\n2024-03-01,FEE,-1.00\n"
    kw = {"file_name": "x.csv", "account_id": "chk", "profile": "generic", "currency": "USD"}
    r1 = import_bytes(db, tenant, day1, **kw)
    r2 = import_bytes(db, tenant, day2, **kw)
    assert (r1["new_lines"], r2["lines"], r2["new_lines"]) == (2, 4, 2)
    amounts = [r[2] for r in _lines(db, tenant)]
    # the second FEE of the same day and amount is a distinct line (ordinal in the fingerprint)
    assert amounts == [
        Decimal("100.0000"),
        Decimal("-1.0000"),
        Decimal("250.1000"),
        Decimal("-1.0000"),
    ]


def test_csv_without_account_gets_a_stable_default(db: psycopg.Connection) -> None:
    tenant = _tenant(db)
    data = b"Date,Transaction ID,Description,Amount,Currency\n"
    data += b"2019-11-12,D-2,SHOPIFY PAYOUT,41.90,USD\n"
    import_bytes(db, tenant, data, file_name="download (1).csv")
    res = import_bytes(db, tenant, data + b"\n", file_name="download (2).csv")
    assert res["already_imported"] is False and res["new_lines"] == 0  # same line, other file
    assert _lines(db, tenant) == [
        ("csv:generic", "2019-11-12", Decimal("41.9000"), "USD", "D-2", "SHOPIFY PAYOUT")
    ]


MALFORMED = [
    ("bank_ofx/asgrim__ofxdata-banking-xml200.ofx", "line 32"),  # real file with "*snipped*"
    ("bank_ofx/ofxparse__fidelity.ofx", "INVSTMTRS"),
    ("bank_mt940/wolph__self-provided__gv_codes.sta", "closing balance"),
]


def test_unparseable_real_files_are_refused_with_the_place(db: psycopg.Connection) -> None:
    tenant = _tenant(db)
    for rel, needle in MALFORMED:
        with pytest.raises(StatementParseError) as err:
            import_file(db, tenant, REAL / rel)
        assert needle in str(err.value), rel
        assert Path(rel).name in str(err.value), rel
    assert _lines(db, tenant) == []


def test_a_bad_line_deep_in_a_file_refuses_the_whole_file(db: psycopg.Connection) -> None:
    tenant = _tenant(db)
    good = (REAL / "bank_mt940/wolph__jejik__ing.sta").read_bytes()
    lines = good.split(b"\n")
    idx = max(i for i, ln in enumerate(lines) if ln.startswith(b":61:"))
    lines[idx] = b":61:1007230723CXX,YYNTRFNONREF"
    with pytest.raises(StatementParseError) as err:
        import_bytes(db, tenant, b"\n".join(lines), file_name="bad.sta")
    assert f"line {idx + 1}" in str(err.value)
    assert _lines(db, tenant) == []
    bad_csv = b"Date,Description,Amount\n2024-03-01,OK,1.00\n2024-03-02,BAD,12,34.5x\n"
    with pytest.raises(StatementParseError, match="line 3"):
        import_bytes(
            db,
            tenant,
            bad_csv,
            file_name="bad.csv",
            account_id="a",
            currency="USD",
            profile="generic",
        )
    assert _lines(db, tenant) == []


def test_sql_contract_refuses_a_bad_document_whole(db: psycopg.Connection) -> None:
    """The SQL function checks every field itself and names statement, line and field."""
    tenant = _tenant(db)
    doc = build_document((REAL / "bank_ofx/asgrim__ofxdata.ofx").read_bytes(), file_name="x.ofx")
    doc["statements"][0]["lines"][2]["amount"] = "1e5"
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT api.bank_statement__import(%s, %s::jsonb)", (tenant, json.dumps(doc)))
    assert err.value.sqlstate == "PB803"
    assert "statement 1, line 3" in str(err.value) and "amount" in str(err.value)
    assert db.execute("SELECT count(*) FROM ingest.bank_statements").fetchone() == (0,)
    with pytest.raises(psycopg.Error) as err2:
        db.execute("SELECT api.bank_statement__import('nobody', %s::jsonb)", (json.dumps(doc),))
    assert err2.value.sqlstate == "PB801"


def test_cli_imports_and_refuses(db_url: str, db: psycopg.Connection, tmp_path: Path) -> None:
    _tenant(db)
    env = {"DATABASE_URL": db_url, "PGBOOKS_TENANT": "acme", "COLUMNS": "300"}
    runner = CliRunner()
    ok = runner.invoke(
        app, ["bank", "import", str(REAL / "bank_mt940/wolph__jejik__ing.sta"), "--json"], env=env
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["new_lines"] == 7
    bad = tmp_path / "broken.ofx"
    bad.write_bytes((REAL / "bank_ofx/asgrim__ofxdata-banking-xml200.ofx").read_bytes())
    res = runner.invoke(app, ["bank", "import", str(bad)], env=env)
    assert res.exit_code == 1
    assert "broken.ofx" in res.stderr and "line 32" in res.stderr
    assert "nothing imported" in res.stderr
