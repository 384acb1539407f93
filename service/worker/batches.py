"""The batch chunk task: a worker scores one chunk of a batch (a few hundred proposals).

Chunks, not one task per proposal: a task costs a broker round trip, a message and bookkeeping
(~1 ms), more than a native evaluation (~0.4 ms); a chunk pays it once for all its items.

Chunk tasks go to their own queue, which every worker also consumes. The Redis transport takes
turns between queues, so a single ``POST /v1/evaluations`` waits behind at most the chunk each
worker process is busy with, not behind a 100,000-proposal batch.

A chunk task is idempotent: it skips items that already have an outcome and the store records
by item, so a chunk delivered twice (``acks_late``: a worker lost mid-chunk gives its message
back) neither loses nor double-counts an item. A chunk started ``MAX_ATTEMPTS`` times (one that
keeps killing its worker) records its remaining items as failed, so the batch still finishes
and the counts still add up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from celery import Celery, Task, shared_task
from kombu import Exchange, Queue

from schemas.errors import ROOT
from service.batch.formats import RawItem
from service.batch.scoring import Chunk, Failed, Outcome, Scored, score_chunk
from service.batch.store import ACTIVE, RECEIVING, BatchStore, store_for
from service.decisions.entry import decision_entry
from service.decisions.log import keyed
from service.engine import Engine
from service.observability import metrics
from service.worker.context import context_of
from service.worker.tasks import engine_for, utc_now

CHUNK_TASK = "policy.score_batch_chunk"
BATCH_QUEUE = "policy-batches"
MAX_ATTEMPTS = 4
# Outcomes are written (and cancellation checked) every this many items: progress moves
# smoothly and a lost worker costs at most this many evaluations twice.
FLUSH_EVERY = 50
MAX_RETRIES = 10

log = logging.getLogger(__name__)


def batch_celery_config(default_queue: str) -> dict[str, Any]:
    """Celery settings for batches, merged into ``service.worker.app.celery_config``: both
    queues consumed by every worker (no ``-Q`` needed), chunk tasks routed to their own."""
    # Explicit exchanges and keys: given bare names, Celery binds every queue to the default
    # exchange and key, and each message would reach both queues (and run twice).
    return {
        "task_queues": tuple(Queue(name, Exchange(name, type="direct"), routing_key=name)
                             for name in (default_queue, BATCH_QUEUE)),
        "task_routes": {CHUNK_TASK: {"queue": BATCH_QUEUE}},
    }


def publish_chunks(celery: Celery, batch_id: str, numbers: Iterable[int]) -> None:
    """Queue chunk tasks (call only once the chunks are stored). Task ids are deterministic,
    ``<batch>-<chunk>``, so a chunk can be found in Flower or the worker log."""
    with celery.producer_or_acquire() as producer:
        for number in numbers:
            celery.send_task(CHUNK_TASK, (batch_id, number), task_id=f"{batch_id}-{number}",
                             producer=producer)


class ChunkHooks(Protocol):
    """What a chunk needs from the worker around it (a Protocol so tests can stub it)."""

    def engine(self, version: str | None) -> Engine: ...

    def log_decisions(self, batch_id: str, caller: str, scored: list[Scored]) -> None: ...


class CeleryHooks:
    """The engines and decision log of the worker's Celery app, as single evaluations use."""

    def __init__(self, conf: Any) -> None:
        self._conf = conf

    def engine(self, version: str | None) -> Engine:
        return engine_for(self._conf, version)

    def log_decisions(self, batch_id: str, caller: str, scored: list[Scored]) -> None:
        # Issue 5: every decision, batch items included, is logged before the task is
        # acknowledged; the log's once-per-key append makes a redelivered chunk log once.
        context = context_of(self._conf)
        context.decisions.append(keyed([
            decision_entry(f"{batch_id}/{s.index}", s.evaluation, s.proposal, caller,
                           context.log_mask, batch_id=batch_id)
            for s in scored]))


