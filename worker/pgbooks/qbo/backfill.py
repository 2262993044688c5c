"""Historical backfill: ``pgbooks qbo import`` and ``pgbooks qbo repost``.

Import pages every entity of a connected company through the QuickBooks query API
(``SELECT * FROM <Entity> [WHERE Active IN (true, false)] ORDERBY Id STARTPOSITION s MAXRESULTS n``)
and hands each page to ``api.qbo_import__page``, which upserts it into ``sync.qbo_mirror`` and moves
the entity's checkpoint in the same transaction. A run killed between pages resumes at the first
page not stored; a run that finds every requested entity completed starts a new pass (rows are
updated in place, never duplicated). ``api.qbo_mirror__apply_maps`` then feeds the books maps.

Repost calls ``api.qbo_repost__step`` until the date range is completed; each step is one
transaction (re-derive, link to QuickBooks' copy, arm the outbox, move the checkpoint).

Python only moves bytes: paging, the bearer token, retries of transient answers (429, 5xx,
transport errors, honouring Retry-After) with tenacity. Every decision is in SQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from pgbooks.sync.oauth import AuthLost, TokenStore
from pgbooks.sync.qbo import MINOR_VERSION, dumps_exact, loads_exact, normalise_fault

# Name lists first (customers and items are what documents refer to), then transactions.
ENTITIES = (
    "Account",
    "TaxCode",
    "Item",
    "Customer",
    "Invoice",
    "SalesReceipt",
    "Payment",
    "CreditMemo",
    "RefundReceipt",
    "Deposit",
    "JournalEntry",
)
NAME_LISTS = frozenset({"Account", "TaxCode", "Item", "Customer"})
MAX_PAGE = 1000  # QuickBooks' MAXRESULTS ceiling


class BackfillError(RuntimeError):
    """QuickBooks refused a query, or the tenant / realm cannot be backfilled."""


class _Transient(Exception):
    """A 429 / 5xx / transport error: worth another try after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def entity_query(entity: str, start: int, page_size: int) -> str:
    """The query of one page; name lists include inactive (deleted) entries."""
    where = " WHERE Active IN (true, false)" if entity in NAME_LISTS else ""
    # QuickBooks query language over HTTP, not SQL; entity is one of ENTITIES.
    return (
        f"SELECT * FROM {entity}{where} ORDERBY Id "  # noqa: S608
        f"STARTPOSITION {start} MAXRESULTS {page_size}"
    )


def count_query(entity: str) -> str:
    where = " WHERE Active IN (true, false)" if entity in NAME_LISTS else ""
    return f"SELECT COUNT(*) FROM {entity}{where}"  # noqa: S608


def parse_entities(value: str | None) -> list[str]:
    """``Customer,Item`` (case-insensitive) -> canonical names in import order."""
    if not value:
        return list(ENTITIES)
    wanted = {v.strip().lower() for v in value.split(",") if v.strip()}
    by_lower = {e.lower(): e for e in ENTITIES}
    unknown = sorted(w for w in wanted if w not in by_lower)
    if unknown:
        raise BackfillError(
            f"--entities: unknown {', '.join(unknown)} (choose from {', '.join(ENTITIES)})"
        )
    return [e for e in ENTITIES if e.lower() in wanted]


@dataclass
class ImportResult:
    tenant_id: str
    realm_id: str
    entities: dict[str, int] = field(default_factory=dict)  # rows stored by this run
    pages: int = 0
    resumed: list[str] = field(default_factory=list)  # entities continued from a checkpoint
    skipped: list[str] = field(default_factory=list)  # completed in the interrupted pass
    maps: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.entities.values())


ProgressHook = Callable[[str, int, int | None], None]  # (entity, rows advanced, entity total)


