"""OAuth 2.0: discovery, authorize → code → token, rotation, invalid_grant, revoke, expiry."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from intuitlib.client import AuthClient
from intuitlib.exceptions import AuthClientError

from qbo_sandbox.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from qbo_sandbox.testing import SandboxHandle

BASIC = (
    "Basic " + base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()
)


def _code(sb: SandboxHandle) -> str:
    r = httpx.get(
        f"{sb.base_url}/connect/oauth2",
        params={
            "client_id": DEFAULT_CLIENT_ID,
            "response_type": "code",
            "state": "st8",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": "http://localhost/cb",
        },
    )
    assert r.status_code == 302
    q = parse_qs(urlparse(r.headers["location"]).query)
    assert q["state"] == ["st8"] and q["realmId"] == [sb.realm_id]
    return q["code"][0]


def test_authorization_code_flow_and_rotation(sandbox: SandboxHandle) -> None:
    token_url = f"{sandbox.base_url}/oauth2/v1/tokens/bearer"
    code = _code(sandbox)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost/cb"}
    r = httpx.post(token_url, data=form, headers={"Authorization": BASIC})
    assert r.status_code == 200, r.text
    tok = r.json()
    assert tok["expires_in"] == 3600 and tok["token_type"] == "bearer"
    again = httpx.post(token_url, data=form, headers={"Authorization": BASIC})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # single use
    bad_client = httpx.post(token_url, data=form, headers={"Authorization": "Basic eDp5"})
    assert bad_client.status_code == 401
    api = f"{sandbox.company_url}/companyinfo/{sandbox.realm_id}"
    assert (
        httpx.get(api, headers={"Authorization": f"Bearer {tok['access_token']}"}).status_code
        == 200
    )
    r = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]},
        headers={"Authorization": BASIC},
    )
    rotated = r.json()
    assert rotated["refresh_token"] != tok["refresh_token"]
    stale = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]},
        headers={"Authorization": BASIC},
    )
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"
    # revoke kills the grant: refresh fails and access tokens stop working
    rv = httpx.post(
        f"{sandbox.base_url}/v2/oauth2/tokens/revoke",
        json={"token": rotated["refresh_token"]},
        headers={"Authorization": BASIC},
    )
    assert rv.status_code == 200
    assert (
        httpx.get(api, headers={"Authorization": f"Bearer {rotated['access_token']}"}).status_code
        == 401
    )
    dead = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]},
        headers={"Authorization": BASIC},
    )
    assert dead.json()["error"] == "invalid_grant"


def test_intuit_oauth_client_against_discovery(sandbox: SandboxHandle) -> None:
    ac = AuthClient(
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        redirect_uri="http://localhost/cb",
        environment=f"{sandbox.base_url}/.well-known/openid_configuration",
    )
    assert ac.token_endpoint == f"{sandbox.base_url}/oauth2/v1/tokens/bearer"
    ac.get_bearer_token(_code(sandbox), realm_id=sandbox.realm_id)
    first_rt = ac.refresh_token
    ac.refresh()
    assert ac.refresh_token != first_rt and ac.access_token
    with pytest.raises(AuthClientError):
        ac.refresh(refresh_token=first_rt)


def test_access_token_expires_after_3600s() -> None:
    from qbo_sandbox.testing import running_sandbox

    with running_sandbox() as sb:
        url = f"{sb.company_url}/preferences"
        assert httpx.get(url, headers=sb.auth_headers()).status_code == 200
        sb.admin.advance_clock(3601)
        r = httpx.get(url, headers=sb.auth_headers())
        assert r.status_code == 401 and "Token expired" in r.json()["fault"]["error"][0]["detail"]
