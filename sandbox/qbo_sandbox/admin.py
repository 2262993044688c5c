"""Admin API (not part of QBO): realms, ground-truth state, tokens, faults, webhooks, clock."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import jsonutil
from .config import FaultConfig
from .sandbox import Sandbox
from .webhooks import Endpoint


def _sb(request: Request) -> Sandbox:
    return request.app.state.sandbox


def _json(data: Any, status: int = 200) -> Response:
    return Response(jsonutil.dumpb(data), status_code=status, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = jsonutil.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def _realm_or_404(request: Request) -> Any:
    realm = _sb(request).realms.get(request.path_params["realm"])
    if realm is None:
        return None
    return realm


def _missing() -> Response:
    return _json({"error": "unknown realm"}, 404)


async def health(request: Request) -> Response:
    return _json({"ok": True, "realms": sorted(_sb(request).realms)})


async def realms(request: Request) -> Response:
    sb = _sb(request)
    if request.method == "GET":
        return _json(
            {
                "realms": [
                    {"realm_id": r.realm_id, "company_name": r.company_name}
                    for r in sb.realms.values()
                ]
            }
        )
    data = await _body(request)
    realm_id = str(data.get("realm_id") or (str(secrets.randbelow(10**15) + 9 * 10**15)))
    if realm_id in sb.realms:
        return _json({"error": "realm exists"}, 409)
    realm = sb.create_realm(
        realm_id,
        str(data.get("name", "Sandbox Company")),
        bool(data.get("multicurrency", False)),
        str(data.get("home_currency", "USD")),
    )
    out: dict[str, Any] = {"realm_id": realm.realm_id, "company_name": realm.company_name}
    if data.get("token", True):
        out["token"] = sb.tokens.new_grant(sb.config.client_id, realm_id)
    return _json(out, 201)


async def realm_state(request: Request) -> Response:
    realm = _realm_or_404(request)
    if realm is None:
        return _missing()
    return _json(realm.to_json())


async def realm_entities(request: Request) -> Response:
    """``GET /admin/realms/{realm}/entities/{Entity}?Field=value`` — exact-match filter."""
    realm = _realm_or_404(request)
    if realm is None:
        return _missing()
    name = request.path_params["entity"]
    rows = list(realm.table(name).values())
    for k, v in request.query_params.items():
        rows = [r for r in rows if str(_get(r, k)) == v]
    deleted = sorted(realm.tombstones.get(name, {}))
    return _json({"entity": name, "count": len(rows), "items": rows, "deleted_ids": deleted})


def _get(obj: dict[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


async def realm_import(request: Request) -> Response:
    realm = _realm_or_404(request)
    if realm is None:
        return _missing()
    data = await _body(request)
    try:
        n = realm.import_entities(data)
    except KeyError as exc:
        return _json({"error": f"unknown entity {exc}"}, 400)
    return _json({"imported": n})


async def realm_token(request: Request) -> Response:
    sb = _sb(request)
    realm_id = request.path_params["realm"]
    if realm_id not in sb.realms:
        return _missing()
    data = await _body(request)
    return _json(sb.tokens.new_grant(str(data.get("client_id", sb.config.client_id)), realm_id))


async def realm_faults(request: Request) -> Response:
    sb = _sb(request)
    realm_id = request.path_params["realm"]
    inj = sb.injector(realm_id)
    if request.method in ("PUT", "PATCH", "POST"):
        data = await _body(request)
        if request.method == "PUT":
            inj.cfg = FaultConfig()
        try:
            inj.cfg.update(data)
        except (KeyError, ValueError, TypeError) as exc:
            return _json({"error": f"bad fault setting {exc}"}, 400)
        if data.get("reseed", False):
            inj.reseed(sb.config.seed, realm_id)
    return _json({"faults": inj.cfg.to_json(), "log": inj.log[-200:]})


async def realm_revoke(request: Request) -> Response:
    sb = _sb(request)
    return _json({"revoked_grants": sb.tokens.revoke_realm(request.path_params["realm"])})


async def realm_expire(request: Request) -> Response:
    sb = _sb(request)
    sb.tokens.expire_access(request.path_params["realm"])
    return _json({"ok": True})


async def realm_forget_requestids(request: Request) -> Response:
    """Drop the realm's requestid replay cache (Intuit keeps it for a limited time only)."""
    realm = _realm_or_404(request)
    if realm is None:
        return _missing()
    forgotten = len(realm.requestids)
    realm.requestids.clear()
    return _json({"forgotten": forgotten})


