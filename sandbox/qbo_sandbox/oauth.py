"""OAuth 2.0 like Intuit's: authorization code, rotating refresh tokens, revoke, discovery."""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .clock import Clock
from .config import SandboxConfig

SCOPE_ACCOUNTING = "com.intuit.quickbooks.accounting"


@dataclass
class Grant:
    """One app's authorization to one company."""

    grant_id: str
    client_id: str
    realm_id: str
    scope: str
    refresh_token: str
    refresh_issued: float
    refresh_expires: float
    previous: dict[str, float] = field(default_factory=dict)  # superseded RT -> valid until
    revoked: bool = False


@dataclass
class AccessToken:
    token: str
    grant_id: str
    realm_id: str
    expires: float
    revoked: bool = False


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    realm_id: str
    scope: str
    expires: float


class OAuthError(Exception):
    """Token endpoint error (``invalid_grant`` …)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status


class TokenStore:
    """All grants, access tokens and authorization codes of the sandbox."""

    def __init__(self, cfg: SandboxConfig, clock: Clock) -> None:
        self.cfg = cfg
        self.clock = clock
        self.clients: dict[str, str] = {cfg.client_id: cfg.client_secret}
        self.grants: dict[str, Grant] = {}
        self.by_refresh: dict[str, str] = {}
        self.access: dict[str, AccessToken] = {}
        self.codes: dict[str, AuthCode] = {}

    # ----------------------------------------------------------------- issuing
    def _token_response(self, grant: Grant, access: AccessToken) -> dict[str, Any]:
        now = self.clock.now()
        return {
            "token_type": "bearer",
            "expires_in": round(access.expires - now),
            "refresh_token": grant.refresh_token,
            "x_refresh_token_expires_in": round(grant.refresh_expires - now),
            "access_token": access.token,
        }

    def _new_access(self, grant: Grant) -> AccessToken:
        tok = "eyJzYW5kYm94Ijoi" + secrets.token_urlsafe(48)
        at = AccessToken(
            tok, grant.grant_id, grant.realm_id, self.clock.now() + self.cfg.access_token_ttl
        )
        self.access[tok] = at
        return at

    def new_grant(
        self, client_id: str, realm_id: str, scope: str = SCOPE_ACCOUNTING
    ) -> dict[str, Any]:
        """Create a grant directly (admin shortcut) and return a token response."""
        now = self.clock.now()
        rt = "RT1-" + secrets.token_urlsafe(32)
        g = Grant(
            secrets.token_hex(8),
            client_id,
            realm_id,
            scope,
            rt,
            now,
            now + self.cfg.refresh_token_ttl,
        )
        self.grants[g.grant_id] = g
        self.by_refresh[rt] = g.grant_id
        body = self._token_response(g, self._new_access(g))
        body["realmId"] = realm_id
        return body

    def authorize(self, client_id: str, redirect_uri: str, realm_id: str, scope: str) -> str:
        code = "AB1-" + secrets.token_urlsafe(24)
        self.codes[code] = AuthCode(
            client_id, redirect_uri, realm_id, scope, self.clock.now() + 300
        )
        return code

    def exchange_code(self, client_id: str, code: str, redirect_uri: str) -> dict[str, Any]:
        ac = self.codes.pop(code, None)
        if ac is None or ac.expires < self.clock.now() or ac.client_id != client_id:
            raise OAuthError("invalid_grant", "Invalid authorization code")
        if ac.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant", "Redirect URI mismatch")
        body = self.new_grant(client_id, ac.realm_id, ac.scope)
        body.pop("realmId", None)
        return body

    def refresh(self, client_id: str, refresh_token: str) -> dict[str, Any]:
        now = self.clock.now()
        gid = self.by_refresh.get(refresh_token)
        g = self.grants.get(gid) if gid else None
        if g is None or g.revoked or g.client_id != client_id:
            raise OAuthError("invalid_grant", "Incorrect or invalid refresh token")
        if refresh_token != g.refresh_token:
            until = g.previous.get(refresh_token, 0.0)
            if now > until:
                raise OAuthError("invalid_grant", "Incorrect or invalid refresh token")
        if now > g.refresh_expires:
            raise OAuthError("invalid_grant", "Incorrect or invalid refresh token")
        rotate = (
            self.cfg.refresh_rotation_seconds <= 0
            or now - g.refresh_issued >= self.cfg.refresh_rotation_seconds
        )
        if rotate and refresh_token == g.refresh_token:
            g.previous[g.refresh_token] = now + self.cfg.refresh_grace_seconds
            g.refresh_token = "RT1-" + secrets.token_urlsafe(32)
            g.refresh_issued = now
            g.refresh_expires = now + self.cfg.refresh_token_ttl
            self.by_refresh[g.refresh_token] = g.grant_id
        return self._token_response(g, self._new_access(g))

    def revoke(self, token: str) -> bool:
        """Revoke a refresh or access token; revokes the whole grant like Intuit does."""
        gid = self.by_refresh.get(token)
        if gid is None and token in self.access:
            gid = self.access[token].grant_id
        if gid is None:
            return False
        self._revoke_grant(gid)
        return True

    def _revoke_grant(self, gid: str) -> None:
        self.grants[gid].revoked = True
        for at in self.access.values():
            if at.grant_id == gid:
                at.revoked = True

    def revoke_realm(self, realm_id: str) -> int:
        """Fault injection: every grant for the realm is revoked (app disconnected)."""
        n = 0
        for g in self.grants.values():
            if g.realm_id == realm_id and not g.revoked:
                self._revoke_grant(g.grant_id)
                n += 1
        return n

    def expire_access(self, realm_id: str) -> None:
        """Force-expire current access tokens (refresh still works)."""
        for at in self.access.values():
            if at.realm_id == realm_id:
                at.expires = 0

    # ---------------------------------------------------------------- checking
    def check(self, header: str | None, realm_id: str) -> tuple[int, str] | None:
        """``None`` when authorised; else (HTTP status, detail)."""
        if not header or not header.startswith("Bearer "):
            return 401, "Malformed bearer token: too short or too long"
        token = header[7:].strip()
        at = self.access.get(token)
        if at is None:
            return 401, "Token invalid" if len(
                token
            ) > 20 else "Malformed bearer token: too short or too long"
        if at.revoked:
            return 401, f"Token revoked: {token[:24]}"
        if at.expires <= self.clock.now():
            return 401, f"Token expired: {token[:24]}"
        if at.realm_id != realm_id:
            return 403, "wrong realm"
        return None

    def check_client(self, header: str | None) -> str:
        if not header or not header.startswith("Basic "):
            raise OAuthError("invalid_client", "Client authentication failed", 401)
        try:
            raw = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", "Client authentication failed", 401) from exc
        cid, _, secret = raw.partition(":")
        if self.clients.get(cid) != secret:
            raise OAuthError("invalid_client", "Client authentication failed", 401)
        return cid


# ------------------------------------------------------------------------------ routes
def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def discovery(request: Request) -> Response:
    b = _base(request)
    return JSONResponse(
        {
            "issuer": f"{b}/op/v1",
            "authorization_endpoint": f"{b}/connect/oauth2",
            "token_endpoint": f"{b}/oauth2/v1/tokens/bearer",
            "userinfo_endpoint": f"{b}/v1/openid_connect/userinfo",
            "revocation_endpoint": f"{b}/v2/oauth2/tokens/revoke",
            "jwks_uri": f"{b}/op/v1/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": [
                "openid",
                "email",
                "profile",
                "address",
                "phone",
                SCOPE_ACCOUNTING,
                "com.intuit.quickbooks.payment",
            ],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        }
    )


def _store(request: Request) -> TokenStore:
    return request.app.state.sandbox.tokens


def authorize(request: Request) -> Response:
    p = request.query_params
    store = _store(request)
    sandbox = request.app.state.sandbox
    client_id = p.get("client_id", "")
    redirect_uri = p.get("redirect_uri", "")
    if client_id not in store.clients or not redirect_uri:
        return JSONResponse(
            {
                "error": "invalid_client",
                "error_description": "unknown client_id or missing redirect_uri",
            },
            status_code=400,
        )
    if p.get("response_type", "code") != "code":
        return JSONResponse({"error": "unsupported_response_type"}, status_code=400)
    realm_id = p.get("realmId") or sandbox.config.demo_realm
    if realm_id not in sandbox.realms:
        return JSONResponse(
            {"error": "invalid_request", "error_description": "unknown realmId"}, status_code=400
        )
    code = store.authorize(client_id, redirect_uri, realm_id, p.get("scope", SCOPE_ACCOUNTING))
    query = {"code": code, "realmId": realm_id}
    if "state" in p:
        query["state"] = p["state"]
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{sep}{urlencode(query)}", status_code=302)


def _err(e: OAuthError) -> Response:
    return JSONResponse(
        {"error": e.error, "error_description": e.description},
        status_code=e.status,
        headers={"intuit_tid": secrets.token_hex(8)},
    )


async def token(request: Request) -> Response:
    store = _store(request)
    try:
        cid = store.check_client(request.headers.get("authorization"))
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8")).items()}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            body = store.exchange_code(cid, form.get("code", ""), form.get("redirect_uri", ""))
        elif grant == "refresh_token":
            body = store.refresh(cid, form.get("refresh_token", ""))
        else:
            raise OAuthError("unsupported_grant_type", f"grant_type {grant!r} is not supported")
    except OAuthError as e:
        return _err(e)
    return JSONResponse(
        body, headers={"intuit_tid": secrets.token_hex(8), "Cache-Control": "no-cache, no-store"}
    )


async def revoke(request: Request) -> Response:
    store = _store(request)
    try:
        store.check_client(request.headers.get("authorization"))
    except OAuthError as e:
        return _err(e)
    raw = (await request.body()).decode("utf-8")
    tok = ""
    if raw.lstrip().startswith("{"):
        import json

        tok = str(json.loads(raw).get("token", ""))
    else:
        tok = parse_qs(raw).get("token", [""])[0]
    if not tok:
        return JSONResponse({"error": "invalid_request"}, status_code=400)
    store.revoke(tok)
    return Response(b"", status_code=200)


def userinfo(request: Request) -> Response:
    sandbox = request.app.state.sandbox
    err = sandbox.tokens.check(
        request.headers.get("authorization"),
        sandbox.token_realm(request.headers.get("authorization")),
    )
    if err is not None:
        return JSONResponse({"error": "invalid_token"}, status_code=401)
    return JSONResponse(
        {
            "sub": "sandbox-user",
            "email": "developer@example.com",
            "emailVerified": True,
            "givenName": "Sandbox",
            "familyName": "User",
        }
    )


def jwks(request: Request) -> Response:
    return JSONResponse({"keys": []})


ROUTES = [
    Route("/.well-known/openid_configuration", discovery),
    Route("/.well-known/openid_configuration/", discovery),
    Route("/.well-known/openid_sandbox_configuration", discovery),
    Route("/.well-known/openid_sandbox_configuration/", discovery),
    Route("/connect/oauth2", authorize),
    Route("/oauth2/v1/tokens/bearer", token, methods=["POST"]),
    Route("/v2/oauth2/tokens/revoke", revoke, methods=["POST"]),
    Route("/v1/openid_connect/userinfo", userinfo),
    Route("/op/v1/jwks", jwks),
]
