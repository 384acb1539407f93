"""The batch chunk task: a worker scores one chunk of a batch (a few hundred proposals).

Chunks, not one task per proposal: a task costs a broker round trip, a message and bookkeeping
(~1 ms), more than a native evaluation (~0.4 ms); a chunk pays it once for all its items.

Chunk tasks go to their own queue, which every worker also consumes. The Redis transport takes
turns between queues, so a single ``POST /v1/evaluations`` waits behind at most the chunk each
worker process is busy with, not behind a 100,000-proposal batch.

A chunk task is idempotent: it skips items that already have an outcome and the store records
by item, so a chunk delivered twice (``acks_late``: a worker lost mid-chunk gives its message
back) neither loses nor double-counts an item.

A proposal can crash the engine's process (durable-rules is C and can segfault), and a crash
cannot be caught: the message comes back and the next worker would crash on it again. So a
chunk started again is scored one item at a time, each marked in flight in the store before it
is evaluated. An item still marked, without an outcome, when the chunk starts once more was
being evaluated when its worker died: it is counted, and after ``MAX_CRASHES`` it is recorded
as failed with that reason while the rest of its chunk is scored. A chunk started more than
``MAX_ATTEMPTS`` times (workers lost outside any item) fails its remaining items, so the batch
still finishes and the counts still add up.

A chunk that finds Redis unreachable gives its message back rather than retrying (a retry is
a message to publish, to the same Redis): it is requeued, or, while Redis is down, stays
unacknowledged in Redis's append-only file and comes back after the visibility timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import redis
from celery import Celery, Task, shared_task
from celery.exceptions import Reject
from kombu import Exchange, Queue

from schemas.errors import ROOT
from service.batch.chunks import Chunk, Failed, Outcome, Scored, score_chunk
from service.batch.formats import RawItem
from service.batch.store import ACTIVE, RECEIVING, BatchStore, store_for
from service.decisions.entry import decision_entry
from service.decisions.log import keyed
from service.engine import Engine
from service.observability import metrics
from service.worker.context import context_of
from service.worker.tasks import engine_for, utc_now

CHUNK_TASK = "policy.score_batch_chunk"
BATCH_QUEUE = "policy-batches"
# An item whose evaluation was under way when a worker died this many times is failed. Two:
# one loss can be bad luck (a worker killed, Redis lost while recording), two on the same item
# in a row is the item.
MAX_CRASHES = 2
# Starts of one chunk: the first (all at once), the first isolating start (no item to blame yet)
# and MAX_CRASHES for each of up to five items that crash the engine.
MAX_ATTEMPTS = 2 + 5 * MAX_CRASHES
# Outcomes are written (and cancellation checked) every this many items: progress moves
# smoothly and a lost worker costs at most this many evaluations twice.
FLUSH_EVERY = 50

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
        store.record(batch_id, [_failed(item, f"Not evaluated: the worker scoring this item's "
                                              f"chunk was lost or failed {attempts - 1} times; "
                                              "the worker log has the details.")
                                for item in todo], ttl)
    elif attempts == 1:
        if not _score_and_write(store, hooks, meta, chunk, todo, batch_id):
            return "cancelled"
    elif not _score_one_by_one(store, hooks, meta, chunk,
                               _convict(store, batch_id, number, todo, ttl), batch_id, number):
        return "cancelled"
    store.drop_chunk(batch_id, number)
    store.try_finish(batch_id, utc_now())
    return f"scored {len(todo)} of {len(chunk.items)}"


def _failed(item: RawItem, message: str) -> Failed:
    return Failed(item.index, item.line, "failed", [{"field": ROOT, "message": message}])


def _convict(store: BatchStore, batch_id: str, number: int, todo: list[RawItem], ttl: int
             ) -> list[RawItem]:
    """``todo`` without the item that crashed its worker ``MAX_CRASHES`` times, which is
    recorded as failed: the item left in flight by the start before this one, if it has no
    outcome, was being evaluated when that worker died."""
    in_flight = store.in_flight(batch_id, number)
    suspect = next((item for item in todo if item.index == in_flight), None)
    if suspect is None:
        return todo
    crashes = store.count_crash(batch_id, suspect.index, ttl)
    if crashes < MAX_CRASHES:
        log.warning("batch %s item %d was being evaluated when its worker was lost; trying it "
                    "again", batch_id, suspect.index)
        return todo
    log.error("batch %s item %d: its worker was lost %d times while evaluating it; failing it",
              batch_id, suspect.index, crashes)
    store.record(batch_id, [_failed(suspect, f"Not evaluated: the worker process evaluating "
                                             f"this proposal died {crashes} times (the rule "
                                             "engine crashed on it); the other proposals were "
                                             "scored.")], ttl)
    return [item for item in todo if item is not suspect]


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
    with ThreadPoolExecutor(1, thread_name_prefix="batch-writer") as writer:
        pending: Future[bool] | None = None
        for start in range(0, len(todo), FLUSH_EVERY):
            outcomes = score_chunk(engine, chunk, todo[start:start + FLUSH_EVERY])
            if pending is not None and not pending.result():
                return False
            pending = writer.submit(_write, store, hooks, meta, batch_id, outcomes)
        return pending is None or pending.result()


def _score_one_by_one(store: BatchStore, hooks: ChunkHooks, meta: dict[str, str],
                      chunk: Chunk, todo: list[RawItem], batch_id: str, number: int) -> bool:
    """Evaluate and store ``todo`` an item at a time, each marked in flight first; False if
    the batch was cancelled meanwhile. Slower (a few round trips per item), and only for a
    chunk started again, where one of its items may be what crashed the worker."""
    engine = hooks.engine(meta.get("ruleset_version") or None)
    for item in todo:
        store.mark_in_flight(batch_id, number, item.index, int(meta["ttl"]))
        if not _write(store, hooks, meta, batch_id, score_chunk(engine, chunk, [item])):
            return False
    return True


def _write(store: BatchStore, hooks: ChunkHooks, meta: dict[str, str], batch_id: str,
           outcomes: list[Outcome]) -> bool:
    """Log and record ``outcomes``; False if the batch is no longer being scored."""
    scored = [o for o in outcomes if isinstance(o, Scored)]
    if scored:  # logged first: a crash after recording would skip them on redelivery
        hooks.log_decisions(batch_id, meta.get("caller", "anonymous"), scored)
    store.record(batch_id, outcomes, int(meta["ttl"]))
    _count(outcomes, scored)
    return store.state(batch_id) in (RECEIVING, ACTIVE)


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
    except (redis.ConnectionError, redis.TimeoutError) as error:
        # Redis away: a retry could not be published (Celery would then drop the message),
        # and trying to would hold this process past its time limit. Give the message back
        # instead: requeued at once if Redis answers again, else it stays unacknowledged in
        # Redis, on disk, and comes back after the visibility timeout.
        log.warning("batch %s chunk %d: Redis unreachable (%s); giving the chunk back",
                    batch_id, number, error)
        raise Reject(error, requeue=True) from None
    except Exception as error:  # a time limit, a bug: try again later
        log.warning("batch %s chunk %d: %s: %s; retrying", batch_id, number,
                    type(error).__name__, error)
        # every retry is a start: past MAX_ATTEMPTS, the chunk fails its items and ends
        raise self.retry(exc=error, countdown=retry_delay(self.app.conf, self.request.retries),
                         max_retries=MAX_ATTEMPTS) from None


def retry_delay(conf: Any, retries: int) -> float:
    """Back off 1, 2, 4 … 30 s, but stay well within the visibility timeout: a retry waits for
    its time unacknowledged in a worker, and past that timeout Redis would hand it to a second
    worker as well."""
    timeout = (conf.get("broker_transport_options") or {}).get("visibility_timeout", 300)
    return float(min(2 ** retries, 30, timeout / 4))
