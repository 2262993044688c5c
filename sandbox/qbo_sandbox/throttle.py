"""Per-realm throttling: requests/minute, requests/second, concurrency, batch/minute."""

from __future__ import annotations

from collections import deque

from .config import ThrottleConfig


class RealmThrottle:
    """Sliding-window counters for one realm."""

    def __init__(self) -> None:
        self.minute: deque[float] = deque()
        self.second: deque[float] = deque()
        self.batch: deque[float] = deque()
        self.active = 0

    @staticmethod
    def _trim(q: deque[float], now: float, span: float) -> None:
        while q and q[0] <= now - span:
            q.popleft()

    def admit(self, cfg: ThrottleConfig, now: float, is_batch: bool) -> bool:
        """Count the request if it is within every limit; ``False`` means answer 429."""
        self._trim(self.minute, now, 60.0)
        self._trim(self.second, now, 1.0)
        if len(self.minute) >= cfg.per_minute or len(self.second) >= cfg.per_second:
            return False
        if self.active >= cfg.concurrent:
            return False
        if is_batch:
            self._trim(self.batch, now, 60.0)
            if len(self.batch) >= cfg.batch_per_minute:
                return False
            self.batch.append(now)
        self.minute.append(now)
        self.second.append(now)
        return True
