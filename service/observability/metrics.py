"""Prometheus metrics: what is counted, and ``exposition`` for ``GET /metrics``.

Under gunicorn (several API processes) and Celery prefork (several pool processes) a metric
counted in one process must reach a scrape served by another. With ``PROMETHEUS_MULTIPROC_DIR``
set, every process writes its counts to memory-mapped files there (named by
``multiproc.identity``) and a scrape sums the files of all processes: the workers count
evaluations and task durations, any API process serves them. The API and the workers must
therefore share that directory (one volume in docker-compose.yml). Without it (``policy-eval
serve``, the tests' in-process apps) the counts stay in this process's memory, which is right
for a single process.

Two metrics are not counted but read when scraped, by collectors that ``exposition`` adds: the
queue depth (from the broker) and batch progress (from a source the batch code registers with
``set_batch_progress_source``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from service.observability import multiproc

log = logging.getLogger(__name__)

if multiproc.directory() is not None:
    # Before any metric is made: each value then lives in a file named by host and pid.
    values.ValueClass = values.MultiProcessValue(process_identifier=multiproc.identity)

# Seconds. An evaluation answers in tens of milliseconds; a POST may wait up to SYNC_TIMEOUT
# (10 s by default) and a batch chunk or an impact report may take longer.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUEST_DURATION = Histogram(
    "policy_eval_http_request_duration_seconds",
    "HTTP requests by method, route (the URL rule, e.g. /v1/evaluations/<string:evaluation_id>) "
    "and status code, with their latency from arrival to the response.",
    ("method", "route", "status"), buckets=LATENCY_BUCKETS,
)
EVALUATIONS = Counter(
    "policy_eval_evaluations",
    "Evaluations completed by the workers: outcome (done, or invalid when the engine refused "
    "the proposal), rating and ruleset version (both empty when invalid).",
    ("outcome", "rating", "ruleset_version"),
)
TASK_DURATION = Histogram(
    "policy_eval_task_duration_seconds",
    "Celery task run time in the worker, by task name and final state (SUCCESS, FAILURE, …).",
    ("task", "state"), buckets=LATENCY_BUCKETS,
)
BATCH_ITEMS = Counter(
    "policy_eval_batch_items_processed",
    "Batch items finished by the workers, by outcome (as the batch code reports them).",
    ("outcome",),
)

UNMATCHED_ROUTE = "<unmatched>"  # 404s and 405s: a label per raw path would be unbounded


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    REQUEST_DURATION.labels(method, route or UNMATCHED_ROUTE, str(status)).observe(seconds)


def observe_evaluation(evaluation: Mapping[str, Any]) -> None:
    """Count one decided evaluation (an engine result) by its rating and ruleset version."""
    ruleset = evaluation.get("ruleset") or {}
    observe_decision(str(evaluation.get("rating", "")), str(ruleset.get("version", "")))


def observe_decision(rating: str, ruleset_version: str) -> None:
    """Count one decision by its rating and ruleset version. The evaluation task is counted
    through a Celery signal; batch chunks count each item they decide."""
    EVALUATIONS.labels("done", rating, ruleset_version).inc()


def observe_invalid_proposal() -> None:
    EVALUATIONS.labels("invalid", "", "").inc()


def observe_task(task: str, state: str, seconds: float) -> None:
    TASK_DURATION.labels(task, state).observe(seconds)


def observe_batch_items(count: int, *, outcome: str = "scored") -> None:
    """Workers: count ``count`` batch items finished with ``outcome`` (e.g. after each chunk)."""
    if count > 0:
        BATCH_ITEMS.labels(outcome).inc(count)


# --- read at scrape time ------------------------------------------------------------------


@dataclass(frozen=True)
class BatchProgress:
    """One unfinished batch, as the batch code's source reports it (no id: batch ids are their
    owners' to know, and /metrics is read without a key)."""

    total: int
    done: int  # finished items, failed ones included
    failed: int = 0


BatchProgressSource = Callable[[], Iterable[BatchProgress]]
_batch_source: BatchProgressSource | None = None


def set_batch_progress_source(source: BatchProgressSource | None) -> None:
    """Register what lists the unfinished batches; called at each scrape by the API process.

    Pull, not push: the batch records (in Redis) are the truth, and a gauge written by whichever
    worker last touched a batch would go stale when that worker exits. The source should be
    quick (one scan) and list only unfinished batches.
    """
    global _batch_source
    _batch_source = source


class BatchProgressCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        source = _batch_source
        if source is None:
            return
        try:
            batches = list(source())
        except Exception as error:  # a scrape must not fail because Redis blinked
            log.warning("batch progress not available: %s: %s", type(error).__name__, error)
            return
        running = GaugeMetricFamily("policy_eval_batches_in_progress",
                                    "Batches accepted and not yet finished.")
        running.add_metric([], len(batches))
        # Summed over the batches: a label per batch would publish their ids to anyone who
        # can scrape, and they are their owners' (another caller's id answers 404).
        items = GaugeMetricFamily(
            "policy_eval_batch_progress_items",
            "Items of the unfinished batches, all together: total, done (failed included), "
            "failed, pending.", labels=["state"])
        for state, count in (("total", sum(b.total for b in batches)),
                             ("done", sum(b.done for b in batches)),
                             ("failed", sum(b.failed for b in batches)),
                             ("pending", sum(max(0, b.total - b.done) for b in batches))):
            items.add_metric([state], count)
        yield running
        yield items


# kombu's Redis transport keeps a queue's prioritized messages in lists beside the queue's own
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)
_UNACKED = "unacked"  # kombu's hash of delivered, not yet acknowledged messages


class QueueDepthCollector(Collector):
    """Messages waiting in each Celery queue, read from the broker at scrape time.

    Redis: the lengths of the queue's lists, plus the messages workers hold unacknowledged
    (``task_acks_late``: running or reserved). Embedded: the in-memory transport's queues, which
    live in this process, with ``transport="memory"``.
    """

    def __init__(self, celery: Celery, redis_url: str | None) -> None:
        self.celery = celery
        self.redis_url = redis_url
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()

    def queues(self) -> list[str]:
        declared = self.celery.conf.task_queues or ()
        names = [queue.name for queue in declared]
        default = self.celery.conf.task_default_queue
        return names if default in names else [default, *names]

    def collect(self) -> Iterator[Metric]:
        transport = "redis" if self.redis_url else "memory"
        depth = GaugeMetricFamily("policy_eval_queue_depth",
                                  "Messages waiting in the queue for a worker.",
                                  labels=["queue", "transport"])
        reachable = GaugeMetricFamily("policy_eval_broker_reachable",
                                      "1 when the queue depth could be read from the broker.",
                                      labels=["transport"])
        try:
            sizes, unacked = (self._redis_sizes() if self.redis_url
                              else (self._memory_sizes(), None))
        except Exception as error:  # the scrape goes on: the other metrics are still true
            log.warning("queue depth not available: %s: %s", type(error).__name__, error)
            reachable.add_metric([transport], 0)
            yield reachable
            return
        for queue, size in sizes.items():
            depth.add_metric([queue, transport], size)
        reachable.add_metric([transport], 1)
        yield depth
        yield reachable
        if unacked is not None:
            held = GaugeMetricFamily(
                "policy_eval_tasks_unacknowledged",
                "Messages taken by workers and not yet acknowledged (running or reserved).")
            held.add_metric([], unacked)
            yield held

    def _redis_sizes(self) -> tuple[dict[str, int], int]:
        with self._lock:
            if self._client is None:
                assert self.redis_url is not None
                # short timeouts: a scrape should say "unreachable" quickly, not hang
                self._client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=1,
                                                    socket_timeout=2)
            client = self._client
        queues = self.queues()
        with client.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.llen(queue)
                for step in _PRIORITY_STEPS:
                    pipe.llen(f"{queue}{_PRIORITY_SEPARATOR}{step}")
            pipe.hlen(_UNACKED)
            found = pipe.execute()
        per_queue = 1 + len(_PRIORITY_STEPS)
        sizes = {queue: sum(found[i * per_queue:(i + 1) * per_queue])
                 for i, queue in enumerate(queues)}
        return sizes, int(found[-1])

    def _memory_sizes(self) -> dict[str, int]:
        sizes = {}
        with self.celery.connection_for_read() as connection:
            channel: Any = connection.default_channel
            for queue in self.queues():
                # a queue nobody declared yet holds nothing
                sizes[queue] = int(channel._size(queue)) if channel._has_queue(queue) else 0
        return sizes


class _ThisProcess(Collector):
    """This process's own metrics (the default registry), when they are not shared in files."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(accept: str | None, collectors: Sequence[Collector] = ()) -> tuple[bytes, str]:
    """The body and content type of a scrape: every process's counts (or this process's),
    then ``collectors`` and batch progress, in the format ``accept`` asks for (Prometheus text,
    or OpenMetrics)."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiproc.directory()
    if path is not None:
        MultiProcessCollector(registry, path=str(path))
    else:
        registry.register(_ThisProcess())
    for collector in (*collectors, BatchProgressCollector()):
        registry.register(collector)
    encoder, content_type = choose_encoder(accept or "")
    if path is None:
        return encoder(registry), content_type
    with multiproc.locked(path, exclusive=False):  # not while files are being folded
        return encoder(registry), content_type
