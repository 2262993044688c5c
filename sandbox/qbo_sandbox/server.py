"""ASGI application factory and the uvicorn runner."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import admin, attachments, oauth
from .api import PREFIX, Api, LostResponseFilter, Receive, Scope, Send
from .config import SandboxConfig
from .sandbox import Sandbox

log = logging.getLogger("qbo_sandbox")


class SandboxApp:
    """Top-level ASGI app: ``/v3/company/...`` goes to the lean data API, everything else
    (OAuth, admin, lifespan) to a Starlette app."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.api = Api(sandbox)

        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            await sandbox.webhooks.start()
            try:
                yield
            finally:
                await sandbox.webhooks.stop()
                if sandbox.config.snapshot:
                    sandbox.save_snapshot()

        async def root(_: Any) -> JSONResponse:
            return JSONResponse(
                {
                    "service": "qbo-sandbox",
                    "api": "/v3/company/{realmId}",
                    "demo_realm": sandbox.config.demo_realm,
                }
            )

        self.web = Starlette(
            routes=[Route("/", root), *oauth.ROUTES, *admin.ROUTES, *attachments.ROUTES],
            lifespan=lifespan,
        )
        self.web.state.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            return await self.api(scope, receive, send)
        await self.web(scope, receive, send)
        return None


def create_app(config: SandboxConfig | None = None) -> SandboxApp:
    """Build the ASGI app (state lives in ``app.sandbox``)."""
    return SandboxApp(Sandbox(config or SandboxConfig()))


def banner(cfg: SandboxConfig, token: dict[str, Any]) -> str:
    base = f"http://{cfg.host}:{cfg.port}"
    return f"""QuickBooks Online sandbox listening on {base}
  data API   : {base}/v3/company/{cfg.demo_realm}/...   (demo company, realm {cfg.demo_realm})
  discovery  : {base}/.well-known/openid_configuration
  client     : client_id={cfg.client_id} client_secret={cfg.client_secret}

Full OAuth flow:
  1. open {base}/connect/oauth2?client_id={cfg.client_id}&response_type=code&scope=com.intuit.quickbooks.accounting&redirect_uri=http://localhost/cb&state=x
     -> auto-approved, redirects to redirect_uri?code=...&realmId={cfg.demo_realm}&state=x
  2. POST {base}/oauth2/v1/tokens/bearer  (Basic client_id:client_secret)
     grant_type=authorization_code&code=...&redirect_uri=http://localhost/cb
Shortcut for tests:
  curl -X POST {base}/admin/realms/{cfg.demo_realm}/token
Ready-made token for the demo company (valid {cfg.access_token_ttl}s):
  access_token  = {token["access_token"]}
  refresh_token = {token["refresh_token"]}
Throttling: {"on" if cfg.throttle.enabled else "off"}; seed {cfg.seed}; snapshot {cfg.snapshot}
"""


def run(cfg: SandboxConfig, workers_note: bool = True) -> None:
    """Serve forever with uvicorn (uvloop + httptools; one process: state is in memory)."""
    import uvicorn

    app = create_app(cfg)
    token = app.sandbox.tokens.new_grant(cfg.client_id, cfg.demo_realm)
    print(banner(cfg, token), flush=True)
    logging.getLogger("uvicorn.error").addFilter(LostResponseFilter())
    uvicorn.run(
        app,
        host=cfg.host,
        port=cfg.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=cfg.access_log,
        lifespan="on",
    )
