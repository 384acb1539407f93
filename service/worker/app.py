"""The Celery application: one factory for the API (which enqueues) and the workers (which run).

``celery -A service.worker.app worker`` finds ``app`` here; it is created on first access from
the environment, so importing this module reads no settings and connects to nothing.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from service.config import Settings
from service.decisions.log import open_log
from service.observability import worker as _observability  # noqa: F401  (signal handlers)
from service.registry.engines import EngineCache
from service.registry.store import open_store
from service.worker import batches, tasks
from service.worker import replies as _replies  # noqa: F401  (wakes waiting requests)
from service.worker import serialization as _serialization  # noqa: F401  (orjson for json)
from service.worker.context import CONTEXT_KEY, WorkerContext, register
from service.worker.results import result_backend_url
from service.worker.tasks import ENGINE_KEY, RULESET_KEY

QUEUE = "policy-evaluations"


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery settings for ``settings``; DESIGN §6 fixes the delivery guarantees."""
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
        "enable_utc": True,
        "timezone": "UTC",
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        # Recycle a pool process past this much memory, after its current task: what old
        # ruleset versions leave in durable-rules cannot be freed any other way.
        "worker_max_memory_per_child": settings.worker_max_memory_mb * 1024,
        RULESET_KEY: str(settings.ruleset),
        ENGINE_KEY: settings.engine,
    }
    if settings.worker_concurrency:  # else Celery's default, one pool process per CPU
        config["worker_concurrency"] = settings.worker_concurrency
    config.update(batches.batch_celery_config(QUEUE))  # batch chunks: their own queue (issue 3)
    if settings.redis_url is None:
        config.update(
            broker_url="memory://",
            # cache+memory is one dict per process shared by all threads: the API thread reads
            # what the in-process worker thread wrote.
            result_backend="cache+memory://",
            # the API runs a synchronous evaluation in its request thread (service.api.jobs):
            # its result is stored as the worker thread's are, for GET to find
            task_store_eager_result=True,
            # The in-memory transport polls; its default of once a second would add up to a
            # second to every evaluation.
            broker_transport_options={"polling_interval": 0.001},
        )
    else:
        config.update(
            broker_url=settings.redis_url,
            result_backend=result_backend_url(settings.redis_url),
            broker_connection_timeout=3,
            redis_socket_connect_timeout=3,
            broker_transport_options=broker_transport_options(settings.visibility_timeout),
            # Fail fast when Redis is gone (the API answers 503) instead of retrying for 20 s.
            result_backend_transport_options={
                "retry_policy": {"max_retries": 3, "interval_start": 0, "interval_step": 0.5,
                                 "interval_max": 1}
            },
        )
    return config


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


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or Settings.from_env()
    celery = Celery("policy-eval", set_as_current=False)
    celery.conf.update(celery_config(settings))
    cache = EngineCache(open_store(settings.redis_url), settings.engine, settings.ruleset)
    decisions = open_log(settings.redis_url, settings.result_ttl)
    celery.conf[CONTEXT_KEY] = register(WorkerContext(cache, decisions,
                                                      settings.decision_log_mask))
    # shared_task registers the evaluate task with every app as it is finalized (here).
    if tasks.TASK_NAME not in celery.tasks:
        raise RuntimeError(f"task {tasks.TASK_NAME} is not registered")
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
