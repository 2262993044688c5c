"""The receiver's rate limit: token buckets per tenant (and per source IP for unknown routes).

A bucket holds up to ``burst`` tokens and gains ``rate`` tokens per second; each request takes
one. An empty bucket answers how long until the next token (the ``Retry-After`` of the 429).

In-process: each ``pgbooks receive`` process has its own buckets, so N receivers behind a load
balancer allow N times the rate. The refusals are counted (:class:`RefusalCounter`) and added to
``ingest.receiver_throttles`` every few seconds; the refused bodies are never stored, because
storing whatever a flood sends is exactly the cost the limit is there to bound.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Shopify sends one webhook per topic per change and bursts during sales, bulk edits and imports;
# 100/s sustained with a bucket of 1000 lets a tenant send 1000 deliveries at once, then 100 per
# second, far above what one receiver stores on 2 cores (README "Known limits").
DEFAULT_RATE = 100.0
DEFAULT_BURST = 1000
# Requests to an unknown tenant, channel or account, per source IP: a misconfigured platform
# (kept and answered 404 so it can be fixed) or a scan (bounded).
DEFAULT_UNKNOWN_RATE = 1.0
DEFAULT_UNKNOWN_BURST = 30
MAX_BUCKETS = 100_000  # per limiter: beyond, buckets that have refilled (= fresh) are forgotten

_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/s)?\s*(?:[:,]\s*(\d+))?\s*$")


@dataclass(frozen=True)
class Rate:
    """Sustained requests per second and bucket size; ``per_second == 0`` means unlimited."""

    per_second: float
    burst: int

    @property
    def unlimited(self) -> bool:
        return self.per_second <= 0

    def __str__(self) -> str:
        return "unlimited" if self.unlimited else f"{self.per_second:g}/s:{self.burst}"


def parse_rate(text: str, default_burst: int | None = None) -> Rate:
    """``"100"``, ``"100/s"``, ``"100:1000"`` or ``"100/s:1000"`` → :class:`Rate`; ``"0"`` = off.

    Without a burst, the burst is ``default_burst`` or ten seconds' worth (at least 1).
    """
    m = _RATE_RE.match(text)
    if not m:
        raise ValueError(
            f"rate {text!r}: expected RATE/s:BURST, e.g. 100/s:1000 (/s, :BURST optional; 0 = off)"
        )
    per_second = float(m.group(1))
    if m.group(2) is not None:
        burst = int(m.group(2))
    elif default_burst is not None:
        burst = default_burst
    else:
        burst = max(1, math.ceil(per_second * 10))
    if per_second > 0 and burst < 1:
        raise ValueError(f"rate {text!r}: the burst must be at least 1")
    return Rate(per_second, burst)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class TokenBuckets:
    """One token bucket per key, all with the same :class:`Rate`."""

    rate: Rate
    clock: Callable[[], float] = time.monotonic
    max_buckets: int = MAX_BUCKETS
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when allowed, else seconds until a token is due."""
        if self.rate.unlimited:
            return 0.0
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_buckets:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(float(self.rate.burst), now)
        else:
            elapsed = max(0.0, now - bucket.stamp)
            bucket.tokens = min(
                float(self.rate.burst), bucket.tokens + elapsed * self.rate.per_second
            )
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate.per_second

    def _forget_full(self, now: float) -> None:
        burst, per_second = float(self.rate.burst), self.rate.per_second
        full = [
            k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * per_second >= burst
        ]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self.max_buckets:  # all busy: drop the oldest half
            for k in sorted(self._buckets, key=lambda k: self._buckets[k].stamp)[
                : self.max_buckets // 2
            ]:
                del self._buckets[k]


TENANT_DEFAULT = Rate(DEFAULT_RATE, DEFAULT_BURST)
UNKNOWN_DEFAULT = Rate(DEFAULT_UNKNOWN_RATE, DEFAULT_UNKNOWN_BURST)


def retry_after(wait: float) -> str:
    """``Retry-After`` header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))


@dataclass
class _Count:
    refused: int
    last: datetime


Row = tuple[str, str, datetime, int, datetime]


@dataclass
class RefusalCounter:
    """429s per (bucket kind, key, minute) since the last :meth:`drain`."""

    wall_clock: Callable[[], float] = time.time
    _counts: dict[tuple[str, str, datetime], _Count] = field(default_factory=dict)
    total: int = 0

    def add(self, kind: str, key: str, n: int = 1, at: datetime | None = None) -> None:
        now = at or datetime.fromtimestamp(self.wall_clock(), UTC)
        window = now.replace(second=0, microsecond=0)
        entry = self._counts.setdefault((kind, key, window), _Count(0, now))
        entry.refused += n
        entry.last = max(entry.last, now)
        if at is None:
            self.total += n

    def drain(self) -> list[Row]:
        """The counts gathered so far (and forget them): rows for api.receiver_throttle__record."""
        rows = [
            (kind, key, window, c.refused, c.last)
            for (kind, key, window), c in self._counts.items()
        ]
        self._counts.clear()
        return rows

    def restore(self, rows: list[Row]) -> None:
        """Put back counts that could not be written (database unreachable): retried next time."""
        for kind, key, _window, n, last in rows:
            self.add(kind, key, n, at=last)