def process_chunk(store: BatchStore, hooks: ChunkHooks, batch_id: str, number: int) -> str:
    """Score chunk ``number`` of ``batch_id``; returns what happened, for the log.

    Every item of a batch is scored by the ruleset version that was active when the batch was
    submitted, whatever is activated meanwhile.
    """
    meta = store.meta(batch_id)
    if meta is None or meta["state"] not in (RECEIVING, ACTIVE):
        return f"skipped ({meta['state'] if meta else 'no such batch'})"
    attempts = store.begin_chunk(batch_id, number, utc_now())
    payload = store.chunk(batch_id, number)
    if payload is None:
        return "already scored"
    chunk = Chunk.decode(payload)
    ttl = int(meta["ttl"])
    done = store.recorded(batch_id, [item.index for item in chunk.items])
    todo = [item for item in chunk.items if item.index not in done]
    if attempts > MAX_ATTEMPTS:
        log.error("batch %s chunk %d started %d times; failing its %d remaining items",
                  batch_id, number, attempts, len(todo))
        message = (f"Not evaluated: the worker scoring this item's chunk was lost or failed "
                   f"{attempts - 1} times; the worker log has the details.")
        store.record(batch_id, [Failed(item.index, item.line, "failed",
                                       [{"field": ROOT, "message": message}])
                                for item in todo], ttl)
    elif not _score_and_write(store, hooks, meta, chunk, todo, batch_id):
        return "cancelled"
    store.drop_chunk(batch_id, number)
    store.try_finish(batch_id, utc_now())
    return f"scored {len(todo)} of {len(chunk.items)}"


def _score_and_write(store: BatchStore, hooks: ChunkHooks, meta: dict[str, str], chunk: Chunk,
                     todo: list[RawItem], batch_id: str) -> bool:
    """Evaluate ``todo`` a flush at a time while a writer thread stores the previous flush;
    False if the batch was cancelled meanwhile.

    Writing (the decision log, then the outcomes) mostly waits on Redis; overlapping that wait
    with the next flush's evaluations keeps the core busy (measured: see bench/batch.py). At
    most one flush is in the writer, writes keep their order, and every write has finished
    before this returns, so before the task is acknowledged.
    """
    engine = hooks.engine(meta.get("ruleset_version") or None)
    caller, ttl = meta.get("caller", "anonymous"), int(meta["ttl"])

    def write(outcomes: list[Outcome]) -> bool:
        scored = [o for o in outcomes if isinstance(o, Scored)]
        if scored:  # logged first: a crash after recording would skip them on redelivery
            hooks.log_decisions(batch_id, caller, scored)
        store.record(batch_id, outcomes, ttl)
        _count(outcomes, scored)
        return store.state(batch_id) in (RECEIVING, ACTIVE)

    with ThreadPoolExecutor(1, thread_name_prefix="batch-writer") as writer:
        pending: Future[bool] | None = None
        for start in range(0, len(todo), FLUSH_EVERY):
            outcomes = score_chunk(engine, chunk, todo[start:start + FLUSH_EVERY])
            if pending is not None and not pending.result():
                return False
            pending = writer.submit(write, outcomes)
        return pending is None or pending.result()


def _count(outcomes: list[Outcome], scored: list[Scored]) -> None:
    """Batch items into /metrics: finished items by outcome, evaluations by rating, as the
    single-evaluation task is counted."""
    metrics.observe_batch_items(len(scored), outcome="scored")
    for kind in ("invalid", "failed"):
        metrics.observe_batch_items(sum(isinstance(o, Failed) and o.kind == kind
                                        for o in outcomes), outcome=kind)
    for item in scored:
        metrics.observe_evaluation(item.evaluation)


@shared_task(name=CHUNK_TASK, bind=True, ignore_result=True)
def score_batch_chunk(self: Task, batch_id: str, number: int) -> str:
    """A Celery shell around ``process_chunk``: the engine comes from ``engine_for``, as for
    single evaluations, so a batch result is the single evaluation of its proposal."""
    try:
        return process_chunk(store_for(self.app.conf), CeleryHooks(self.app.conf), batch_id,
                             number)
    except Exception as error:  # Redis away, a time limit, a bug: try again, then give up
        log.warning("batch %s chunk %d: %s: %s; retrying", batch_id, number,
                    type(error).__name__, error)
        raise self.retry(exc=error, countdown=min(2 ** self.request.retries, 30),
                         max_retries=MAX_RETRIES) from None
