"""The Celery application: one factory for the API (which enqueues) and the workers (which run).

``celery -A service.worker.app worker`` finds ``app`` here; it is created on first access from
the environment, so importing this module reads no settings and connects to nothing.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from service.backends import Backends
from service.config import Settings
from service.worker import serialization as _serialization  # noqa: F401  (orjson for json)
from service.worker import signals as _signals  # noqa: F401  (logs, metrics, wake-ups)
from service.worker import tasks

QUEUE = "policy-evaluations"
# Chunk tasks have their own queue, which every worker also consumes. The Redis transport takes
# turns between queues, so a single POST /v1/evaluations waits behind at most the chunk each
# worker process is busy with, not behind a 100,000-proposal batch.
BATCH_QUEUE = "policy-batches"


def celery_config(settings: Settings, backends: Backends | None = None) -> dict[str, Any]:
    """The Celery settings: the delivery guarantees, and the transport the backends chose."""
    config: dict[str, Any] = {
        # JSON only: pickle would let whoever can write to Redis run code in the workers.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Acknowledge after the evaluation, and give the message back if the worker process
        # dies mid-task: an evaluation is never lost, at worst run twice (it is idempotent).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,  # a reserved message waits for a busy process
        # A pool process that died (a crash in the engine) is reported this long after it is
        # noticed (at once, or at the pool's 5 s check), the wait for a result it may have
        # sent first. Celery's 10 s, for each retry of a proposal that crashes the engine,
        # would hold a synchronous POST far past SYNC_TIMEOUT.
        "worker_lost_wait": 1.0,
        "task_time_limit": settings.task_time_limit,
        "task_soft_time_limit": settings.soft_time_limit,
        "task_track_started": True,  # lets GET tell "queued" from "running"
        "result_expires": settings.result_ttl,
        "task_default_queue": QUEUE,
        # Explicit exchanges and keys: given bare names, Celery binds every queue to the
        # default exchange and key, and each message would reach both queues (and run twice).
        "task_queues": tuple(Queue(name, Exchange(name, type="direct"), routing_key=name)
                             for name in (QUEUE, BATCH_QUEUE)),
        # a robustness job's units are many and long, as chunks are: behind them, not before
        # them, a synchronous evaluation would wait
        "task_routes": {tasks.SCORE_CHUNK: {"queue": BATCH_QUEUE},
                        tasks.ROBUSTNESS_UNIT: {"queue": BATCH_QUEUE}},
        "enable_utc": True,
        "timezone": "UTC",
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        # Recycle a pool process past this much memory, after its current task: what old
        # ruleset versions leave in durable-rules cannot be freed any other way.
        "worker_max_memory_per_child": settings.worker_max_memory_mb * 1024,
    }
    if settings.worker_concurrency:  # else Celery's default, one pool process per CPU
        config["worker_concurrency"] = settings.worker_concurrency
    config.update((backends or Backends(settings)).celery_transport())
    return config


def create_celery(settings: Settings | None = None, backends: Backends | None = None) -> Celery:
    """The app for ``settings`` (default: from the environment), holding ``backends`` (default:
    opened from the settings) for its tasks, which reach them with ``tasks.backends_of``."""
    settings = settings or Settings.from_env()
    backends = backends or Backends(settings)
    celery = Celery("policy-eval", set_as_current=False)
    celery.conf.update(celery_config(settings, backends))
    celery.backends = backends
    # shared_task registers the tasks with every app as it is finalized (here).
    for name in (tasks.EVALUATE, tasks.IMPACT, tasks.SCORE_CHUNK):
        if name not in celery.tasks:
            raise RuntimeError(f"task {name} is not registered")
    return celery


_app: Celery | None = None


def __getattr__(name: str) -> Any:
    """``app`` for the ``celery`` command, built from the environment on first access."""
    global _app
    if name == "app":
        if _app is None:
            _app = create_celery()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
