"""Query language subset: parser and evaluation over the API."""

from __future__ import annotations

import pytest

from qbo_sandbox import faults, query

from .conftest import Company, new_customer


def test_parser_accepts_real_client_forms() -> None:
    q = query.parse(
        "select * from Customer where Active = True and DisplayName = 'O\\'Neil' "
        "orderby DisplayName desc startposition 1 maxresults 5"
    )
    assert q.entity == "Customer" and q.max_results == 5 and q.order == [("DisplayName", True)]
    assert q.where[1].values == ["O'Neil"]
    q = query.parse("SELECT *, Sku FROM Item ORDER BY Name MAXRESULTS 1000 STARTPOSITION 0")
    assert q.start == 1 and q.max_results == 1000
    q = query.parse(
        "SELECT COUNT(*) FROM Customer WHERE Id IN ('5', '6') AND "
        "Metadata.LastUpdatedTime > '2024-01-01T00:00:00-08:00'"
    )
    assert q.count and q.where[0].op == "in" and q.where[0].values == ["5", "6"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SELECT * FROM Customer WHERE DisplayName = 'O'Neil'", "4000"),
        ("SELECT * FROM Custmoer", "4001"),
        ("SELECT * FROM Customer MAXRESULTS 1001", "4001"),
        ("SELECT * FROM Customer MAXRESULTS 0", "4001"),
        ("SELECT * FROM Payment WHERE UnappliedAmt > '0'", "4001"),
        ("SELECT * FROM Customer WHERE", "4000"),
    ],
)
def test_query_faults(company: Company, text: str, code: str) -> None:
    r = company.query(text)
    assert r.status_code == 400
    assert r.json()["Fault"]["Error"][0]["code"] == code
    with pytest.raises(faults.QBOFault):
        query.execute(company.sb.sandbox.realms[company.realm_id], text)


def test_query_endpoint_semantics(company: Company) -> None:
    for i in range(1, 8):
        new_customer(company, f"Cust {i:02d}", CompanyName="Big" if i % 2 else "Small")
    first = company.http.get("/query", params={"query": "select * from Customer maxresults 3"})
    qr = first.json()["QueryResponse"]
    assert [c["DisplayName"] for c in qr["Customer"]] == ["Cust 01", "Cust 02", "Cust 03"]
    assert qr["startPosition"] == 1 and qr["maxResults"] == 3
    page3 = company.query("SELECT * FROM Customer STARTPOSITION 7 MAXRESULTS 3").json()
    assert page3["QueryResponse"]["maxResults"] == 1
    empty = company.query("SELECT * FROM Customer STARTPOSITION 20").json()
    assert empty["QueryResponse"] == {} and "time" in empty
    cnt = company.query("select count(*) from Customer where CompanyName = 'Big'").json()
    assert cnt["QueryResponse"] == {"totalCount": 4}
    like = company.query("SELECT * FROM Customer WHERE DisplayName LIKE '%0_'").json()
    assert like["QueryResponse"] == {}  # '_' is literal; only % is a wildcard
    like = company.query("SELECT * FROM Customer WHERE DisplayName LIKE 'cust 0%'").json()
    assert like["QueryResponse"]["maxResults"] == 7
    desc = company.query("SELECT * FROM Customer ORDERBY DisplayName DESC MAXRESULTS 1").json()
    assert desc["QueryResponse"]["Customer"][0]["DisplayName"] == "Cust 07"
    one = company.query("SELECT * FROM Customer WHERE Id IN ('1', '3')").json()
    assert [c["Id"] for c in one["QueryResponse"]["Customer"]] == ["1", "3"]
    # inactive rows are hidden unless asked for
    c = company.get("/customer/2").json()["Customer"]
    company.post(
        "/customer", {"Id": "2", "SyncToken": c["SyncToken"], "sparse": True, "Active": False}
    )
    assert company.query("SELECT COUNT(*) FROM Customer").json()["QueryResponse"]["totalCount"] == 6
    assert (
        company.query("SELECT COUNT(*) FROM Customer WHERE Active IN (true, false)").json()[
            "QueryResponse"
        ]["totalCount"]
        == 7
    )
    ts = company.query(
        "SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '2000-01-01T00:00:00-08:00'"
    ).json()
    assert ts["QueryResponse"]["maxResults"] == 6
    ci = company.query("SELECT * FROM CompanyInfo").json()
    assert ci["QueryResponse"]["CompanyInfo"][0]["CompanyName"]
