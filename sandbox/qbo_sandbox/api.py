"""The QBO v3 data API (``/v3/company/{realmId}/...``) as a lean ASGI handler.

Hot path: no framework routing, cached entity JSON, one dict lookup per concern.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from . import attachments, faults, jsonutil, query, reports, service
from .batch import request_id_too_long, run_batch
from .cdc import change_data_capture
from .entities import SPECS, spec_for_path
from .jsonutil import BadJson
from .sandbox import Sandbox
from .state import CachedResponse, Entity, Realm

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

JSON_OK = b"application/json;charset=utf-8"
JSON_ERR = b"application/json"
PREFIX = "/v3/company/"
LOST = "lost-response"  # returned to the server: uvicorn then closes the TCP connection

log = logging.getLogger("qbo_sandbox.api")
_tid = itertools.count(1)


class LostResponseFilter(logging.Filter):
    """Hide uvicorn's complaint about the deliberate connection drop."""

    def filter(self, record: logging.LogRecord) -> bool:
        return LOST not in record.getMessage()


class Reply:
    """Status + body + content type."""

    __slots__ = ("body", "committed", "ctype", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        ctype: bytes = JSON_OK,
        committed: bool = False,
        headers: list[tuple[bytes, bytes]] | None = None,
    ):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.committed = committed
        self.headers = headers or []


def _fault_reply(sb: Sandbox, f: faults.QBOFault) -> Reply:
    body = jsonutil.dumpb(faults.error_json(f, sb.clock.response_time()))
    return Reply(f.status, body, JSON_ERR)


def _time_suffix(sb: Sandbox) -> bytes:
    return b',"time":"' + sb.clock.response_time().encode() + b'"}'


