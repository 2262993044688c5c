"""Run a sandbox inside tests: ``with running_sandbox() as sb: ...``.

Example::

    from qbo_sandbox.testing import running_sandbox

    with running_sandbox(seed=7) as sb:
        headers = {"Authorization": f"Bearer {sb.access_token}"}
        r = httpx.post(f"{sb.company_url}/customer", json={"DisplayName": "Ann"}, headers=headers)
        assert sb.admin.count("Customer", DisplayName="Ann") == 1

The server runs uvicorn in a daemon thread on a free port of 127.0.0.1 (a real TCP server,
so lost-response faults really drop connections). ``running_sandbox`` returns once the
server accepts connections, and stops it (and joins the thread) on exit.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from . import jsonutil
from .api import LostResponseFilter
from .config import FaultConfig, SandboxConfig, ThrottleConfig
from .sandbox import Sandbox
from .server import SandboxApp, create_app


class AdminClient:
    """Thin synchronous client for the sandbox admin API (``/admin/...``)."""

    def __init__(self, base_url: str, default_realm: str) -> None:
        self.base_url = base_url
        self.default_realm = default_realm
        self.http = httpx.Client(base_url=base_url, timeout=10.0)

    def close(self) -> None:
        self.http.close()

    def _realm(self, realm: str | None) -> str:
        return realm or self.default_realm

    def _ok(self, resp: httpx.Response) -> Any:
        resp.raise_for_status()
        return resp.json()

    def token(self, realm: str | None = None) -> dict[str, Any]:
        """Shortcut grant: ``{"access_token", "refresh_token", "expires_in", ...}``."""
        return self._ok(self.http.post(f"/admin/realms/{self._realm(realm)}/token"))

    def access_token(self, realm: str | None = None) -> str:
        return str(self.token(realm)["access_token"])

    def create_realm(
        self,
        realm_id: str | None = None,
        name: str = "Sandbox Company",
        multicurrency: bool = False,
    ) -> dict[str, Any]:
        """New company; the answer includes a ``token`` for it."""
        body: dict[str, Any] = {"name": name, "multicurrency": multicurrency}
        if realm_id:
            body["realm_id"] = realm_id
        return self._ok(self.http.post("/admin/realms", json=body))

    def state(self, realm: str | None = None) -> dict[str, Any]:
        """Everything the realm holds (ground truth for assertions)."""
        return self._ok(self.http.get(f"/admin/realms/{self._realm(realm)}/state"))

    def entities(
        self, entity: str, realm: str | None = None, **filters: Any
    ) -> list[dict[str, Any]]:
        """Live entities, filtered by exact field match (dotted paths allowed:
        ``**{"CustomerRef.value": "3"}``)."""
        r = self.http.get(
            f"/admin/realms/{self._realm(realm)}/entities/{entity}",
            params={k: str(v) for k, v in filters.items()},
        )
        return self._ok(r)["items"]

    def count(self, entity: str, realm: str | None = None, **filters: Any) -> int:
        return len(self.entities(entity, realm, **filters))

    def faults(
        self, realm: str | None = None, replace: bool = False, **settings: Any
    ) -> dict[str, Any]:
        """Set fault injection (see ``FaultConfig``); ``replace`` resets unspecified ones."""
        url = f"/admin/realms/{self._realm(realm)}/faults"
        resp = self.http.put(url, json=settings) if replace else self.http.patch(url, json=settings)
        return self._ok(resp)

    def fault_log(self, realm: str | None = None) -> list[str]:
        return self._ok(self.http.get(f"/admin/realms/{self._realm(realm)}/faults"))["log"]

    def revoke_tokens(self, realm: str | None = None) -> int:
        r = self.http.post(f"/admin/realms/{self._realm(realm)}/revoke-tokens")
        return int(self._ok(r)["revoked_grants"])

    def expire_tokens(self, realm: str | None = None) -> None:
        self._ok(self.http.post(f"/admin/realms/{self._realm(realm)}/expire-tokens"))

    def forget_requestids(self, realm: str | None = None) -> int:
        """Expire the realm's requestid replay cache now; returns how many entries it held."""
        r = self.http.post(f"/admin/realms/{self._realm(realm)}/forget-requestids")
        return int(self._ok(r)["forgotten"])

    def preferences(
        self, patch: dict[str, Any] | None = None, realm: str | None = None
    ) -> dict[str, Any]:
        url = f"/admin/realms/{self._realm(realm)}/preferences"
        resp = self.http.patch(url, json=patch) if patch is not None else self.http.get(url)
        return self._ok(resp)

    def import_entities(
        self, data: dict[str, list[dict[str, Any]]], realm: str | None = None
    ) -> int:
        r = self.http.post(  # jsonutil: amounts may be Decimal
            f"/admin/realms/{self._realm(realm)}/import",
            content=jsonutil.dumpb(data),
            headers={"Content-Type": "application/json"},
        )
        return int(self._ok(r)["imported"])

    def throttle(self, **settings: Any) -> dict[str, Any]:
        return self._ok(self.http.patch("/admin/throttle", json=settings))

    def webhooks(
        self, endpoints: list[dict[str, Any]] | None = None, **timing: Any
    ) -> dict[str, Any]:
        """Configure endpoints ``[{"url", "verifier_token", "format"}]`` (+ retry timing) or,
        with no arguments, read the delivery log."""
        if endpoints is None and not timing:
            return self._ok(self.http.get("/admin/webhooks"))
        return self._ok(
            self.http.put("/admin/webhooks", json={"endpoints": endpoints or [], **timing})
        )

    def advance_clock(self, seconds: float) -> None:
        self._ok(self.http.post("/admin/clock", json={"advance_seconds": seconds}))

    def reset(self) -> None:
        self._ok(self.http.post("/admin/reset"))


