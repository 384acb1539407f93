"""The batch store in this process's memory, for embedded mode (no ``REDIS_URL``).

The API and its in-process worker thread share one instance, as they share the in-memory task
queue. Same contract as the Redis store, one lock instead of transactions; rankings are sorted
when read (and cached until the next write) rather than kept sorted on every write.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from service.batch.chunks import Outcome, Scored
from service.batch.store import ACTIVE, DONE, OVERALL, RECEIVING, pack_proposal


@dataclass
class _Batch:
    meta: dict[str, str]
    expires: float
    chunks: dict[int, bytes] = field(default_factory=dict)
    inputs: dict[int, bytes] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    in_flight: dict[int, int] = field(default_factory=dict)  # chunk -> item
    crashes: dict[int, int] = field(default_factory=dict)  # item -> workers lost on it
    proposals: dict[int, bytes] = field(default_factory=dict)  # scored items', as JSON
    summaries: dict[int, dict[str, Any]] = field(default_factory=dict)
    errors: dict[int, dict[str, Any]] = field(default_factory=dict)
    rankings: dict[str, list[int]] = field(default_factory=dict)  # cache; cleared on write


class MemoryBatchStore:
    def __init__(self) -> None:
        self._batches: dict[str, _Batch] = {}
        self._keys: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = threading.RLock()

    def _get(self, batch_id: str) -> _Batch | None:
        found = self._batches.get(batch_id)
        if found is not None and found.expires < time.monotonic():
            del self._batches[batch_id]
            return None
        return found

    def _expire_old(self) -> None:
        now = time.monotonic()
        for batch_id in [b for b, v in self._batches.items() if v.expires < now]:
            del self._batches[batch_id]
        for idem in [k for k, v in self._keys.items() if v[0] < now]:
            del self._keys[idem]

    # --- Idempotency-Key ---

    def claim_key(self, idem: str, batch_id: str, ttl: int) -> dict[str, str] | None:
        with self._lock:
            self._expire_old()
            if idem in self._keys:
                return dict(self._keys[idem][1])
            self._keys[idem] = (time.monotonic() + ttl, {"batch": batch_id, "state": "pending"})
            return None

    def settle_key(self, idem: str, batch_id: str, fingerprint: str, ttl: int) -> None:
        with self._lock:
            self._keys[idem] = (time.monotonic() + ttl, {"batch": batch_id, "state": "done",
                                                         "fingerprint": fingerprint})

    def release_key(self, idem: str) -> None:
        with self._lock:
            self._keys.pop(idem, None)

    # --- the API ---

    def create(self, batch_id: str, meta: Mapping[str, str], ttl: int) -> None:
        with self._lock:
            self._expire_old()
            self._batches[batch_id] = _Batch(dict(meta), time.monotonic() + ttl)

    def put_chunks(self, batch_id: str, chunks: Sequence[tuple[int, bytes]], ttl: int
                   ) -> None:
        with self._lock:
            batch = self._get(batch_id)
            if batch is not None:
                batch.chunks.update(chunks)
                batch.inputs.update(chunks)

    def finalize(self, batch_id: str, fields: Mapping[str, str]) -> None:
        with self._lock:
            batch = self._get(batch_id)
            if batch is not None:
                batch.meta.update(fields)
                if batch.meta["state"] == RECEIVING:
                    batch.meta["state"] = ACTIVE

    def unfinished(self) -> list[tuple[str, dict[str, str]]]:
        with self._lock:
            self._expire_old()
            return [(batch_id, dict(batch.meta)) for batch_id, batch in self._batches.items()
                    if batch.meta["state"] in (RECEIVING, ACTIVE)]

    def discard(self, batch_id: str) -> None:
        with self._lock:
            self._batches.pop(batch_id, None)

    def cancel(self, batch_id: str, at: str) -> str | None:
        with self._lock:
            batch = self._get(batch_id)
            if batch is None:
                return None
            if batch.meta["state"] in (ACTIVE, RECEIVING):
                batch.meta.update(state="cancelled", cancelled_at=at)
            return batch.meta["state"]

    def try_finish(self, batch_id: str, at: str) -> bool:
        with self._lock:
            batch = self._get(batch_id)
            if batch is None or batch.meta["state"] != ACTIVE:
                return False
            if len(batch.summaries) + len(batch.errors) < int(batch.meta["total"]):
                return False
            batch.meta.update(state=DONE, finished_at=at)
            batch.expires = time.monotonic() + int(batch.meta["ttl"])
            return True

    # --- reading ---

    def meta(self, batch_id: str) -> dict[str, str] | None:
        with self._lock:
            batch = self._get(batch_id)
            return dict(batch.meta) if batch is not None else None

    def counts(self, batch_id: str) -> tuple[int, int]:
        with self._lock:
            batch = self._get(batch_id)
            return (len(batch.summaries), len(batch.errors)) if batch else (0, 0)

    def ranked(self, batch_id: str, sort: str, start: int, stop: int, reverse: bool
               ) -> list[int]:
        with self._lock:
            batch = self._get(batch_id)
            if batch is None:
                return []
            order = batch.rankings.get(sort)
            if order is None:
                def score(index: int) -> float:
                    summary = batch.summaries[index]
                    found = (summary[OVERALL] if sort == OVERALL
                             else summary["scores"].get(sort))
                    return float("-inf") if found is None else float(found)

                order = sorted(batch.summaries, key=lambda i: (-score(i), i))
                batch.rankings[sort] = order
            sequence = order[::-1] if reverse else order
            return sequence[start:stop + 1]

    def proposals(self, batch_id: str, indexes: Sequence[int]) -> list[bytes | None]:
        with self._lock:
            batch = self._get(batch_id)
            return [batch.proposals.get(i) if batch else None for i in indexes]

    def summaries(self, batch_id: str, indexes: Sequence[int]) -> list[dict[str, Any] | None]:
        with self._lock:
            batch = self._get(batch_id)
            return [batch.summaries.get(i) if batch else None for i in indexes]

    def failures(self, batch_id: str, start: int, stop: int) -> list[dict[str, Any]]:
        with self._lock:
            batch = self._get(batch_id)
            if batch is None:
                return []
            return [batch.errors[i] for i in sorted(batch.errors)[start:stop + 1]]

    def all_summaries(self, batch_id: str) -> Iterator[dict[str, Any]]:
        with self._lock:
            batch = self._get(batch_id)
            found = list(batch.summaries.values()) if batch else []
        return iter(found)

    # --- the workers ---

    def state(self, batch_id: str) -> str | None:
        with self._lock:
            batch = self._get(batch_id)
            return batch.meta.get("state") if batch else None

    def inputs(self, batch_id: str) -> list[bytes]:
        with self._lock:
            batch = self._get(batch_id)
            return [batch.inputs[n] for n in sorted(batch.inputs)] if batch else []

    def chunk(self, batch_id: str, number: int) -> bytes | None:
        with self._lock:
            batch = self._get(batch_id)
            return batch.chunks.get(number) if batch else None

    def begin_chunk(self, batch_id: str, number: int, at: str) -> int:
        with self._lock:
            batch = self._get(batch_id)
            if batch is None:
                return 1
            batch.attempts[number] = batch.attempts.get(number, 0) + 1
            batch.meta.setdefault("started_at", at)
            return batch.attempts[number]

    def mark_in_flight(self, batch_id: str, number: int, index: int, ttl: int) -> None:
        with self._lock:
            batch = self._get(batch_id)
            if batch is not None:
                batch.in_flight[number] = index

    def in_flight(self, batch_id: str, number: int) -> int | None:
        with self._lock:
            batch = self._get(batch_id)
            return batch.in_flight.get(number) if batch else None

    def count_crash(self, batch_id: str, index: int, ttl: int) -> int:
        with self._lock:
            batch = self._get(batch_id)
            if batch is None:
                return 1
            batch.crashes[index] = batch.crashes.get(index, 0) + 1
            return batch.crashes[index]

    def recorded(self, batch_id: str, indexes: Sequence[int]) -> set[int]:
        with self._lock:
            batch = self._get(batch_id)
            if batch is None:
                return set()
            return {i for i in indexes if i in batch.summaries or i in batch.errors}

    def record(self, batch_id: str, outcomes: Sequence[Outcome], ttl: int) -> None:
        # packed outside the lock: the API thread should not wait on it
        prepared = [(o, pack_proposal(o.proposal) if isinstance(o, Scored) else b"")
                    for o in outcomes]
        with self._lock:
            batch = self._get(batch_id)
            if batch is None:
                return
            for outcome, packed in prepared:
                if isinstance(outcome, Scored):
                    batch.proposals[outcome.index] = packed
                    batch.summaries[outcome.index] = {"index": outcome.index,
                                                      "line": outcome.line, **outcome.summary}
                    batch.meta.setdefault("criteria", json.dumps(list(outcome.summary["scores"])))
                else:
                    batch.errors[outcome.index] = orjson.loads(orjson.dumps(outcome.as_dict()))
            batch.rankings.clear()
            batch.expires = max(batch.expires, time.monotonic() + ttl)

    def drop_chunk(self, batch_id: str, number: int) -> None:
        with self._lock:
            batch = self._get(batch_id)
            if batch is not None:
                batch.chunks.pop(number, None)
