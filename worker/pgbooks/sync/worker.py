"""``pgbooks worker``: claim -> HTTP -> complete/fail, nothing else.

* N claim loops per process, each on its own connection, call ``api.outbox__claim``; every row
  is a decided request. Rows sharing a ``request_id`` with a ``bid`` form one batch request.
* A pgqueuer consumer (entrypoint ``sync_outbox``) turns wake-up jobs into an in-process event so
  idle loops start at once; a short poll covers a missed notification.
* A housekeeping loop heartbeats this worker's claims. The janitor (``api.outbox__reap``) runs on
  pgqueuer's scheduler (schedule ``sync_janitor``, one run per tick across all workers); without
  pgqueuer (``use_pgqueuer=False``) the housekeeping loop runs it. The same scheduler refreshes the
  reconciliation rollup (schedule ``recon_refresh``, ``api.recon_rollup__refresh_due``, every
  ``recon_every`` s, default 60) and re-reads each connected company's books closing date
  (schedule ``qbo_close_refresh``, every ``close_every`` s, default 900; ``api.qbo_close__apply``).
* A 6210 "Account Period Closed" answer -> the document is held (``api.outbox__fail``), then the
  company preferences are read again and ``api.qbo_close__apply`` decides (hold or move it to
  the first open day, per the tenant's closed-period policy).
* 401 -> one token refresh (under the realm's advisory lock) and one resend; 5010 on an update ->
  re-read, ``api.outbox__reapply`` decides, resend inside the same claim.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb, set_json_loads

from pgbooks.books.discover import apply_close_date
from pgbooks.sync.oauth import AuthLost, TokenStore
from pgbooks.sync.qbo import Answer, QboClient, dumps_exact, loads_exact

log = logging.getLogger("pgbooks.sync.worker")

Row = dict[str, Any]


@dataclass
class WorkerStats:
    requests: int = 0
    batches: int = 0
    accepted: int = 0
    failed: int = 0
    stale_retries: int = 0
    refreshes: int = 0
    lookups_found: int = 0
    seconds: float = 0.0  # from the start of run() until the claim loops were done (or stopped)
    claims: int = 0  # api.outbox__claim calls, and how many of them handed out nothing
    empty_claims: int = 0
    claim_seconds: float = 0.0  # wall time in claim calls / in completion flushes (all loops)
    complete_seconds: float = 0.0
    by_class: dict[str, int] = field(default_factory=dict)


@dataclass
class WorkerConfig:
    loops: int = 4
    claim_limit: int = 120
    rounds: int = 4  # overlapping claim rounds per loop
    http_timeout: float = 20.0
    housekeeping_every: float = 2.0
    idle_poll: float = 0.5
    busy_poll: float = 0.02
    throttle_poll: float = 0.05  # least wait when entries are due but their realms are throttled
    use_pgqueuer: bool = True
    janitor_every: int = 3  # seconds between janitor runs on pgqueuer's scheduler
    recon_every: int = 60  # seconds between reconciliation rollup refreshes (same scheduler)
    close_every: int = 900  # seconds between re-reads of the QuickBooks books closing date
    derive_every: int = 5  # seconds between books derive-queue sweeps (same scheduler)
    derive_limit: int = 1000  # derive requests per api.books__derive_pending call
    flush_every: float = 0.02  # acceptances gathered this long before one complete_many
    flushers: int = (
        1  # completion flushers per process, each on its own connection (more: lock convoy)
    )


class _Acks(list[tuple[Row, Any]]):
    """Acceptances waiting for the process's completion flusher (``api.outbox__complete_many``)."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = asyncio.Event()
        self.ids: set[Any] = set()  # their claim ids, still heartbeated until flushed

    def append(self, item: tuple[Row, Any]) -> None:
        super().append(item)
        self.ids.add(item[0]["claim_id"])
        self.ready.set()


