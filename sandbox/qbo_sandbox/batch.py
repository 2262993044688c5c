"""Batch endpoint: up to 30 items, each with its own result or Fault, ``bId`` echoed."""

from __future__ import annotations

from typing import Any

from . import faults, query, service
from .jsonutil import dumpb, loads
from .state import CachedResponse, Realm

MAX_ITEMS = 30


def request_id_too_long(rid: str) -> faults.QBOFault:
    return faults.business(
        "You cannot enter more than 50 characters in the request_id field. You tried entering "
        f"{rid}, which is {len(rid)} characters."
    )


def run_batch(ctx: service.Ctx, body: Any, request_id: str | None) -> dict[str, Any]:
    """Execute a batch; returns the body (without ``time``). Items run serially, in order."""
    realm: Realm = ctx.realm
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise faults.fault("400", "MalformedRequest", "Batch Request is Empty", None)
    if len(items) > MAX_ITEMS:
        raise faults.business(f"Batch request has {len(items)} items; the maximum is {MAX_ITEMS}.")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    try:
        _run_items(ctx, items, request_id, out, seen)
    finally:
        realm.batch_hidden.clear()
    return {"BatchItemResponse": out}


def _run_items(
    ctx: service.Ctx,
    items: list[Any],
    request_id: str | None,
    out: list[dict[str, Any]],
    seen: set[str],
) -> None:
    """Serially, in order; an item can't see (reference, update, delete) what an earlier item
    of the same batch created (reference §6: no intra-batch references)."""
    realm = ctx.realm
    for item in items:
        if not isinstance(item, dict):
            raise faults.fault("400", "MalformedRequest", "Batch item is not an object", None)
        bid = item.get("bId")
        resp: dict[str, Any]
        key = f"{request_id}{bid or ''}" if request_id else None
        try:
            if bid is not None and str(bid) in seen:
                raise faults.business(f"Duplicate bId {bid} in the batch request.", "bId")
            seen.add(str(bid))
            if key is not None and len(key) > 50:
                raise request_id_too_long(key)
            if key is not None and key in realm.requestids:
                resp = loads(realm.requestids[key].body)
                out.append(resp)
                continue
            resp = _run_item(ctx, item)
        except faults.QBOFault as f:
            resp = {"Fault": f.fault_json()}
        if bid is not None:
            resp["bId"] = bid
        if key is not None and len(key) <= 50:
            realm.requestids[key] = CachedResponse(200, dumpb(resp))
        out.append(resp)


def _run_item(ctx: service.Ctx, item: dict[str, Any]) -> dict[str, Any]:
    if "Query" in item:
        result = query.execute(ctx.realm, str(item["Query"]))
        return {"QueryResponse": result.to_json()}
    found = service.spec_by_entity_key(item)
    if found is None:
        raise faults.fault("400", "MalformedRequest", "Batch item has no entity or Query", None)
    spec, entity = found
    options = str(item.get("optionsData") or "").lower()
    opts = service.Opts(allow_duplicate_docnum="allowduplicatedocnum" in options)
    sub = service.Ctx(ctx.realm, opts, ctx.events)
    operation = str(item.get("operation") or "create")
    include = "void" if "void" in options else None
    if operation == "create" and entity.get("Id") not in (None, ""):
        raise faults.business("Id must not be supplied on create.", "Id")
    if include == "void" or operation == "void":
        obj = service.void(sub, spec, entity)
    elif operation == "update":
        obj = service.update(sub, spec, entity)
    else:
        obj = service.write(sub, spec, entity, operation, include)
        if operation == "create":
            ctx.realm.batch_hidden.add((spec.name, str(obj["Id"])))
    return {spec.name: obj}
