"""What the API process holds for its lifetime: settings, the ruleset it describes, the Celery
app it enqueues with, the record of submitted evaluations and (embedded mode) the worker."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from celery import Celery

from service.config import Settings
from service.engine import Ruleset, load_ruleset
from service.registry import engines
from service.registry.engines import EngineCache
from service.worker.app import create_celery
from service.worker.context import context_of
from service.worker.embedded import EmbeddedWorker

log = logging.getLogger(__name__)


class Ledger(Protocol):
    """Which evaluation ids this service issued, and when.

    Celery reports an id it has never seen as PENDING, exactly like a queued task; the ledger
    is how ``GET /v1/evaluations/{id}`` tells "queued" from "no such evaluation" (404).
    """

    def record(self, evaluation_id: str, entry: dict[str, Any]) -> None: ...

    def lookup(self, evaluation_id: str) -> dict[str, Any] | None: ...

    def ping(self) -> None: ...


class RedisLedger:
    """Entries in Redis with the results' TTL, so an id is known exactly as long as its result."""

    PREFIX = "policy-eval:evaluation:"

    def __init__(self, url: str, ttl: int) -> None:
        self.ttl = ttl
        # Short timeouts: when Redis is down the API should say 503 promptly, not hang.
        self._client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5,
                                            decode_responses=True)

    def record(self, evaluation_id: str, entry: dict[str, Any]) -> None:
        self._client.set(self.PREFIX + evaluation_id, json.dumps(entry), ex=self.ttl)

    def lookup(self, evaluation_id: str) -> dict[str, Any] | None:
        raw = self._client.get(self.PREFIX + evaluation_id)
        return json.loads(str(raw)) if raw is not None else None

    def ping(self) -> None:
        self._client.ping()


class MemoryLedger:
    """The embedded-mode ledger: this process's memory, like its queue and results.

    Every entry lives ``ttl`` seconds from its recording, so insertion order is expiry order:
    recording drops expired entries from the front only, not by a scan of all of them.
    """

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, evaluation_id: str, entry: dict[str, Any]) -> None:
        now = time.monotonic()
        with self._lock:
            while self._entries and next(iter(self._entries.values()))[0] <= now:
                self._entries.popitem(last=False)
            self._entries[evaluation_id] = (now + self.ttl, entry)

    def lookup(self, evaluation_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._entries.get(evaluation_id)
        return found[1] if found and found[0] > time.monotonic() else None

    def ping(self) -> None:
        return None


ACTIVE_VERSION_TTL = 1.0  # seconds: how soon this API sees a newly activated version


@dataclass
class Runtime:
    settings: Settings
    seed: Ruleset  # the ruleset file, published (and activated if none is) at start
    celery: Celery
    ledger: Ledger
    registry: EngineCache
    worker: EmbeddedWorker | None = None
    _active: tuple[float, str] | None = None

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Load and publish the ruleset file, then (embedded) start the in-process worker.

        Raises ``RulesetError``/``OSError`` for a file that does not load and ``VersionConflict``
        when its version is already published with other content: a service unsure of its
        rules should not start. A Redis that is not up yet only delays the publishing.
        """
        from_file = load_ruleset(settings.ruleset)
        celery = create_celery(settings)
        registry = context_of(celery.conf).engines
        try:
            engines.seed(registry.store, settings.ruleset)
        except redis.RedisError as error:
            log.warning("ruleset store unreachable at start (%s); publishing %s on first use",
                        error, settings.ruleset)
        if settings.redis_url is None:
            worker = EmbeddedWorker(celery).start()
            return cls(settings, from_file, celery, MemoryLedger(settings.result_ttl), registry,
                       worker)
        ledger = RedisLedger(settings.redis_url, settings.result_ttl)
        return cls(settings, from_file, celery, ledger, registry)

    def active_version(self) -> str:
        """The active version, read at most once a second: new evaluations are pinned to it."""
        now = time.monotonic()
        if self._active is None or now - self._active[0] > ACTIVE_VERSION_TTL:
            self._active = (now, self.registry.active_version())
        return self._active[1]

    def forget_active(self) -> None:
        """After this API activates a version itself, it need not wait out the TTL."""
        self._active = None

    def active_ruleset(self) -> Ruleset:
        return self.registry.ruleset(self.active_version())

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def broker_health(self) -> dict[str, Any]:
        if self.worker is not None:
            alive = self.worker.alive
            return {"kind": "embedded", "reachable": alive,
                    "detail": "in-process worker " + ("running" if alive else "stopped")}
        try:
            self.ledger.ping()
        except redis.RedisError as error:
            return {"kind": "redis", "reachable": False, "detail": type(error).__name__}
        return {"kind": "redis", "reachable": True}