class _Importer:
    def __init__(
        self,
        conn: psycopg.AsyncConnection[Any],
        http: httpx.AsyncClient,
        tokens: TokenStore,
        tenant_id: str,
        realm_id: str,
        base_url: str,
        attempts: int,
    ) -> None:
        self.conn = conn
        self.http = http
        self.tokens = tokens
        self.tenant_id = tenant_id
        self.realm_id = realm_id
        self.url = f"{base_url.rstrip('/')}/v3/company/{realm_id}/query"
        self.attempts = attempts

    async def _once(self, query: str) -> Any:
        token = await self.tokens.access_token(self.conn, self.tenant_id)
        for refreshed in (False, True):
            try:
                resp = await self.http.get(
                    self.url,
                    params={"query": query, "minorversion": MINOR_VERSION},
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                )
            except httpx.HTTPError as exc:
                raise _Transient(f"{type(exc).__name__}: {exc}") from exc
            if resp.status_code == 401 and not refreshed:
                token = await self.tokens.refresh(self.tenant_id)
                continue
            break
        if resp.status_code == 429 or resp.status_code >= 500:
            retry_after = resp.headers.get("retry-after")
            raise _Transient(
                f"HTTP {resp.status_code}",
                float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        try:
            body = loads_exact(resp.content)
        except ValueError as exc:
            raise BackfillError(f"query {query!r}: HTTP {resp.status_code}, not JSON") from exc
        fault = normalise_fault(body)
        if resp.status_code != 200 or fault:
            errors = (fault or {}).get("Error") or [{}]
            detail = errors[0].get("Detail") or errors[0].get("Message") or resp.reason_phrase
            raise BackfillError(
                f"query {query!r} refused: HTTP {resp.status_code} "
                f"code {errors[0].get('code')}: {detail}"
            )
        return body

    async def query(self, query: str) -> Any:
        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            base = wait_exponential_jitter(multiplier=0.5, max=30)(state)
            hinted = exc.retry_after if isinstance(exc, _Transient) else None
            return max(base, hinted or 0.0)

        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(_Transient),
                wait=wait,
                stop=stop_after_attempt(self.attempts),
                reraise=True,
            ):
                with attempt:
                    return await self._once(query)
        except _Transient as exc:
            raise BackfillError(
                f"query {query!r}: gave up after {self.attempts} attempts ({exc}); "
                "run the command again to resume from the checkpoint"
            ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def count(self, entity: str) -> int | None:
        body = await self.query(count_query(entity))
        total = (body.get("QueryResponse") or {}).get("totalCount")
        return int(total) if total is not None else None


async def _resolve(
    conn: psycopg.AsyncConnection[Any], realm_id: str, tenant_id: str | None
) -> tuple[str, str]:
    cur = await conn.execute(
        "SELECT tenant_id, base_url FROM api.qbo_backfill__connections(%s)", (realm_id,)
    )
    rows = [r for r in await cur.fetchall() if tenant_id is None or r[0] == tenant_id]
    if not rows:
        who = f"tenant {tenant_id} " if tenant_id else ""
        raise BackfillError(f"no {who}connection to realm {realm_id}: run pgbooks connect first")
    if len(rows) > 1:
        raise BackfillError(
            f"realm {realm_id} is connected to several tenants "
            f"({', '.join(r[0] for r in rows)}): pass --tenant"
        )
    return str(rows[0][0]), str(rows[0][1])


async def run_import(
    db_url: str,
    realm_id: str,
    *,
    tenant_id: str | None = None,
    entities: list[str] | None = None,
    page_size: int = MAX_PAGE,
    restart: bool = False,
    pause: float = 0.0,
    attempts: int = 6,
    apply_maps: bool = True,
    on_total: Callable[[int], None] | None = None,
    on_rows: ProgressHook | None = None,
) -> ImportResult:
    """Import ``entities`` of ``realm_id`` into ``sync.qbo_mirror``; resumable, idempotent."""
    if not 1 <= page_size <= MAX_PAGE:
        raise BackfillError(f"--page-size must be 1..{MAX_PAGE}, got {page_size}")
    names = entities or list(ENTITIES)
    t0 = time.monotonic()
    async with (
        await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn,
        httpx.AsyncClient(timeout=60.0) as http,
    ):
        tenant, base_url = await _resolve(conn, realm_id, tenant_id)
        result = ImportResult(tenant, realm_id)
        imp = _Importer(conn, http, TokenStore(db_url, http), tenant, realm_id, base_url, attempts)
        points: dict[str, tuple[int, int, bool]] = {}
        for entity in names:
            cur = await conn.execute(
                "SELECT start_position, done_count, completed FROM api.qbo_import__checkpoint("
                "%s, %s, %s)",
                (tenant, realm_id, entity),
            )
            row = await cur.fetchone()
            assert row is not None
            points[entity] = (int(row[0]), int(row[1]), bool(row[2]))
        started = [p for p in points.values() if p[2] or p[0] > 1]
        fresh = restart or not started or all(p[2] for p in points.values())
        if fresh:
            # A new pass (first run, or the previous one completed): read everything again.
            await conn.execute(
                "SELECT api.qbo_import__reset(%s, %s, %s)", (tenant, realm_id, names)
            )
            points = dict.fromkeys(names, (1, 0, False))
        try:
            totals = {e: await imp.count(e) for e in names}
        except AuthLost as exc:
            raise BackfillError(str(exc)) from exc
        if on_total is not None:
            on_total(sum(t or 0 for t in totals.values()))
        for entity in names:
            start, done, completed = points[entity]
            if completed:
                result.skipped.append(entity)
                if on_rows is not None:
                    on_rows(entity, totals[entity] or done, totals[entity])
                continue
            if start > 1:
                result.resumed.append(entity)
                if on_rows is not None:
                    on_rows(entity, start - 1, totals[entity])
            stored = 0
            while True:
                try:
                    body = await imp.query(entity_query(entity, start, page_size))
                except AuthLost as exc:
                    raise BackfillError(str(exc)) from exc
                page = (body.get("QueryResponse") or {}).get(entity) or []
                if not isinstance(page, list):
                    raise BackfillError(f"query {entity}: QueryResponse.{entity} is not a list")
                last = len(page) < page_size
                await conn.execute(
                    "SELECT api.qbo_import__page(%s, %s, %s, %s, %s, %s)",
                    (
                        tenant,
                        realm_id,
                        entity,
                        Jsonb(page, dumps=dumps_exact),
                        start + len(page),
                        last,
                    ),
                )
                result.pages += 1
                stored += len(page)
                start += len(page)
                if on_rows is not None:
                    on_rows(entity, len(page), totals[entity])
                if last:
                    break
                if pause:
                    await asyncio.sleep(pause)
            result.entities[entity] = stored
        if apply_maps:
            cur = await conn.execute("SELECT api.qbo_mirror__apply_maps(%s)", (tenant,))
            row = await cur.fetchone()
            result.maps = dict(row[0]) if row and row[0] else {}
    result.seconds = round(time.monotonic() - t0, 3)
    return result


@dataclass
class RepostResult:
    tenant_id: str
    date_from: str
    date_to: str
    total: int = 0
    done_before: int = 0
    orders: int = 0
    steps: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # the orders' own documents
    dependencies: dict[str, int] = field(default_factory=dict)  # customers / items they need
    errors: list[dict[str, Any]] = field(default_factory=list)
    completed: bool = False
    resumed: bool = False
    seconds: float = 0.0

    @property
    def attention(self) -> int:
        return self.outcomes.get("attention", 0) + self.dependencies.get("attention", 0)


def run_repost(
    db_url: str,
    tenant_id: str,
    date_from: date,
    date_to: date,
    *,
    batch: int = 50,
    restart: bool = False,
    pause: float = 0.0,
    on_plan: Callable[[int, int], None] | None = None,
    on_step: Callable[[int], None] | None = None,
) -> RepostResult:
    """Repost the orders of ``tenant_id`` placed in ``[date_from, date_to)``; resumable."""
    result = RepostResult(tenant_id, date_from.isoformat(), date_to.isoformat())
    t0 = time.monotonic()
    with psycopg.connect(db_url, autocommit=True) as conn:
        plan_sql = "SELECT api.qbo_repost__plan(%s, %s, %s)"
        row = conn.execute(plan_sql, (tenant_id, date_from, date_to)).fetchone()
        plan: dict[str, Any] = row[0] if row else {}
        if restart or plan.get("completed"):
            conn.execute(
                "SELECT api.qbo_repost__reset(%s, %s, %s)", (tenant_id, date_from, date_to)
            )
            plan["done"] = 0
        result.total = int(plan.get("total", 0))
        result.done_before = int(plan.get("done", 0))
        result.resumed = result.done_before > 0
        if on_plan is not None:
            on_plan(result.total, result.done_before)
        while True:
            row = conn.execute(
                "SELECT api.qbo_repost__step(%s, %s, %s, %s)",
                (tenant_id, date_from, date_to, batch),
            ).fetchone()
            step: dict[str, Any] = row[0] if row else {"completed": True, "orders": 0}
            result.steps += 1
            result.orders += int(step.get("orders", 0))
            for k, v in (step.get("outcomes") or {}).items():
                result.outcomes[k] = result.outcomes.get(k, 0) + int(v)
            for k, v in (step.get("dependencies") or {}).items():
                result.dependencies[k] = result.dependencies.get(k, 0) + int(v)
            result.errors.extend(step.get("errors") or [])
            if on_step is not None:
                on_step(int(step.get("orders", 0)))
            if step.get("completed"):
                result.completed = True
                break
            if pause:
                time.sleep(pause)
    result.seconds = round(time.monotonic() - t0, 3)
    return result
