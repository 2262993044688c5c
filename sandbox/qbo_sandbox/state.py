"""In-memory company (realm) state, indexes, and JSON snapshots."""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import jsonutil
from .clock import Clock, parse_time
from .entities import SPECS

Entity = dict[str, Any]


@dataclass
class CachedResponse:
    """A stored response for ``requestid`` replay: byte-identical on repeat."""

    status: int
    body: bytes


@dataclass
class StoredFile:
    """The bytes behind an uploaded Attachable; ``key`` is the secret part of its download URL."""

    key: str
    content: bytes
    content_type: str


@dataclass
class Realm:
    """One QBO company."""

    realm_id: str
    company_name: str
    clock: Clock
    entities: dict[str, dict[str, Entity]] = field(default_factory=dict)
    next_id: dict[str, int] = field(default_factory=dict)
    line_seq: dict[tuple[str, str], int] = field(default_factory=dict)
    preferences: Entity = field(default_factory=dict)
    company_info: Entity = field(default_factory=dict)
    tombstones: dict[str, dict[str, float]] = field(default_factory=dict)
    updated_at: dict[tuple[str, str], float] = field(default_factory=dict)
    requestids: dict[str, CachedResponse] = field(default_factory=dict)
    payment_links: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # inv -> pay -> amt
    voided: set[tuple[str, str]] = field(default_factory=set)
    last_doc_number: int = 1000
    custom_fields: list[Entity] = field(default_factory=list)
    exchange_rates: dict[str, Decimal] = field(default_factory=dict)
    currencies: dict[str, str] = field(default_factory=dict)
    ser_cache: dict[tuple[str, str], bytes] = field(default_factory=dict)
    attachments: dict[str, StoredFile] = field(default_factory=dict)  # Attachable Id -> file
    # objects created by earlier items of the batch being run: later items can't see them
    batch_hidden: set[tuple[str, str]] = field(default_factory=set)
    # indexes: (namespace, casefolded name) -> {(entity, id)}, (entity, DocNumber) -> {id}
    name_index: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=dict)
    doc_index: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    _index_keys: dict[tuple[str, str], tuple[Any, Any]] = field(default_factory=dict)

    # ---------------------------------------------------------------- indexes
    def _unindex(self, entity: str, eid: str) -> None:
        keys = self._index_keys.pop((entity, eid), None)
        if keys is None:
            return
        nk, dk = keys
        if nk is not None:
            self.name_index.get(nk, set()).discard((entity, eid))
        if dk is not None:
            self.doc_index.get(dk, set()).discard(eid)

    def _index(self, entity: str, obj: Entity) -> None:
        eid = obj["Id"]
        self._unindex(entity, eid)
        spec = SPECS.get(entity)
        nk = dk = None
        if spec is not None and spec.name_field:
            name = obj.get(spec.name_field)
            if isinstance(name, str):
                nk = (spec.namespace or entity, name.strip().casefold())
                self.name_index.setdefault(nk, set()).add((entity, eid))
        doc = obj.get("DocNumber")
        if isinstance(doc, str):
            dk = (entity, doc)
            self.doc_index.setdefault(dk, set()).add(eid)
        self._index_keys[(entity, eid)] = (nk, dk)

    def names(self, namespace: str, name: str) -> set[tuple[str, str]]:
        """(entity, id) of every object whose name equals ``name`` (case-insensitive)."""
        return self.name_index.get((namespace, name.strip().casefold()), set())

    def doc_ids(self, entity: str, doc: str) -> set[str]:
        return self.doc_index.get((entity, doc), set())

    # ------------------------------------------------------------------ access
    def table(self, entity: str) -> dict[str, Entity]:
        t = self.entities.get(entity)
        if t is None:
            t = self.entities[entity] = {}
        return t

    def get(self, entity: str, eid: str) -> Entity | None:
        t = self.entities.get(entity)
        return None if t is None else t.get(eid)

    def visible(self, entity: str, eid: str) -> Entity | None:
        """``get`` as a request sees it: not what earlier items of the same batch created."""
        if self.batch_hidden and (entity, eid) in self.batch_hidden:
            return None
        return self.get(entity, eid)

    def new_id(self, entity: str) -> str:
        n = self.next_id.get(entity, 1)
        self.next_id[entity] = n + 1
        return str(n)

    def new_line_id(self, entity: str, eid: str) -> str:
        key = (entity, eid)
        n = self.line_seq.get(key, 0) + 1
        self.line_seq[key] = n
        return str(n)

    def put(self, entity: str, obj: Entity) -> None:
        """Store (insert or replace) and record the change time."""
        eid = obj["Id"]
        self.table(entity)[eid] = obj
        self._index(entity, obj)
        self.ser_cache.pop((entity, eid), None)
        self.updated_at[(entity, eid)] = self.clock.now()

    def remove(self, entity: str, eid: str) -> None:
        """Hard delete with a CDC tombstone."""
        self.table(entity).pop(eid, None)
        self._unindex(entity, eid)
        self.ser_cache.pop((entity, eid), None)
        self.updated_at.pop((entity, eid), None)
        self.tombstones.setdefault(entity, {})[eid] = self.clock.now()

    def serialized(self, entity: str, obj: Entity) -> bytes:
        key = (entity, obj["Id"])
        b = self.ser_cache.get(key)
        if b is None:
            b = jsonutil.dumpb(obj)
            self.ser_cache[key] = b
        return b

    def bump_ids_past(self, entity: str, eid: str) -> None:
        if eid.isdigit() and int(eid) >= self.next_id.get(entity, 1):
            self.next_id[entity] = int(eid) + 1

    # ---------------------------------------------------------------- snapshot
    def to_json(self) -> dict[str, Any]:
        return {
            "realm_id": self.realm_id,
            "company_name": self.company_name,
            "entities": self.entities,
            "next_id": self.next_id,
            "line_seq": [[k[0], k[1], v] for k, v in self.line_seq.items()],
            "preferences": self.preferences,
            "company_info": self.company_info,
            "tombstones": self.tombstones,
            "updated_at": [[k[0], k[1], v] for k, v in self.updated_at.items()],
            "requestids": {
                k: {"status": v.status, "body": v.body.decode("utf-8")}
                for k, v in self.requestids.items()
            },
            "payment_links": self.payment_links,
            "voided": [list(v) for v in sorted(self.voided)],
            "last_doc_number": self.last_doc_number,
            "custom_fields": self.custom_fields,
            "exchange_rates": self.exchange_rates,
            "currencies": self.currencies,
            "attachments": {
                k: {
                    "key": f.key,
                    "content_type": f.content_type,
                    "content": base64.b64encode(f.content).decode("ascii"),
                }
                for k, f in self.attachments.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], clock: Clock) -> Realm:
        r = cls(realm_id=str(data["realm_id"]), company_name=data["company_name"], clock=clock)
        r.entities = data["entities"]
        r.next_id = {k: int(v) for k, v in data["next_id"].items()}
        r.line_seq = {(a, b): int(v) for a, b, v in data["line_seq"]}
        r.preferences = data["preferences"]
        r.company_info = data["company_info"]
        r.tombstones = {
            k: {i: float(t) for i, t in v.items()} for k, v in data["tombstones"].items()
        }
        r.updated_at = {(a, b): float(v) for a, b, v in data["updated_at"]}
        r.requestids = {
            k: CachedResponse(int(v["status"]), v["body"].encode("utf-8"))
            for k, v in data["requestids"].items()
        }
        r.payment_links = {
            k: {p: Decimal(str(a)) for p, a in v.items()} for k, v in data["payment_links"].items()
        }
        r.voided = {(a, b) for a, b in data["voided"]}
        r.last_doc_number = int(data["last_doc_number"])
        r.custom_fields = data["custom_fields"]
        r.exchange_rates = {k: Decimal(str(v)) for k, v in data["exchange_rates"].items()}
        r.currencies = data["currencies"]
        r.attachments = {
            k: StoredFile(str(f["key"]), base64.b64decode(f["content"]), str(f["content_type"]))
            for k, f in data.get("attachments", {}).items()
        }
        for name, table in r.entities.items():
            for obj in table.values():
                r._index(name, obj)
        return r

    # ------------------------------------------------------------------ import
    def import_entities(self, entities: dict[str, list[Entity]]) -> int:
        """Load entities verbatim (ids kept) — used for fixtures and recorded companies."""
        n = 0
        for name, objs in entities.items():
            if name not in SPECS:
                raise KeyError(name)
            for raw in objs:
                obj = copy.deepcopy(raw)
                eid = str(obj["Id"])
                obj["Id"] = eid
                obj["SyncToken"] = str(obj.get("SyncToken", "0"))
                obj.setdefault("domain", "QBO")
                obj.setdefault("sparse", False)
                meta = obj.setdefault("MetaData", {})
                now = self.clock.meta_time()
                meta.setdefault("CreateTime", now)
                meta.setdefault("LastUpdatedTime", meta["CreateTime"])
                self.table(name)[eid] = obj
                self._index(name, obj)
                self.ser_cache.pop((name, eid), None)
                try:
                    self.updated_at[(name, eid)] = parse_time(meta["LastUpdatedTime"]).timestamp()
                except ValueError:
                    self.updated_at[(name, eid)] = self.clock.now()
                self.bump_ids_past(name, eid)
                for line in obj.get("Line") or []:
                    lid = str(line.get("Id", ""))
                    if lid.isdigit():
                        key = (name, eid)
                        self.line_seq[key] = max(self.line_seq.get(key, 0), int(lid))
                doc = obj.get("DocNumber")
                if isinstance(doc, str) and doc.isdigit():
                    self.last_doc_number = max(self.last_doc_number, int(doc))
                n += 1
        return n
