"""Deterministic fault injection per realm (latency, 5xx, lost responses, 429, stale tokens)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .config import FaultConfig


@dataclass
class Decision:
    """What the injector decided for one request (before the operation runs)."""

    delay: float = 0.0
    throttle: bool = False
    error_status: int | None = None
    stale: bool = False


class Injector:
    """Holds one realm's fault config and RNG; every decision consumes the RNG in a fixed way
    so that the same request sequence under the same seed yields the same faults."""

    def __init__(self, seed: int, realm_id: str, cfg: FaultConfig | None = None) -> None:
        self.cfg = cfg or FaultConfig()
        self.rng = random.Random(f"{seed}:{realm_id}")
        self.log: list[str] = []

    def reseed(self, seed: int, realm_id: str) -> None:
        self.rng = random.Random(f"{seed}:{realm_id}")

    def before(self, is_write: bool, is_mutation_of_existing: bool) -> Decision:
        c = self.cfg
        d = Decision()
        r_latency = self.rng.random()
        r_error = self.rng.random()
        if c.latency_ms or c.latency_jitter_ms:
            d.delay = (c.latency_ms + c.latency_jitter_ms * r_latency) / 1000.0
        if c.throttle_next > 0:
            c.throttle_next -= 1
            d.throttle = True
        elif c.error_next > 0:
            c.error_next -= 1
            d.error_status = c.error_status
        elif c.error_rate and r_error < c.error_rate:
            d.error_status = c.error_status
        if is_mutation_of_existing and c.stale_next > 0 and not (d.throttle or d.error_status):
            c.stale_next -= 1
            d.stale = True
        self.log.append(
            "429"
            if d.throttle
            else str(d.error_status)
            if d.error_status
            else "stale"
            if d.stale
            else "ok"
        )
        return d

    def lose_response(self) -> bool:
        """Called after a write committed: should the reply be dropped?"""
        c = self.cfg
        r = self.rng.random()
        if c.lost_next > 0:
            c.lost_next -= 1
            self.log[-1:] = ["lost"]
            return True
        if c.lost_response_rate and r < c.lost_response_rate:
            self.log[-1:] = ["lost"]
            return True
        return False