class Api:
    """ASGI callable for ``/v3/company/...``."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        sb = self.sb
        method: str = scope["method"]
        parts = [p for p in scope["path"][len(PREFIX) :].split("/") if p]
        realm_id = parts[0] if parts else ""
        rest = parts[1:]
        headers = dict(scope["headers"])
        params = {
            k.lower(): v
            for k, v in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        }
        body = b""
        if method == "POST":
            more = True
            while more:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    # The client went away before the body was complete: like QuickBooks, act on
                    # nothing and remember nothing (no requestid cache entry for a partial body).
                    return None
                body += msg.get("body", b"")
                more = msg.get("more_body", False)

        auth = headers.get(b"authorization")
        err = sb.tokens.check(auth.decode("latin-1") if auth else None, realm_id)
        realm = sb.realms.get(realm_id)
        if err is not None and err[0] == 401:
            payload = jsonutil.dumpb(faults.auth_401_json(err[1], int(sb.clock.now() * 1000)))
            return await _send(
                send,
                Reply(
                    401,
                    payload,
                    JSON_ERR,
                    headers=[(b"www-authenticate", faults.WWW_AUTHENTICATE.encode())],
                ),
            )
        if err is not None or realm is None:
            return await _send(send, _fault_reply(sb, faults.forbidden_403()))

        head = rest[0].lower() if rest else ""
        is_batch = head == "batch"
        is_write = method == "POST" and head not in ("query", "cdc")
        is_mut = is_write and (
            params.get("operation", "") in ("update", "delete", "void") or b'"Id"' in body
        )
        throttle = sb.throttle(realm_id) if sb.config.throttle.enabled else None
        if throttle is not None and not throttle.admit(
            sb.config.throttle, sb.clock.now(), is_batch
        ):
            return await _send(
                send, Reply(429, faults.throttle_xml(sb.clock.response_time()), b"application/xml")
            )
        inj = sb.injector(realm_id)
        decision = inj.before(is_write, is_mut)
        if throttle is not None:
            throttle.active += 1
        try:
            if decision.delay:
                await asyncio.sleep(decision.delay)
            if decision.throttle:
                return await _send(
                    send,
                    Reply(429, faults.throttle_xml(sb.clock.response_time()), b"application/xml"),
                )
            if decision.error_status:
                f = faults.system_fault()
                f.status = decision.error_status
                return await _send(send, _fault_reply(sb, f))
            rid = params.get("requestid") or None
            if rid is not None and is_write and not is_batch:
                if len(rid) > 50:
                    return await _send(send, _fault_reply(sb, request_id_too_long(rid)))
                cached = realm.requestids.get(rid)
                if cached is not None:
                    return await _send(send, Reply(cached.status, cached.body))
            opts = service.Opts(
                allow_duplicate_docnum="allowduplicatedocnum" in params.get("include", "").lower(),
                force_stale=decision.stale,
            )
            host = headers.get(b"host")
            if host is None:
                server = scope.get("server") or ("127.0.0.1", 80)
                host = f"{server[0]}:{server[1]}".encode()
            base_url = f"{scope.get('scheme', 'http')}://{host.decode('latin-1')}"
            ctx = service.Ctx(realm, opts, base_url=base_url)
            try:
                ctype = headers.get(b"content-type", b"").decode("latin-1")
                reply = self.dispatch(ctx, method, rest, params, body, rid, ctype)
            except faults.QBOFault as f:
                reply = _fault_reply(sb, f)
            except Exception:  # never crash the connection for a bug; report a SystemFault
                log.exception("internal error on %s %s", method, scope["path"])
                reply = _fault_reply(sb, faults.system_fault())
            if rid is not None and is_write and not is_batch and reply.status < 500:
                realm.requestids[rid] = CachedResponse(reply.status, reply.body)
            for entity, eid, op in ctx.events:
                obj = realm.get(entity, eid)
                stamp = (obj or {}).get("MetaData", {}).get(
                    "LastUpdatedTime"
                ) or sb.clock.meta_time()
                sb.webhooks.emit(realm_id, entity, eid, op, stamp)
            if ctx.events and inj.lose_response():
                return LOST
            return await _send(send, reply)
        finally:
            if throttle is not None:
                throttle.active -= 1

    # ------------------------------------------------------------------ routing
    def dispatch(
        self,
        ctx: service.Ctx,
        method: str,
        rest: list[str],
        params: dict[str, str],
        body: bytes,
        rid: str | None,
        ctype: str = "",
    ) -> Reply:
        sb = self.sb
        realm = ctx.realm
        head = rest[0].lower() if rest else ""
        relative = f"{PREFIX}{realm.realm_id}/" + "/".join(rest)
        if head == "query" and len(rest) == 1:
            text = params.get("query", "") if method == "GET" else body.decode("utf-8")
            if not text.strip():
                raise faults.query_parse('Encountered "<EOF>" at line 1, column 1.')
            return self._query(realm, query.execute(realm, text))
        if head == "batch" and len(rest) == 1 and method == "POST":
            data = _parse_body(body)
            out = run_batch(ctx, data, rid)
            return Reply(
                200, jsonutil.dumpb(out)[:-1] + _time_suffix(sb), committed=bool(ctx.events)
            )
        if head == "cdc" and len(rest) == 1:
            out = change_data_capture(
                realm,
                params.get("entities", ""),
                params.get("changedsince", ""),
                sb.config.cdc_window_days,
            )
            return Reply(200, jsonutil.dumpb(out)[:-1] + _time_suffix(sb))
        if head == "preferences" and len(rest) == 1:
            if method == "POST":
                self._update_singleton(realm, "preferences", _parse_body(body))
                ctx.events.append(("Preferences", "1", "Update"))
            return self._wrap("Preferences", realm.preferences)
        if head == "companyinfo" and len(rest) <= 2:
            if method == "POST":
                self._update_singleton(realm, "company_info", _parse_body(body))
            elif len(rest) == 2 and rest[1] != realm.realm_id:
                raise faults.object_not_found()
            return self._wrap("CompanyInfo", realm.company_info)
        if head == "upload" and len(rest) == 1 and method == "POST":
            return self._upload(ctx, ctype, body)
        if head == "download" and len(rest) == 2 and method == "GET":
            uri = attachments.download_uri(realm, service.validate_id_text(rest[1]))
            return Reply(200, uri.encode("utf-8"), b"text/plain;charset=utf-8")
        if head == "reports" and len(rest) == 2 and method == "GET":
            out = reports.run(realm, rest[1], params)
            return Reply(200, jsonutil.dumpb(out))
        spec = spec_for_path(head)
        if spec is None:
            raise faults.unsupported_operation(relative)
        if method == "GET" and len(rest) == 2:
            obj = service.read(ctx, spec, rest[1])
            return Reply(
                200,
                b'{"'
                + spec.name.encode()
                + b'":'
                + realm.serialized(spec.name, obj)
                + _time_suffix(sb),
            )
        if method == "GET" and len(rest) == 3 and rest[2].lower() == "pdf":
            obj = service.read(ctx, spec, rest[1])
            return Reply(200, _pdf(spec.name, obj), b"application/pdf")
        if method == "POST" and len(rest) == 3 and rest[2].lower() == "send":
            obj = service.read(ctx, spec, rest[1])
            if "EmailStatus" not in obj:
                raise faults.unsupported_operation(relative)
            obj["EmailStatus"] = "EmailSent"
            to = params.get("sendto") or (obj.get("BillEmail") or {}).get("Address")
            if not to:
                raise faults.required_missing("BillEmail.Address")
            obj["BillEmail"] = {"Address": to}
            obj["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": sb.clock.meta_time()}
            realm.put(spec.name, obj)
            ctx.events.append((spec.name, obj["Id"], "Emailed"))
            return self._wrap(spec.name, obj)
        if method == "POST" and len(rest) == 1:
            data = _parse_body(body)
            if not isinstance(data, dict):
                raise faults.fault(
                    "2010",
                    "Request has invalid or unsupported property",
                    "The request body must be a JSON object",
                    None,
                )
            if set(data) == {spec.name} and isinstance(data[spec.name], dict):
                data = data[spec.name]  # tolerate the wrapped form {"Invoice": {...}}
            obj = service.write(ctx, spec, data, params.get("operation"), params.get("include"))
            return Reply(
                200,
                b'{"'
                + spec.name.encode()
                + b'":'
                + (
                    realm.serialized(spec.name, obj)
                    if obj.get("status") != "Deleted"
                    else jsonutil.dumpb(obj)
                )
                + _time_suffix(sb),
                committed=True,
            )
        raise faults.unsupported_operation(relative)

    def _upload(self, ctx: service.Ctx, ctype: str, body: bytes) -> Reply:
        """Multipart upload: one AttachableResponse item per file (HTTP 200, per-item Fault)."""
        spec = SPECS["Attachable"]
        out: list[dict[str, Any]] = []
        for meta, upload in attachments.parse_upload(ctype, body):
            ctx.upload = upload
            try:
                data = service.clean(meta or {})
                obj = service.write(ctx, spec, data, None, None)
                out.append({"Attachable": obj})
            except faults.QBOFault as f:
                out.append({"Fault": f.fault_json()})
            finally:
                ctx.upload = None
        return Reply(
            200,
            jsonutil.dumpb({"AttachableResponse": out})[:-1] + _time_suffix(self.sb),
            committed=bool(ctx.events),
        )

    def _wrap(self, name: str, obj: Entity) -> Reply:
        return Reply(
            200, b'{"' + name.encode() + b'":' + jsonutil.dumpb(obj) + _time_suffix(self.sb)
        )

    def _query(self, realm: Realm, result: query.QueryResult) -> Reply:
        if result.count is not None or not result.rows or result.entity in query.SINGLETONS:
            inner = jsonutil.dumpb(result.to_json())
        else:
            rows = b",".join(realm.serialized(result.entity, r) for r in result.rows)
            inner = (
                b'{"'
                + result.entity.encode()
                + b'":['
                + rows
                + b'],"startPosition":'
                + str(result.start).encode()
                + b',"maxResults":'
                + str(len(result.rows)).encode()
                + b"}"
            )
        return Reply(200, b'{"QueryResponse":' + inner + _time_suffix(self.sb))

    def _update_singleton(self, realm: Realm, attr: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise faults.required_missing("SyncToken")
        current: Entity = getattr(realm, attr)
        if str(data.get("SyncToken")) != str(current.get("SyncToken")):
            raise faults.stale_object()
        new = dict(current)
        for k, v in service.clean(data).items():
            if k in ("Id", "SyncToken", "MetaData", "domain", "sparse"):
                continue
            if isinstance(v, dict) and isinstance(new.get(k), dict):
                merged = dict(new[k])
                merged.update(v)
                new[k] = merged
            else:
                new[k] = v
        new["SyncToken"] = str(int(current["SyncToken"]) + 1)
        new["MetaData"] = dict(
            current.get("MetaData", {}), LastUpdatedTime=self.sb.clock.meta_time()
        )
        setattr(realm, attr, new)


def _parse_body(body: bytes) -> Any:
    try:
        return jsonutil.loads(body or b"{}")
    except BadJson as exc:
        raise faults.fault(
            "2010",
            "Request has invalid or unsupported property",
            f"Error parsing object: {exc}",
            None,
        ) from exc


def _pdf(entity: str, obj: Entity) -> bytes:
    title = f"{entity} {obj.get('DocNumber') or obj['Id']} total {obj.get('TotalAmt', '')}"
    text = title.replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


async def _send(send: Send, reply: Reply) -> None:
    hdrs = [
        (b"content-type", reply.ctype),
        (b"content-length", str(len(reply.body)).encode()),
        (b"intuit-tid", f"1-sandbox-{next(_tid)}".encode()),
        *reply.headers,
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": hdrs})
    await send({"type": "http.response.body", "body": reply.body})