def _jsonb(value: Any) -> Jsonb:
    return Jsonb(value, dumps=dumps_exact)


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """One worker process (any number may run against the same database)."""

    def __init__(
        self,
        db_url: str,
        name: str | None = None,
        config: WorkerConfig | None = None,
        tokens: TokenStore | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.db_url = db_url
        self.name = name or default_name()
        self.cfg = config or WorkerConfig()
        self._http = http
        self._tokens = tokens
        self.stats = WorkerStats()
        self.wake = asyncio.Event()
        self.stop = asyncio.Event()
        self.active: set[Any] = set()  # claim ids this process is still working on
        self._derive_conn: psycopg.AsyncConnection[Any] | None = None
        self._derive_lock = asyncio.Lock()
        self.acks = _Acks()

    # ------------------------------------------------------------------ lifecycle
    async def run(self, until_idle: bool = False, timeout: float | None = None) -> WorkerStats:
        """Run until :attr:`stop` is set, or (``until_idle``) until nothing is pending or in
        flight, or ``timeout`` seconds passed."""
        # httpcore looks at every pooled connection on each request (expiry, availability): a
        # pool kept small is cheaper per request than a big one (the realm caps bound concurrency).
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        own_http = self._http is None
        http = self._http or httpx.AsyncClient(timeout=self.cfg.http_timeout, limits=limits)
        tokens = self._tokens or TokenStore(self.db_url, http, own_connection=True)
        self.qbo = QboClient(http, concurrency=64)
        self.tokens = tokens
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        await self._derive_pending()  # orders written while no worker ran: documents first
        tasks = [
            asyncio.create_task(self._claim_loop(i, until_idle)) for i in range(self.cfg.loops)
        ]
        tasks.append(asyncio.create_task(self._housekeeping()))
        flushers = [asyncio.create_task(self._flusher()) for _ in range(self.cfg.flushers)]
        if self.cfg.use_pgqueuer:
            tasks.append(asyncio.create_task(self._pgqueuer()))
            tasks.append(asyncio.create_task(self._scheduler()))
        try:
            while not self.stop.is_set():
                if until_idle and all(t.done() for t in tasks[: self.cfg.loops]):
                    break
                if deadline is not None and time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.02)
        finally:
            self.stats.seconds = round(time.monotonic() - started, 3)
            self.stats.claim_seconds = round(self.stats.claim_seconds, 3)
            self.stats.complete_seconds = round(self.stats.complete_seconds, 3)
            self.stop.set()
            self.wake.set()
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            # acceptances already in hand are recorded before the process goes
            for f in flushers:
                f.cancel()
            for f in flushers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await f
            if self.acks:
                with contextlib.suppress(Exception):
                    last = await self._flush(None)
                    if last is not None:
                        await last.close()
            if self._derive_conn is not None:
                await self._derive_conn.close()
            if self._tokens is None:
                await tokens.close()
            if own_http:
                await http.aclose()
        self.stats.refreshes = tokens.refreshes
        return self.stats

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(self.db_url, autocommit=True)
        set_json_loads(loads_exact, conn)
        return conn

    async def _pgqueuer(self) -> None:
        from pgqueuer import QueueManager
        from pgqueuer.db import PsycopgDriver
        from pgqueuer.models import Job
        from pgqueuer.queries import Queries

        while not self.stop.is_set():
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.db_url, autocommit=True, options="-c search_path=pgq"
                )
            except psycopg.OperationalError:
                await asyncio.sleep(1.0)
                continue
            driver = PsycopgDriver(conn)
            try:
                qm = QueueManager(Queries(driver))

                @qm.entrypoint("sync_outbox")
                async def _wake(job: Job) -> None:
                    self.wake.set()

                @qm.entrypoint("books_derive")
                async def _derive(job: Job) -> None:
                    await self._derive_pending()

                runner = asyncio.create_task(qm.run(batch_size=50))
                stopper = asyncio.create_task(self.stop.wait())
                await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
                qm.shutdown.set()
                stopper.cancel()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(runner, 5)
            except Exception as exc:  # the wake-up path must never take the worker down
                log.warning("pgqueuer consumer: %s; restarting", exc)
            finally:
                # stop the driver's NOTIFY watcher before its connection closes under it (else
                # pgqueuer logs the watcher's connection error as a traceback at every stop)
                driver.shutdown.set()
                for task in list(driver.tm.tasks):
                    task.cancel()
                with contextlib.suppress(Exception):
                    await driver.tm.gather_tasks()
                await conn.close()
            if not self.stop.is_set():
                await asyncio.sleep(0.5)

    async def _flusher(self) -> None:
        """A completion flusher (``flushers`` per process), on its own connection: the
        acceptances of every claim loop gathered for ``flush_every`` are closed in ONE transaction
        (``api.outbox__complete_many``); while one flusher's transaction runs, the next takes
        what came in meanwhile. Claims never queue behind completions on a shared connection, and
        a closed claim frees its realm's in-flight slot at once."""
        conn: psycopg.AsyncConnection[Any] | None = None
        try:
            while True:
                await self.acks.ready.wait()
                await asyncio.sleep(self.cfg.flush_every)
                if not self.acks:
                    continue  # another flusher took them
                self.acks.ready.clear()
                conn = await self._flush(conn)
        finally:
            if conn is not None:
                await conn.close()

    async def _flush(
        self, conn: psycopg.AsyncConnection[Any] | None
    ) -> psycopg.AsyncConnection[Any] | None:
        batch = self.acks[:]
        del self.acks[: len(batch)]
        if not batch:
            return conn
        ids = {r["claim_id"] for r, _ in batch}
        try:
            if conn is None or conn.closed or conn.broken:
                conn = await self._connect()
            await self._complete_many(conn, batch)
        except psycopg.OperationalError as exc:
            # Connection lost: these claims stop being heartbeated below, expire, and are
            # replayed with the same requestid (QuickBooks answers from its replay cache).
            log.warning("completion of %s claim(s) lost (%s)", len(batch), exc)
            if conn is not None:
                await conn.close()
            conn = None
        finally:
            self.acks.ids -= ids
            self.active -= ids
            self.wake.set()  # in-flight slots are free again
        return conn

    async def _reap(self, conn: psycopg.AsyncConnection[Any]) -> None:
        cur = await conn.execute("SELECT api.outbox__reap(%s)", (f"janitor@{self.name}",))
        row = await cur.fetchone()
        if row and row[0]:
            log.warning("janitor released %s stale claim(s)", row[0])
            self.wake.set()

    async def _derive_pending(self) -> int:
        """Derive the queued books requests (``api.books__derive_pending``) until the queue is
        empty; wakes the claim loops when documents were written. Never raises."""
        total = 0
        async with self._derive_lock:
            try:
                if self._derive_conn is None or self._derive_conn.closed:
                    self._derive_conn = await self._connect()
                while True:
                    cur = await self._derive_conn.execute(
                        "SELECT api.books__derive_pending(NULL, %s)", (self.cfg.derive_limit,)
                    )
                    row = await cur.fetchone()
                    if not row or not row[0]:
                        break
                    total += row[0]
            except psycopg.Error as exc:  # derivation must never take the worker down
                log.warning("books derivation: %s", exc)
                if self._derive_conn is not None:
                    await self._derive_conn.close()
                self._derive_conn = None
        if total:
            self.wake.set()
        return total

    def _derive_job(self) -> Any:
        from pgqueuer.models import Schedule

        async def books_derive_sweep(schedule: Schedule) -> None:
            # safety net behind the books_derive wake-ups (a lost job, a failed derivation)
            await self._derive_pending()

        return books_derive_sweep

    def _janitor_job(self, conn: psycopg.AsyncConnection[Any]) -> Any:
        from pgqueuer.models import Schedule

        async def sync_janitor(schedule: Schedule) -> None:
            await self._reap(conn)

        return sync_janitor

    def _recon_job(self, conn: psycopg.AsyncConnection[Any]) -> Any:
        from pgqueuer.models import Schedule

        async def recon_refresh(schedule: Schedule) -> None:
            # folds the days changed since the last refresh into books.recon_rollup, so the
            # per-tenant summary's live part stays small without an operator running it
            cur = await conn.execute("SELECT api.recon_rollup__refresh_due()")
            row = await cur.fetchone()
            if row and row[0]:
                log.info("recon rollups: %s changed day(s) and payout(s) refreshed", row[0])

        return recon_refresh

    def _close_job(self, conn: psycopg.AsyncConnection[Any]) -> Any:
        from pgqueuer.models import Schedule

        async def qbo_close_refresh(schedule: Schedule) -> None:
            await self.refresh_close_dates(conn)

        return qbo_close_refresh

    async def refresh_close_dates(self, conn: psycopg.AsyncConnection[Any]) -> int:
        """Re-read the books closing date of every connected realm; returns how many changed."""
        cur = await conn.execute(
            "SELECT tenant_id, realm_id, base_url FROM api.qbo_close__realms() WHERE NOT paused"
        )
        changed = 0
        for tenant_id, realm_id, base_url in await cur.fetchall():
            result = await self._close_date(conn, tenant_id, base_url, realm_id, "schedule")
            changed += bool(result and result.get("changed"))
        return changed

    async def _close_date(
        self,
        conn: psycopg.AsyncConnection[Any],
        tenant_id: str,
        base_url: str,
        realm_id: str,
        source: str,
    ) -> dict[str, Any] | None:
        """Read the company preferences and let ``api.qbo_close__apply`` store the closing date
        and re-decide the documents it closes (never raises: logged instead)."""

        async def call(token: str) -> Answer:
            return await self.qbo.preferences(base_url, realm_id, token)

        try:
            answer = await self._with_auth(conn, tenant_id, call)
            if not answer.ok or not isinstance(answer.body, dict):
                log.warning(
                    "preferences of realm %s not read (%s %s): closing date not refreshed",
                    realm_id,
                    answer.status,
                    answer.fault_code or answer.transport_error,
                )
                return None
            result = await apply_close_date(
                conn, tenant_id, realm_id, answer.body.get("Preferences") or {}, source
            )
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            log.warning("closing date of realm %s not applied: %s", realm_id, exc)
            return None
        if result.get("changed"):
            log.info(
                "QuickBooks books closing date of %s is now %s (was %s; %s)",
                tenant_id,
                result.get("book_close_date"),
                result.get("previous"),
                source,
            )
        if result.get("moved") or result.get("released"):
            self.wake.set()
        return result

    @staticmethod
    def _every(seconds: int) -> str:
        """A cron expression for "every N seconds" (6 fields below a minute, else minutes)."""
        if seconds < 60:
            return f"* * * * * */{max(seconds, 1)}"
        return f"*/{max(seconds // 60, 1)} * * * *"

    async def _scheduler(self) -> None:
        """The janitor on pgqueuer's scheduler: one run per tick across ALL workers (the schedule
        row is taken by one of them), every ``janitor_every`` seconds (6-field cron)."""
        from pgqueuer import SchedulerManager
        from pgqueuer.db import PsycopgDriver
        from pgqueuer.queries import Queries

        while not self.stop.is_set():
            try:
                sm_conn = await psycopg.AsyncConnection.connect(
                    self.db_url, autocommit=True, options="-c search_path=pgq"
                )
                conn = await self._connect()
            except psycopg.OperationalError:
                await asyncio.sleep(1.0)
                continue
            try:
                sm = SchedulerManager(Queries(PsycopgDriver(sm_conn)))

                sm.schedule("sync_janitor", self._every(self.cfg.janitor_every))(
                    self._janitor_job(conn)
                )
                sm.schedule("recon_refresh", self._every(self.cfg.recon_every))(
                    self._recon_job(conn)
                )
                sm.schedule("qbo_close_refresh", self._every(self.cfg.close_every))(
                    self._close_job(conn)
                )
                sm.schedule("books_derive_sweep", self._every(self.cfg.derive_every))(
                    self._derive_job()
                )

                runner = asyncio.create_task(sm.run())
                stopper = asyncio.create_task(self.stop.wait())
                await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
                sm.shutdown.set()
                stopper.cancel()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(runner, 5)
            except Exception as exc:  # the janitor must never take the worker down
                log.warning("janitor scheduler: %s; restarting", exc)
            finally:
                await conn.close()
                await sm_conn.close()
            if not self.stop.is_set():
                await asyncio.sleep(0.5)

    async def _housekeeping(self) -> None:
        conn: psycopg.AsyncConnection[Any] | None = None
        while not self.stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = await self._connect()
                await conn.execute(
                    "SELECT api.outbox__heartbeat(%s, %s)", (self.name, list(self.active))
                )
                if not self.cfg.use_pgqueuer:
                    await self._reap(conn)  # no scheduler: every worker reaps on its own
                    await self._derive_pending()  # and sweeps the derive queue
            except psycopg.Error as exc:
                log.warning("housekeeping: %s", exc)
                if conn is not None:
                    await conn.close()
                conn = None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.cfg.housekeeping_every)
        if conn is not None:
            await conn.close()

    # ------------------------------------------------------------------ claim loop
    async def _claim_loop(self, index: int, until_idle: bool) -> None:
        # A lost database connection (restart, failover) is not fatal: reconnect and go on. A
        # request whose completion was lost stays claimed until the janitor releases it as
        # ambiguous, and its replay (same requestid) cannot duplicate it.
        while not self.stop.is_set():
            try:
                conn = await self._connect()
            except psycopg.OperationalError as exc:
                log.warning("claim loop %s: database unreachable (%s); retrying", index, exc)
                await asyncio.sleep(0.5)
                continue
            try:
                await self._claim_rounds(conn, until_idle)
                return
            except psycopg.OperationalError as exc:
                log.warning("claim loop %s: connection lost (%s); reconnecting", index, exc)
                await asyncio.sleep(0.2)
            finally:
                await conn.close()

    async def _claim_rounds(self, conn: psycopg.AsyncConnection[Any], until_idle: bool) -> None:
        # Rounds overlap: the loop claims again while earlier rounds wait for their tokens or
        # their answers (at most ``rounds`` at a time); the realm limits are enforced in SQL.
        rounds: set[asyncio.Task[None]] = set()
        try:
            while not self.stop.is_set():
                for t in [t for t in rounds if t.done()]:
                    rounds.discard(t)
                    t.result()  # a lost connection surfaces here
                if len(rounds) >= self.cfg.rounds:
                    await asyncio.wait(rounds, return_when=asyncio.FIRST_COMPLETED)
                    continue
                cur = conn.cursor(row_factory=dict_row)
                t0 = time.monotonic()
                await cur.execute(
                    "SELECT * FROM api.outbox__claim(%s, %s)", (self.name, self.cfg.claim_limit)
                )
                rows = await cur.fetchall()
                self.stats.claim_seconds += time.monotonic() - t0
                self.stats.claims += 1
                self.stats.empty_claims += not rows
                if rows:
                    rounds.add(asyncio.create_task(self._round(conn, rows)))
                    continue
                cur = conn.cursor(row_factory=dict_row)
                await cur.execute("SELECT * FROM api.outbox__backlog()")
                backlog = await cur.fetchone() or {}
                due, in_flight = backlog.get("due") or 0, backlog.get("in_flight") or 0
                next_due = backlog.get("next_due_at")
                next_ready = backlog.get("next_ready_at")
                if until_idle and not due and not in_flight and next_due is None and not rounds:
                    return
                now = time.time()
                wait = self.cfg.idle_poll
                if next_ready is not None:
                    # an entry of a realm that is not throttled falls due (debounce over): on time
                    wait = min(wait, max(0.005, next_ready.timestamp() - now))
                if next_due is not None:
                    # next_due_at: when a claim can next hand something out (a due entry whose
                    # realm's bucket may be visited). Claimable now yet nothing claimed: locked
                    # by another loop or at the realm's in-flight cap: poll briefly. Throttled
                    # realms: wait at least throttle_poll (jittered across loops) so several
                    # realms' buckets come due for ONE claim instead of one claim per realm (a
                    # visit reserves 0.5 s of tokens and is allowed with 0.25 s of them left: no
                    # gap in the sending).
                    ahead = next_due.timestamp() - now
                    if ahead <= 0:
                        wait = min(wait, self.cfg.busy_poll)
                    else:
                        floor = self.cfg.throttle_poll * (1 + random.random())
                        wait = min(wait, max(ahead, floor))
                self.wake.clear()
                waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(self.wake.wait())}
                await asyncio.wait(
                    waiters | rounds, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                for w in waiters:
                    w.cancel()
        finally:
            for t in rounds:
                t.cancel()
            for t in rounds:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t

    async def _round(self, conn: psycopg.AsyncConnection[Any], rows: Sequence[Row]) -> None:
        ids = {r["claim_id"] for r in rows}
        self.active |= ids
        try:
            await self._process(conn, rows)
        finally:
            self.active -= ids - self.acks.ids  # accepted ones: until the flusher closed them
            self.wake.set()  # an in-flight slot may be free again

    async def _process(self, conn: psycopg.AsyncConnection[Any], rows: Sequence[Row]) -> None:
        now = time.monotonic()
        rows = [{**r, "send_at": now + float(r.get("send_delay") or 0)} for r in rows]
        singles: list[Row] = []
        batches: dict[tuple[str, str], list[Row]] = {}
        for r in rows:
            if r["bid"] is None:
                singles.append(r)
            else:
                batches.setdefault((r["tenant_id"], r["request_id"]), []).append(r)
        accepted = self.acks  # closed by the process's flusher (one transaction per flush)
        # Ambiguous creates are looked up first (the requestid replay cache may have expired).
        lookups = [r for r in rows if r.get("lookup")]
        if lookups:
            found = await asyncio.gather(*(self._lookup(conn, r, accepted) for r in lookups))
            settled = {r["claim_id"] for r, hit in zip(lookups, found, strict=True) if hit}
            # The rest replay as sent: the key of a batch item is requestid + bId, so a batch
            # replayed without some of its items is still answered item by item from the cache.
            singles = [r for r in singles if r["claim_id"] not in settled]
            batches = {
                k: kept
                for k, v in batches.items()
                if (kept := [r for r in v if r["claim_id"] not in settled])
            }
        jobs = [self._single(conn, r, accepted) for r in singles]
        jobs += [self._batch(conn, items, accepted) for items in batches.values()]
        # One connection per loop for claims and failures (psycopg serialises its calls; HTTP
        # overlaps); acceptances go to the process's flusher and its own connection.
        await asyncio.gather(*jobs)

    async def _lookup(
        self, conn: psycopg.AsyncConnection[Any], r: Row, accepted: list[tuple[Row, Any]]
    ) -> bool:
        """True when the request is settled without a send: QuickBooks already holds the object
        (-> accepted), or the lookup itself failed (-> recorded as a failure of the request)."""

        async def call(token: str) -> Answer:
            return await self.qbo.query(r["base_url"], r["realm_id"], token, r["lookup"])

        answer = await self._with_auth(conn, r["tenant_id"], call)
        if not answer.ok or not isinstance(answer.body, dict):
            await self._fail(conn, r, answer)
            return True
        rows = (answer.body.get("QueryResponse") or {}).get(r["entity"]) or []
        if not rows:
            return False  # nothing was created: the replay (same requestid) goes out
        if len(rows) > 1:
            log.warning(
                "document %s: %s objects match %r; the oldest is taken",
                r["document_id"],
                len(rows),
                r["lookup"],
            )
        rows.sort(key=lambda x: int(x["Id"]) if str(x.get("Id", "")).isdigit() else 0)
        self.stats.lookups_found += 1
        accepted.append((r, rows[0]))
        return True

    async def _token(self, conn: psycopg.AsyncConnection[Any], tenant_id: str) -> str | None:
        try:
            return await self.tokens.access_token(conn, tenant_id)
        except AuthLost:
            return None

    async def _with_auth(
        self, conn: psycopg.AsyncConnection[Any], tenant_id: str, call: Any
    ) -> Answer:
        """Run ``call(token)``; on 401 refresh once (single refresher) and retry once."""
        token = await self._token(conn, tenant_id)
        if token is None:
            return Answer(401, fault={"type": "AUTHENTICATION", "Error": [{"code": "3200"}]})
        answer: Answer = await call(token)
        self.stats.requests += 1
        if answer.status == 401:
            try:
                token = await self.tokens.refresh(tenant_id)
            except AuthLost:
                return answer
            answer = await call(token)
            self.stats.requests += 1
        return answer

    @staticmethod
    async def _turn(r: Row) -> None:
        """Wait for the request's token (api.outbox__claim reserves up to 1 s ahead)."""
        delay = float(r.get("send_at", 0.0)) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _single(
        self, conn: psycopg.AsyncConnection[Any], r: Row, accepted: list[tuple[Row, Any]]
    ) -> None:
        await self._turn(r)
        entity, op = r["entity"], r["operation"]
        request_id, body = r["request_id"], r["body"]
        for _ in range(5):
            rid, payload = request_id, body

            async def call(token: str, rid: str = rid, payload: Any = payload) -> Answer:
                return await self.qbo.write(
                    r["base_url"], r["realm_id"], token, entity, op, rid, payload
                )

            answer = await self._with_auth(conn, r["tenant_id"], call)
            if answer.ok and isinstance(answer.body, dict) and entity in answer.body:
                accepted.append((r, answer.body[entity]))
                return
            if answer.fault_code == "5010" and op != "create":
                nxt = await self._reapply(conn, r, body)
                if nxt is None:
                    return
                request_id, body = nxt
                continue
            await self._fail(conn, r, answer)
            return
        await self._fail(conn, r, Answer(400, fault={"Error": [{"code": "5010"}]}))

    async def _reapply(
        self, conn: psycopg.AsyncConnection[Any], r: Row, body: dict[str, Any]
    ) -> tuple[str, Any] | None:
        self.stats.stale_retries += 1
        remote_id = str(body.get("Id"))

        async def call(token: str) -> Answer:
            return await self.qbo.read(r["base_url"], r["realm_id"], token, r["entity"], remote_id)

        answer = await self._with_auth(conn, r["tenant_id"], call)
        if not (answer.ok and isinstance(answer.body, dict) and r["entity"] in answer.body):
            await self._fail(conn, r, answer)
            return None
        cur = await conn.execute(
            "SELECT request_id, body FROM api.outbox__reapply(%s, %s)",
            (r["claim_id"], _jsonb(answer.body[r["entity"]])),
        )
        row = await cur.fetchone()
        if row is None:
            self.stats.failed += 1
            return None
        return str(row[0]), row[1]

    async def _batch(
        self, conn: psycopg.AsyncConnection[Any], items: list[Row], accepted: list[tuple[Row, Any]]
    ) -> None:
        first = items[0]
        await self._turn(first)
        ops = [(r["bid"], r["entity"], r["operation"], r["body"]) for r in items]

        async def call(token: str) -> Answer:
            return await self.qbo.batch(
                first["base_url"], first["realm_id"], token, first["request_id"], ops
            )

        answer = await self._with_auth(conn, first["tenant_id"], call)
        self.stats.batches += 1
        if not answer.ok or not isinstance(answer.body, dict):
            for r in items:
                await self._fail(conn, r, answer)
            return
        by_bid = {str(x.get("bId")): x for x in answer.body.get("BatchItemResponse") or []}
        for r in items:
            item = by_bid.get(r["bid"])
            if item is None:
                await self._fail(conn, r, Answer(None, transport_error="disconnected"))
            elif r["entity"] in item:
                accepted.append((r, item[r["entity"]]))
            elif item.get("Fault", {}).get("Error", [{}])[0].get("code") == "5010":
                # Re-read and resend this one alone, inside the same claim.
                nxt = await self._reapply(conn, r, r["body"])
                if nxt is not None:
                    await self._single(conn, {**r, "request_id": nxt[0], "body": nxt[1]}, accepted)
            else:
                await self._fail(conn, r, Answer(200, item, item.get("Fault")))

    async def _complete_many(
        self, conn: psycopg.AsyncConnection[Any], accepted: list[tuple[Row, Any]]
    ) -> None:
        if not accepted:
            return
        ids = [r["claim_id"] for r, _ in accepted]
        entities = _jsonb([e for _, e in accepted])
        for attempt in range(3):
            try:
                t0 = time.monotonic()
                cur = await conn.execute(
                    "SELECT claim_id, state FROM api.outbox__complete_many(%s, %s, %s)",
                    (ids, entities, self.name),
                )
                states = await cur.fetchall()
                self.stats.complete_seconds += time.monotonic() - t0
                break
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
                # A concurrent document change (its trigger locks the outbox row) met our audited
                # writes; the transaction rolled back whole: try again.
                log.info("complete of %s claim(s) retried (%s)", len(ids), exc.sqlstate)
                await asyncio.sleep(0.01 * (attempt + 1))
            except psycopg.OperationalError:
                raise  # connection lost: the claims expire and are replayed (same requestid)
            except psycopg.Error as exc:
                log.warning("complete of %s claim(s) failed: %s", len(ids), exc)
                return
        else:
            return
        for _claim_id, state in states:
            if state == "lost":
                log.warning("claim %s was not held any more at completion", _claim_id)
            else:
                self.stats.accepted += 1

    async def _fail(self, conn: psycopg.AsyncConnection[Any], r: Row, answer: Answer) -> None:
        status = answer.status
        if status == 200 and answer.fault:
            status = 400  # a Fault inside a 200 (batch item) is a refusal
        try:
            cur = await conn.execute(
                "SELECT api.outbox__fail(%s, %s, %s, %s, %s, %s)",
                (
                    r["claim_id"],
                    status,
                    _jsonb(answer.fault) if answer.fault else None,
                    answer.retry_after,
                    answer.transport_error,
                    self.name,
                ),
            )
            row = await cur.fetchone()
            cls = str(row[0]) if row else "?"
            self.stats.by_class[cls] = self.stats.by_class.get(cls, 0) + 1
            self.stats.failed += 1
        except psycopg.Error as exc:
            log.warning("fail of document %s not recorded: %s", r["document_id"], exc)
            return
        if cls == "period":
            # 6210: the books closing date moved since it was last read. Read it again; SQL
            # decides (hold with an exception naming it, or move to the first open day).
            await self._close_date(conn, r["tenant_id"], r["base_url"], r["realm_id"], "fault_6210")


def run_worker(db_url: str, name: str | None = None, **cfg: Any) -> WorkerStats:
    """Blocking entry point (CLI)."""
    worker = Worker(db_url, name, WorkerConfig(**cfg))
    return asyncio.run(worker.run())


def stats_json(stats: WorkerStats) -> str:
    return json.dumps(stats.__dict__)
