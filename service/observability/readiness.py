"""What ``/readyz`` checks: can this API get an evaluation done right now?

With Redis: Redis answers, and at least one worker answers a Celery ``ping`` broadcast within
``PING_TIMEOUT``. The ping goes to each worker's main process, which answers even while all its
pool processes are busy, so a loaded worker is not reported dead; a stopped or hung one is. The
ping asks for one reply only (``limit=1``), so a ready service answers as soon as the first worker
does; only a service with no worker waits out the timeout. Embedded: the in-process worker thread
is alive.

Results are kept for ``CACHE_SECONDS`` and one check runs at a time: many probes (several
orchestrators, a load balancer per zone) then cost one broadcast a second, not one each.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import redis


class Probed(Protocol):
    """What readiness asks of the API's runtime."""

    def embedded_worker_alive(self) -> bool | None:
        """Whether the in-process worker runs; None when the workers are separate processes."""

    def ping_redis(self) -> None: ...

    def ping_workers(self, timeout: float) -> list[str]:
        """The names of the workers that answered within ``timeout``."""

PING_TIMEOUT = 1.0  # seconds a worker has to answer
CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class Check:
    name: str  # redis | workers | worker (embedded)
    ok: bool
    detail: str


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    def failures(self) -> str:
        return "; ".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)

    def as_list(self) -> list[dict[str, Any]]:
        return [asdict(check) for check in self.checks]


class Readiness:
    def __init__(self, runtime: Probed, ping_timeout: float = PING_TIMEOUT,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        self.runtime = runtime
        self.ping_timeout = ping_timeout
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._last: tuple[float, Report] | None = None

    def check(self) -> Report:
        with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last[0] < self.cache_seconds:
                return self._last[1]
            report = self._check()
            self._last = (time.monotonic(), report)
            return report

    def _check(self) -> Report:
        alive = self.runtime.embedded_worker_alive()
        if alive is not None:
            return Report((Check("worker", alive, "in-process worker thread "
                                 + ("running" if alive else "stopped")),))
        started = time.perf_counter()
        try:
            self.runtime.ping_redis()
        except redis.RedisError as error:
            return Report((Check("redis", False, f"unreachable ({type(error).__name__})"),
                           Check("workers", False, "not checked: Redis is unreachable")))
        redis_check = Check("redis", True, f"answered in {_ms(started)}")
        return Report((redis_check, self._ping_workers()))

    def _ping_workers(self) -> Check:
        started = time.perf_counter()
        try:
            names = self.runtime.ping_workers(self.ping_timeout)
        except Exception as error:  # kombu wraps connection errors in its own types
            return Check("workers", False, f"could not ping ({type(error).__name__}: {error})")
        if not names:
            return Check("workers", False,
                         f"no worker answered a ping within {self.ping_timeout:g} s")
        return Check("workers", True, f"{names[0]} answered in {_ms(started)}")


def _ms(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.1f} ms"
