"""What the API process holds for its lifetime: its settings, the ruleset file it started with,
its backends (``service.backends``) and its way into the workers (``service.api.workers``)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis

from service.api.workers import Workers
from service.backends import Backends
from service.config import Settings
from service.engine import Ruleset, load_ruleset
from service.registry.engines import seed

log = logging.getLogger(__name__)

ACTIVE_VERSION_TTL = 1.0  # seconds: how soon this API sees a newly activated version


@dataclass
class Runtime:
    settings: Settings
    seed: Ruleset  # the ruleset file, published (and activated if none is) at start
    backends: Backends
    workers: Workers
    _active: tuple[float, str] | None = None

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Load and publish the ruleset file, then (embedded) start the in-process worker.

        Raises ``RulesetError``/``OSError`` for a file that does not load and ``VersionConflict``
        when its version is already published with other content: a service unsure of its
        rules should not start. A Redis that is not up yet only delays the publishing.
        """
        from_file = load_ruleset(settings.ruleset)
        backends = Backends(settings)
        try:
            seed(backends.rulesets, settings.ruleset)
        except redis.RedisError as error:
            log.warning("ruleset store unreachable at start (%s); publishing %s on first use",
                        error, settings.ruleset)
        return cls(settings, from_file, backends, Workers(backends).start())

    def active_version(self) -> str:
        """The active version, read at most once a second: new evaluations are pinned to it."""
        now = time.monotonic()
        if self._active is None or now - self._active[0] > ACTIVE_VERSION_TTL:
            self._active = (now, self.backends.engines.active_version())
        return self._active[1]

    def forget_active(self) -> None:
        """After this API activates a version itself, it need not wait out the TTL."""
        self._active = None

    def active_ruleset(self) -> Ruleset:
        return self.backends.engines.ruleset(self.active_version())

    def close(self) -> None:
        self.workers.close()

    def embedded_worker_alive(self) -> bool | None:
        embedded = self.workers.embedded
        return None if embedded is None else embedded.alive

    def ping_redis(self) -> None:
        self.backends.ledger.ping()

    def ping_workers(self, timeout: float) -> list[str]:
        return self.workers.ping(timeout)

    def broker_health(self) -> dict[str, Any]:
        embedded = self.workers.embedded
        if embedded is not None:
            alive = embedded.alive
            return {"kind": "embedded", "reachable": alive,
                    "detail": "in-process worker " + ("running" if alive else "stopped")}
        try:
            self.backends.ledger.ping()
        except redis.RedisError as error:
            return {"kind": "redis", "reachable": False, "detail": type(error).__name__}
        return {"kind": "redis", "reachable": True}
