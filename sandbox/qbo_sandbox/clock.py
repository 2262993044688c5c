"""Sandbox clock: real time plus an adjustable offset (tests advance it to expire tokens)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone, tzinfo

try:
    from zoneinfo import ZoneInfo

    PACIFIC: tzinfo = ZoneInfo("America/Los_Angeles")
except Exception:  # pragma: no cover - tzdata missing
    PACIFIC = timezone(timedelta(hours=-7))


class Clock:
    """Monotonic-enough wall clock with an offset in seconds."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._cache_sec = -1
        self._cache_txt = ""

    def now(self) -> float:
        """Seconds since the epoch, shifted by the offset."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move sandbox time forward (or backward for negative values)."""
        self.offset += seconds

    def dt(self) -> datetime:
        """Current time in US-Pacific, like QBO."""
        return datetime.fromtimestamp(self.now(), PACIFIC)

    def response_time(self) -> str:
        """``time`` field of every response: milliseconds and Pacific offset."""
        now = self.now()
        ms = int(now * 1000) % 1000
        sec = int(now)
        if sec != self._cache_sec:
            d = datetime.fromtimestamp(sec, PACIFIC)
            self._cache_txt = d.strftime("%Y-%m-%dT%H:%M:%S") + "|" + _offset(d)
            self._cache_sec = sec
        base, off = self._cache_txt.split("|")
        return f"{base}.{ms:03d}{off}"

    def meta_time(self) -> str:
        """``MetaData`` timestamps: no milliseconds, Pacific offset."""
        d = self.dt()
        return d.strftime("%Y-%m-%dT%H:%M:%S") + _offset(d)

    def today(self) -> str:
        """Company-local date (YYYY-MM-DD)."""
        return self.dt().strftime("%Y-%m-%d")


def _offset(d: datetime) -> str:
    raw = d.strftime("%z")  # -0700
    return f"{raw[:3]}:{raw[3:]}"


def parse_time(text: str) -> datetime:
    """Parse QBO date/datetime text; naive values are taken as Pacific."""
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    if len(t) >= 5 and t[-5] in "+-" and t[-3] != ":" and "T" in t:
        t = t[:-2] + ":" + t[-2:]
    d = datetime.fromisoformat(t)
    if d.tzinfo is None:
        d = d.replace(tzinfo=PACIFIC)
    return d