def _merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        elif v is None:
            dst.pop(k, None)
        else:
            dst[k] = v


async def realm_preferences(request: Request) -> Response:
    """Deep-merge preferences (e.g. BookCloseDate, MultiCurrencyEnabled); null removes."""
    realm = _realm_or_404(request)
    if realm is None:
        return _missing()
    if request.method == "PATCH":
        _merge(realm.preferences, await _body(request))
        realm.preferences["SyncToken"] = str(int(realm.preferences["SyncToken"]) + 1)
    return _json(realm.preferences)


async def throttle(request: Request) -> Response:
    sb = _sb(request)
    if request.method != "GET":
        data = await _body(request)
        for k, v in data.items():
            if not hasattr(sb.config.throttle, k):
                return _json({"error": f"unknown throttle setting {k}"}, 400)
            setattr(sb.config.throttle, k, type(getattr(sb.config.throttle, k))(v))
        sb.throttles.clear()
    return _json(asdict(sb.config.throttle))


async def webhooks(request: Request) -> Response:
    sb = _sb(request)
    if request.method != "GET":
        data = await _body(request)
        eps = [
            Endpoint(
                url=str(e["url"]),
                verifier_token=str(e["verifier_token"]),
                format=str(e.get("format", "legacy")),
                realms=[str(r) for r in e.get("realms", [])],
                entities=[str(x) for x in e.get("entities", [])],
            )
            for e in data.get("endpoints", [])
        ]
        if any(e.format not in ("legacy", "cloudevents") for e in eps):
            return _json({"error": "format must be legacy or cloudevents"}, 400)
        sb.webhooks.configure(eps)
        for k in ("webhook_retry_delays", "webhook_batch_seconds", "webhook_timeout"):
            if k in data:
                val = data[k]
                setattr(
                    sb.config, k, [float(x) for x in val] if isinstance(val, list) else float(val)
                )
    return _json(sb.webhooks.status())


async def clock(request: Request) -> Response:
    sb = _sb(request)
    if request.method == "POST":
        data = await _body(request)
        sb.clock.advance(float(data.get("advance_seconds", 0)))
    return _json(
        {"now": sb.clock.now(), "offset": sb.clock.offset, "time": sb.clock.response_time()}
    )


async def reset(request: Request) -> Response:
    sb = _sb(request)
    sb.reset()
    return _json({"ok": True, "realms": sorted(sb.realms)})


async def snapshot(request: Request) -> Response:
    sb = _sb(request)
    data = await _body(request)
    try:
        path = sb.save_snapshot(data.get("path"))
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"saved": path})


ROUTES = [
    Route("/admin/health", health),
    Route("/admin/realms", realms, methods=["GET", "POST"]),
    Route("/admin/realms/{realm}/state", realm_state),
    Route("/admin/realms/{realm}/entities/{entity}", realm_entities),
    Route("/admin/realms/{realm}/import", realm_import, methods=["POST"]),
    Route("/admin/realms/{realm}/token", realm_token, methods=["POST"]),
    Route("/admin/realms/{realm}/faults", realm_faults, methods=["GET", "PUT", "PATCH", "POST"]),
    Route("/admin/realms/{realm}/revoke-tokens", realm_revoke, methods=["POST"]),
    Route("/admin/realms/{realm}/expire-tokens", realm_expire, methods=["POST"]),
    Route("/admin/realms/{realm}/forget-requestids", realm_forget_requestids, methods=["POST"]),
    Route("/admin/realms/{realm}/preferences", realm_preferences, methods=["GET", "PATCH"]),
    Route("/admin/throttle", throttle, methods=["GET", "PUT", "PATCH"]),
    Route("/admin/webhooks", webhooks, methods=["GET", "PUT"]),
    Route("/admin/clock", clock, methods=["GET", "POST"]),
    Route("/admin/reset", reset, methods=["POST"]),
    Route("/admin/snapshot", snapshot, methods=["POST"]),
]
__all__ = ["ROUTES", "JSONResponse"]
