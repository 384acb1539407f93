"""The composition root: every backend a process uses, opened from ``Settings`` in one place.

The API and the workers hold one ``Backends`` each (the embedded API and its in-process worker
share one): the ledger of issued job ids, the replies that wake a waiting request, the ruleset
store and the engines built from it, the decision log, the batch store, and the Celery
transport (broker and result backend), and the parts of analysis jobs shared out over the
workers. Two decisions live here and nowhere else:

- **Redis or memory.** With a ``REDIS_URL`` every backend is on Redis, shared by all API and
  worker processes. Without one (embedded mode) each is in this process's memory, and the
  queue is Celery's in-memory transport: one process, nothing to install.
- **Fork safety.** A Celery worker builds its app (and so its ``Backends``) before it forks its
  pool; a connection or a lock inherited across a fork would be shared with the parent. So the
  backends are opened lazily, per process: a process that did not open them (a forked child)
  opens its own on first use. Engines too: durable-rules keeps per-process state.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from service.batch.memory_store import MemoryBatchStore
from service.batch.redis_store import RedisBatchStore
from service.batch.store import BatchStore
from service.config import Settings
from service.decisions.log import DecisionLog, MemoryDecisionLog, RedisDecisionLog
from service.jobs.ledger import Ledger, MemoryLedger, RedisLedger
from service.jobs.parts import JobParts, MemoryJobParts, RedisJobParts
from service.jobs.replies import LocalReplies, RedisReplies, Replies
from service.registry.engines import EngineCache
from service.registry.store import MemoryStore, RedisStore, RulesetStore

# Celery's Redis result backend, without the pub/sub subscription it opens on every send
# (service.worker.results explains why); named by path so this module imports no Celery.
RESULT_BACKEND_CLASS = "service.worker.results:PollingRedisBackend"


@dataclass(frozen=True)
class _Opened:
    ledger: Ledger
    replies: Replies
    rulesets: RulesetStore
    engines: EngineCache
    decisions: DecisionLog
    batches: BatchStore
    job_parts: JobParts


def _open(settings: Settings) -> _Opened:
    url = settings.redis_url
    if url is None:
        rulesets: RulesetStore = MemoryStore()
        return _Opened(MemoryLedger(settings.result_ttl), LocalReplies(), rulesets,
                       EngineCache(rulesets, settings.engine, settings.ruleset),
                       MemoryDecisionLog(), MemoryBatchStore(),
                       MemoryJobParts(settings.result_ttl))
    rulesets = RedisStore(url)
    return _Opened(RedisLedger(url, settings.result_ttl), RedisReplies(url), rulesets,
                   EngineCache(rulesets, settings.engine, settings.ruleset),
                   RedisDecisionLog(url, settings.result_ttl), RedisBatchStore(url),
                   RedisJobParts(url, settings.result_ttl))


class Backends:
    """This deployment's backends, as seen from the current process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._opened: tuple[int, _Opened] | None = None
        self._lock = threading.Lock()

    @property
    def embedded(self) -> bool:
        return self.settings.redis_url is None

    @property
    def transport(self) -> str:
        """How the queue is reached, as metrics and health checks name it."""
        return "memory" if self.embedded else "redis"

    def _current(self) -> _Opened:
        pid = os.getpid()
        with self._lock:
            if self._opened is None or self._opened[0] != pid:
                self._opened = (pid, _open(self.settings))
            return self._opened[1]

    @property
    def ledger(self) -> Ledger:
        return self._current().ledger

    @property
    def replies(self) -> Replies:
        return self._current().replies

    @property
    def rulesets(self) -> RulesetStore:
        return self._current().rulesets

    @property
    def engines(self) -> EngineCache:
        return self._current().engines

    @property
    def decisions(self) -> DecisionLog:
        return self._current().decisions

    @property
    def batches(self) -> BatchStore:
        return self._current().batches

    @property
    def job_parts(self) -> JobParts:
        return self._current().job_parts

    def celery_transport(self) -> dict[str, Any]:
        """The Celery settings that put the queue and the results where the backends are."""
        url = self.settings.redis_url
        if url is None:
            return {
                "broker_url": "memory://",
                # cache+memory is one dict per process shared by all threads: the API thread
                # reads what the in-process worker thread wrote.
                "result_backend": "cache+memory://",
                # a synchronous evaluation runs eagerly in its request thread: its result is
                # stored as the worker thread's are, for GET to find
                "task_store_eager_result": True,
                # The in-memory transport polls; its default of once a second would add up to a
                # second to every evaluation.
                "broker_transport_options": {"polling_interval": 0.001},
            }
        return {
            "broker_url": url,
            "result_backend": f"{RESULT_BACKEND_CLASS}+{url}",
            "broker_connection_timeout": 3,
            "redis_socket_connect_timeout": 3,
            "broker_transport_options": broker_transport_options(
                self.settings.visibility_timeout),
            # Fail fast when Redis is gone (the API answers 503) instead of retrying for 20 s.
            "result_backend_transport_options": {
                "retry_policy": {"max_retries": 3, "interval_start": 0, "interval_step": 0.5,
                                 "interval_max": 1}
            },
        }


def broker_transport_options(visibility_timeout: float) -> dict[str, Any]:
    """A message taken by a worker that vanished (SIGKILL, lost host) comes back to the queue
    ``visibility_timeout`` seconds after it was taken, at the next sweep of a live worker.

    kombu sweeps every 10 s but scans Redis on every 10th sweep only, so a message would wait
    up to 100 s past its timeout; sweeping five times per timeout, each a scan, keeps the wait
    near the timeout at one cheap query per sweep.
    """
    return {"visibility_timeout": visibility_timeout,
            "unacked_restore_interval": max(1, min(10, int(visibility_timeout / 5))),
            "unacked_restore_throttle": 1}
