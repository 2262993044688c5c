"""The sandbox as a whole: realms, clock, tokens, throttles, fault injectors, webhooks."""

from __future__ import annotations

import json
import os
from typing import Any

from . import jsonutil
from .chaos import Injector
from .clock import Clock
from .config import FaultConfig, SandboxConfig
from .demo import build_company
from .oauth import TokenStore
from .state import Realm
from .throttle import RealmThrottle
from .webhooks import Dispatcher


class Sandbox:
    """Process-wide state. All mutation happens on the event loop thread (no locks needed)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = Clock()
        self.realms: dict[str, Realm] = {}
        self.tokens = TokenStore(config, self.clock)
        self.throttles: dict[str, RealmThrottle] = {}
        self.injectors: dict[str, Injector] = {}
        self.webhooks = Dispatcher(config)
        if config.snapshot and os.path.exists(config.snapshot):
            self.load_snapshot(config.snapshot)
        if config.demo_realm not in self.realms:
            self.create_realm(
                config.demo_realm, config.demo_company_name, multicurrency=config.multicurrency
            )
        for realm_id, fc in config.faults.items():
            self.injector(realm_id).cfg = fc

    # ------------------------------------------------------------------ realms
    def create_realm(
        self,
        realm_id: str,
        name: str = "Sandbox Company",
        multicurrency: bool = False,
        home_currency: str = "USD",
    ) -> Realm:
        realm = build_company(realm_id, self.clock, name, home_currency, multicurrency)
        self.realms[realm_id] = realm
        return realm

    def reset(self) -> None:
        """Back to a fresh demo company; tokens and fault settings are kept."""
        self.realms.clear()
        self.throttles.clear()
        for realm_id, inj in self.injectors.items():
            inj.reseed(self.config.seed, realm_id)
        self.create_realm(
            self.config.demo_realm,
            self.config.demo_company_name,
            multicurrency=self.config.multicurrency,
        )

    def injector(self, realm_id: str) -> Injector:
        inj = self.injectors.get(realm_id)
        if inj is None:
            inj = self.injectors[realm_id] = Injector(self.config.seed, realm_id, FaultConfig())
        return inj

    def throttle(self, realm_id: str) -> RealmThrottle:
        t = self.throttles.get(realm_id)
        if t is None:
            t = self.throttles[realm_id] = RealmThrottle()
        return t

    def token_realm(self, header: str | None) -> str:
        if header and header.startswith("Bearer "):
            at = self.tokens.access.get(header[7:].strip())
            if at is not None:
                return at.realm_id
        return ""

    # ---------------------------------------------------------------- snapshot
    def snapshot(self) -> dict[str, Any]:
        return {
            "version": 1,
            "clock_offset": self.clock.offset,
            "realms": {rid: r.to_json() for rid, r in self.realms.items()},
        }

    def save_snapshot(self, path: str | None = None) -> str:
        target = path or self.config.snapshot
        if not target:
            raise ValueError("no snapshot path configured")
        tmp = f"{target}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(jsonutil.dumps(self.snapshot()))
        os.replace(tmp, target)
        return target

    def load_snapshot(self, path: str) -> None:
        with open(path, "rb") as fh:
            data = jsonutil.loads(fh.read())
        self.clock.offset = float(data.get("clock_offset", 0))
        self.realms = {rid: Realm.from_json(r, self.clock) for rid, r in data["realms"].items()}

    def summary(self) -> str:
        return json.dumps(
            {rid: {k: len(v) for k, v in r.entities.items()} for rid, r in self.realms.items()}
        )
