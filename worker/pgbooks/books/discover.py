"""Company-defaults discovery: read what the QuickBooks company has, let SQL decide.

``fetch_company_facts`` reads Account / Item / TaxCode lists, Preferences and CompanyInfo over
HTTP; ``discover_company_defaults`` hands them to ``api.tenant__apply_company_facts``, which picks
the accounts per role, the shipping item, tax codes and preferences (the worker holds no rule).
SYNC's ``pgbooks connect`` calls ``discover_company_defaults`` after the OAuth flow.

The QuickBooks books closing date (``AccountingInfoPrefs.BookCloseDate``) comes with the
preferences: discovery stores it, and the worker re-reads it (``QboClient.preferences`` +
``api.qbo_close__apply``) on its schedule and after a 6210 "Account Period Closed" answer.
"""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb

APPLY_COMPANY_FACTS = "SELECT api.tenant__apply_company_facts(%(tenant_id)s, %(facts)s)"
APPLY_CLOSE_DATE = "SELECT api.qbo_close__apply(%s, %s, %s, %s)"
PAGE = 1000


class DiscoveryError(RuntimeError):
    """QuickBooks answered a discovery read with an error status or an unexpected body."""


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _get(client: httpx.Client, url: str, token: str, params: dict[str, str] | None = None) -> Any:
    resp = client.get(url, headers=_headers(token), params=params)
    if resp.status_code != 200:
        raise DiscoveryError(f"GET {url} answered {resp.status_code}: {resp.text[:300]}")
    return resp.json()


def _query_all(client: httpx.Client, company_url: str, token: str, entity: str) -> list[Any]:
    """Every active row of a name list, paged by STARTPOSITION."""
    rows: list[Any] = []
    start = 1
    while True:
        # QuickBooks query language over HTTP, not SQL; entity is one of our constants.
        query = f"SELECT * FROM {entity} STARTPOSITION {start} MAXRESULTS {PAGE}"  # noqa: S608
        body = _get(client, f"{company_url}/query", token, {"query": query})
        page = body.get("QueryResponse", {}).get(entity, [])
        if not isinstance(page, list):
            raise DiscoveryError(f"query {entity}: unexpected body {str(body)[:300]}")
        rows.extend(page)
        if len(page) < PAGE:
            return rows
        start += PAGE


def fetch_company_facts(client: httpx.Client, company_url: str, token: str) -> dict[str, Any]:
    """The company facts as ``api.tenant__apply_company_facts`` reads them.

    ``company_url`` is ``<base>/v3/company/<realmId>``; the realm id is its last segment.
    """
    company_url = company_url.rstrip("/")
    realm_id = company_url.rsplit("/", 1)[-1]
    prefs = _get(client, f"{company_url}/preferences", token).get("Preferences", {})
    info = _get(client, f"{company_url}/companyinfo/{realm_id}", token).get("CompanyInfo", {})
    return {
        "accounts": _query_all(client, company_url, token, "Account"),
        "items": _query_all(client, company_url, token, "Item"),
        "tax_codes": _query_all(client, company_url, token, "TaxCode"),
        "preferences": prefs,
        "company_info": info,
        "realm_id": realm_id,
    }


def discover_company_defaults(
    conn: psycopg.Connection[Any],
    tenant_id: str,
    client: httpx.Client,
    company_url: str,
    token: str,
) -> dict[str, Any]:
    """Read the company and store its defaults for the tenant; returns the SQL summary
    (account id per role found, ``missing_roles``, currency and preference flags)."""
    facts = fetch_company_facts(client, company_url, token)
    row = conn.execute(
        APPLY_COMPANY_FACTS, {"tenant_id": tenant_id, "facts": Jsonb(facts)}
    ).fetchone()
    if row is None:  # pragma: no cover - a SELECT of a function always returns a row
        raise DiscoveryError("api.tenant__apply_company_facts returned no row")
    result: dict[str, Any] = row[0]
    return result


async def apply_close_date(
    conn: psycopg.AsyncConnection[Any],
    tenant_id: str,
    realm_id: str,
    preferences: dict[str, Any],
    source: str,
) -> dict[str, Any]:
    """Hand the preferences to ``api.qbo_close__apply`` (stores the closing date, re-decides the
    documents it closes); returns its summary (``changed``, ``moved``, ``held``, ``released``)."""
    cur = await conn.execute(APPLY_CLOSE_DATE, (tenant_id, realm_id, Jsonb(preferences), source))
    row = await cur.fetchone()
    if row is None:  # pragma: no cover - a SELECT of a function always returns a row
        raise DiscoveryError("api.qbo_close__apply returned no row")
    result: dict[str, Any] = row[0]
    return result
