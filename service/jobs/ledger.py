"""The ledger: which job ids this service issued, when, and for whom.

Celery reports an id it has never seen as PENDING, exactly like a queued task; the ledger is
how ``GET /v1/evaluations/{id}`` tells "queued" from "no such evaluation" (404).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol

import redis


class Ledger(Protocol):
    """Job ids this service issued, each with what the API needs to answer for it later."""

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