@dataclass
class SandboxHandle:
    """What ``running_sandbox`` yields."""

    base_url: str  # http://127.0.0.1:PORT
    port: int
    realm_id: str  # demo company
    access_token: str
    refresh_token: str
    admin: AdminClient
    app: SandboxApp
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        """What python-quickbooks calls ``api_url_v3``."""
        return f"{self.base_url}/v3"

    @property
    def company_url(self) -> str:
        return f"{self.base_url}/v3/company/{self.realm_id}"

    @property
    def sandbox(self) -> Sandbox:
        """The in-process state (read-only use recommended; it lives on the server thread)."""
        return self.app.sandbox

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}", "Accept": "application/json"}

    def quickbooks(self, realm_id: str | None = None, access_token: str | None = None) -> Any:
        """An unmodified python-quickbooks client pointed at this sandbox (reference §12.3 A)."""
        import requests
        from quickbooks import QuickBooks

        class _TokenSession(requests.Session):
            def __init__(self, token: str) -> None:
                super().__init__()
                self.access_token = token

        qb = QuickBooks(company_id=realm_id or self.realm_id, minorversion=75)
        qb.api_url_v3 = self.api_url
        qb.session = _TokenSession(access_token or self.access_token)
        return qb


def _free_socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def running_sandbox(
    config: SandboxConfig | None = None,
    *,
    seed: int | None = None,
    throttle: bool = False,
    faults: dict[str, FaultConfig] | None = None,
    fast_webhooks: bool = True,
    startup_timeout: float = 10.0,
) -> Iterator[SandboxHandle]:
    """Start a sandbox on a free port in a background thread; stop it on exit.

    * ``config``: full control; otherwise defaults with throttling **off** (pass
      ``throttle=True`` for QBO's real limits) and webhook retries shortened to
      0/0.1/0.2/0.5/1 s with a 20 ms aggregation window (``fast_webhooks``).
    * ``seed`` sets the fault-injection seed; ``faults`` maps realm -> ``FaultConfig``.
    """
    cfg = config or SandboxConfig(throttle=ThrottleConfig(enabled=throttle))
    if seed is not None:
        cfg.seed = seed
    if faults:
        cfg.faults.update(faults)
    if fast_webhooks and config is None:
        cfg.webhook_retry_delays = [0.0, 0.1, 0.2, 0.5, 1.0]
        cfg.webhook_batch_seconds = 0.02
    sock = _free_socket(cfg.host)
    port = sock.getsockname()[1]
    cfg.port = port
    app = create_app(cfg)
    logging_filter = LostResponseFilter()
    import logging

    logging.getLogger("uvicorn.error").addFilter(logging_filter)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"qbo-sandbox-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("qbo sandbox failed to start")
        time.sleep(0.01)
    base = f"http://{cfg.host}:{port}"
    admin = AdminClient(base, cfg.demo_realm)
    tok = admin.token()
    handle = SandboxHandle(
        base, port, cfg.demo_realm, str(tok["access_token"]), str(tok["refresh_token"]), admin, app
    )
    try:
        yield handle
    finally:
        admin.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        logging.getLogger("uvicorn.error").removeFilter(logging_filter)
