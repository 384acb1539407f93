"""Processing one chunk of a batch (a few hundred proposals): what a worker does with it.

Chunks, not one task per proposal: a task costs a broker round trip, a message and bookkeeping
(~1 ms), ten times a native evaluation (~0.1 ms); a chunk pays it once for all its items.

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

This module knows no Celery: ``service.worker.tasks`` runs it as a task, with the engines and
the decision log of the worker's backends as its ``ChunkHooks``.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from schemas.errors import ROOT
from service.batch.chunks import Chunk, Failed, Outcome, Scored, score_chunk
from service.batch.formats import RawItem
from service.batch.store import ACTIVE, RECEIVING, BatchStore
from service.clock import utc_now
from service.engine import Engine

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


class ChunkHooks(Protocol):
    """What a chunk needs from the worker around it (a Protocol so tests can stub it)."""

    def engine(self, version: str | None) -> Engine: ...

    def log_decisions(self, batch_id: str, caller: str, engine: Engine, scored: list[Scored]
                      ) -> None:
        """Append the decisions to the decision log (once per item, even when redelivered)."""

    def observe(self, ruleset_version: str, outcomes: list[Outcome]) -> None:
        """Count finished items (metrics)."""


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
    engine = hooks.engine(meta.get("ruleset_version") or None)
    if scored:  # logged first: a crash after recording would skip them on redelivery
        hooks.log_decisions(batch_id, meta.get("caller", "anonymous"), engine, scored)
    store.record(batch_id, outcomes, int(meta["ttl"]))
    hooks.observe(engine.ruleset.version, outcomes)
    return store.state(batch_id) in (RECEIVING, ACTIVE)
