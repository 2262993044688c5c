"""The receiver's token buckets and refusal counts, without HTTP (the HTTP path: test_routing)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pgbooks.ingest.ratelimit import RefusalCounter, TokenBuckets, parse_rate, retry_after


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "per_second", "burst"),
    [
        ("100", 100.0, 1000),  # no burst: ten seconds' worth
        ("100/s", 100.0, 1000),
        ("2.5/s:7", 2.5, 7),
        (" 3 : 4 ", 3.0, 4),
        ("0.01", 0.01, 1),
        ("0", 0.0, 1),
    ],
)
def test_parse_rate(text: str, per_second: float, burst: int) -> None:
    rate = parse_rate(text)
    assert (rate.per_second, rate.burst) == (per_second, burst)


@pytest.mark.parametrize("text", ["", "fast", "-1", "10/m", "10:", "5:0"])
def test_parse_rate_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(parse_rate("2/s:3"), clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token every 0.5 s
    assert buckets.take("b") == 0.0  # its own bucket
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 100  # refills only up to the burst
    assert [buckets.take("a") == 0.0 for _ in range(4)] == [True, True, True, False]


def test_unlimited_never_refuses() -> None:
    buckets = TokenBuckets(parse_rate("0"), Clock())
    assert all(buckets.take("a") == 0.0 for _ in range(10_000))


def test_idle_buckets_are_forgotten_beyond_the_bound_busy_ones_kept() -> None:
    clock = Clock()
    buckets = TokenBuckets(parse_rate("1/s:2"), clock, max_buckets=3)
    buckets.take("busy")
    buckets.take("busy")
    clock.now += 0.1
    for key in ("idle1", "idle2"):
        buckets.take(key)
    clock.now += 5  # idle1/idle2 refilled (= fresh); busy too, after 5 s at 1/s
    buckets.take("busy")
    buckets.take("busy")
    buckets.take("new")
    assert set(buckets._buckets) == {"busy", "new"}
    assert buckets.take("busy") > 0  # its state survived the eviction


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert [retry_after(w) for w in (0.001, 1.0, 1.2, 99.5)] == ["1", "1", "2", "100"]


def test_refusals_are_counted_per_bucket_and_minute_and_restored_when_unwritten() -> None:
    clock = Clock(datetime(2026, 11, 23, 17, 0, 59, tzinfo=UTC).timestamp())
    counter = RefusalCounter(clock)
    counter.add("tenant", "acme")
    counter.add("tenant", "acme")
    clock.now += 2  # next minute
    counter.add("tenant", "acme")
    counter.add("ip", "10.0.0.1")
    rows = counter.drain()
    assert sorted((k, b, w.minute, n) for k, b, w, n, _ in rows) == [
        ("ip", "10.0.0.1", 1, 1),
        ("tenant", "acme", 0, 2),
        ("tenant", "acme", 1, 1),
    ]
    assert counter.drain() == []
    counter.restore(rows)
    counter.add("ip", "10.0.0.1")
    again = {(k, b, w.minute): n for k, b, w, n, _ in counter.drain()}
    assert again == {("ip", "10.0.0.1", 1): 2, ("tenant", "acme", 0): 2, ("tenant", "acme", 1): 1}
    assert counter.total == 5  # restored counts are not counted twice
