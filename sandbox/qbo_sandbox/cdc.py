"""Change Data Capture: everything changed since a timestamp, with delete tombstones."""

from __future__ import annotations

from typing import Any

from . import faults
from .clock import parse_time
from .entities import SPECS
from .state import Realm

MAX_OBJECTS = 1000


def change_data_capture(
    realm: Realm, entities: str, changed_since: str, window_days: int | None
) -> dict[str, Any]:
    """Body of ``GET /cdc`` (without ``time``)."""
    if not entities:
        raise faults.required_missing("entities")
    if not changed_since:
        raise faults.required_missing("changedSince")
    try:
        since = parse_time(changed_since).timestamp()
    except ValueError as exc:
        raise faults.fault(
            "4000", "Invalid date format", f"Invalid changedSince {changed_since}", "changedSince"
        ) from exc
    now = realm.clock.now()
    if window_days is not None and since < now - window_days * 86400:
        raise faults.fault(
            "6000",
            "A business validation error has occurred while processing your request",
            f"Business Validation Error: Operation cdc with changedSince date {changed_since} "
            "which is older than fixed days is not supported.",
            "changedSince",
        )
    responses: list[dict[str, Any]] = []
    budget = MAX_OBJECTS
    for raw in entities.split(","):
        name = next((s for s in SPECS if s.lower() == raw.strip().lower()), None)
        if name is None:
            raise faults.query_invalid(f"invalid context declaration: {raw.strip()}")
        if not SPECS[name].cdc:
            raise faults.fault(
                "4001", "Invalid query", f"CDC is not supported for entity {name}", "entities"
            )
        rows: list[tuple[float, dict[str, Any]]] = []
        for eid, obj in realm.table(name).items():
            t = realm.updated_at.get((name, eid), 0.0)
            if t >= since:
                rows.append((t, obj))
        for eid, t in realm.tombstones.get(name, {}).items():
            if t >= since:
                from datetime import datetime

                from .clock import PACIFIC

                d = datetime.fromtimestamp(t, PACIFIC)
                stamp = (
                    d.strftime("%Y-%m-%dT%H:%M:%S")
                    + d.strftime("%z")[:3]
                    + ":"
                    + d.strftime("%z")[3:]
                )
                rows.append(
                    (
                        t,
                        {
                            "domain": "QBO",
                            "status": "Deleted",
                            "Id": eid,
                            "MetaData": {"LastUpdatedTime": stamp},
                        },
                    )
                )
        rows.sort(key=lambda x: x[0])
        objs = [o for _, o in rows][:budget]
        budget -= len(objs)
        if objs:
            responses.append({name: objs, "startPosition": 1, "maxResults": len(objs)})
    return {"CDCResponse": [{"QueryResponse": responses or [{}]}]}
