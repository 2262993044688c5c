"""Sandbox configuration (CLI flags, programmatic use, tests)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

DEMO_REALM = "9130357766900001"
DEFAULT_CLIENT_ID = "sandbox-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
WEBHOOK_RETRY_DELAYS = [0.0, 10.0, 20.0, 30.0, 300.0, 1200.0, 7200.0, 14400.0, 21600.0]


@dataclass
class ThrottleConfig:
    """QBO limits (reference §5); all per realm."""

    enabled: bool = True
    per_minute: int = 500
    per_second: int = 10
    concurrent: int = 10
    batch_per_minute: int = 40


@dataclass
class FaultConfig:
    """Fault injection for one realm. Rates are probabilities in [0, 1]; ``*_next`` are counts
    of upcoming requests that get the fault. Decisions come from a per-realm RNG seeded from
    the sandbox seed, so a given request sequence always sees the same faults."""

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0  # 5xx SystemFault
    error_status: int = 503
    error_next: int = 0
    lost_response_rate: float = 0.0  # writes only: commit, then drop the connection
    lost_next: int = 0
    throttle_next: int = 0  # 429 burst
    stale_next: int = 0  # updates/deletes/voids answered with 5010

    def update(self, data: dict[str, Any]) -> None:
        names = {f.name for f in fields(self)}
        for k, v in data.items():
            if k not in names:
                raise KeyError(k)
            setattr(self, k, type(getattr(self, k))(v))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SandboxConfig:
    """Everything configurable about one sandbox server."""

    host: str = "127.0.0.1"
    port: int = 8765
    seed: int = 0
    snapshot: str | None = None  # load at start if it exists, save on shutdown / admin call
    demo_realm: str = DEMO_REALM
    demo_company_name: str = "Sandbox Company US"
    multicurrency: bool = False
    throttle: ThrottleConfig = field(default_factory=ThrottleConfig)
    faults: dict[str, FaultConfig] = field(default_factory=dict)  # realm -> faults at start
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 8_726_400
    refresh_rotation_seconds: float = 0.0  # 0: every refresh returns a new refresh token
    refresh_grace_seconds: float = 0.0  # how long a superseded refresh token keeps working
    cdc_window_days: int | None = 30  # None disables the 30-day check
    webhook_retry_delays: list[float] = field(default_factory=lambda: list(WEBHOOK_RETRY_DELAYS))
    webhook_batch_seconds: float = 0.5  # aggregation window before a notification is sent
    webhook_timeout: float = 3.0
    access_log: bool = False
