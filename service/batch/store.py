"""Where a batch lives between the API and the workers: its record, its chunks of items, each
item's result or failure, and the rankings.

Two back-ends with one contract: Redis (``redis_store``) for a deployment, process memory
(``memory_store``) for embedded mode, where the API and its in-process worker share it;
``service.backends`` opens the one the deployment uses.

Writes are idempotent by item: recording an item twice leaves one result, and counts are the
sizes of the result and failure maps, never incremented counters, so a chunk delivered twice
(``acks_late`` after a lost worker) cannot count twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import orjson

from service.batch.chunks import Outcome

OVERALL = "overall_score"
INDEX_WIDTH = 9  # members are zero-padded so equal scores rank by upload order

# states of the record; the API's status ("queued", "running", ...) derives from these
RECEIVING, ACTIVE, CANCELLED, DONE = "receiving", "active", "cancelled", "done"


def member(index: int) -> str:
    return f"{index:0{INDEX_WIDTH}d}"


def pack_proposal(proposal: Any) -> bytes:
    """A scored item's proposal as stored, to be worded when it is read: compact JSON (~700
    bytes; the worded evaluation it stands for is ~13 KB)."""
    try:
        return orjson.dumps(proposal)
    except TypeError:  # an integer beyond 64 bits, which orjson refuses and json does not
        return json.dumps(proposal, ensure_ascii=False, separators=(",", ":")).encode()


class BatchStore(Protocol):
    # --- Idempotency-Key: key -> {"batch": id, "state": pending|done, "fingerprint": ...} ---
    def claim_key(self, key: str, batch_id: str, ttl: int) -> dict[str, str] | None:
        """Claim ``key`` for ``batch_id``; returns the existing claim instead if there is one."""

    def settle_key(self, key: str, batch_id: str, fingerprint: str, ttl: int) -> None: ...

    def release_key(self, key: str) -> None: ...

    # --- the API: submitting, cancelling ---
    def create(self, batch_id: str, meta: Mapping[str, str], ttl: int) -> None: ...

    def put_chunks(self, batch_id: str, chunks: Sequence[tuple[int, bytes]], ttl: int
                   ) -> None: ...

    def finalize(self, batch_id: str, fields: Mapping[str, str]) -> None:
        """The upload is complete: record its totals and make the batch ``active``."""

    def discard(self, batch_id: str) -> None:
        """Forget a batch whose upload was refused (its workers see no record and stop)."""

    def cancel(self, batch_id: str, at: str) -> str | None:
        """Cancel an active batch; returns the state after the call (None: no such batch)."""

    def try_finish(self, batch_id: str, at: str) -> bool:
        """Mark the batch done if every item has an outcome; atomic, so of the API finalizing
        and the workers recording, whichever comes last finishes it."""

    # --- reading ---
    def meta(self, batch_id: str) -> dict[str, str] | None: ...

    def unfinished(self) -> list[tuple[str, dict[str, str]]]:
        """``(batch_id, meta)`` of the batches still receiving or being scored, for progress
        metrics."""

    def counts(self, batch_id: str) -> tuple[int, int]:
        """(scored, failed)"""

    def ranked(self, batch_id: str, key: str, start: int, stop: int, reverse: bool
               ) -> list[int]:
        """Item indexes ranked by ``key`` (best first), positions ``start`` to ``stop``
        inclusive; ``reverse`` gives the exact reverse order."""

    def proposals(self, batch_id: str, indexes: Sequence[int]) -> list[bytes | None]:
        """The proposals of the scored items ``indexes``, as JSON bytes, for wording their
        results (``service.batch.chunks.word``); None for an item not scored."""

    def summaries(self, batch_id: str, indexes: Sequence[int]) -> list[dict[str, Any] | None]:
        ...

    def failures(self, batch_id: str, start: int, stop: int) -> list[dict[str, Any]]:
        """Failed items in upload order, positions ``start`` to ``stop`` inclusive."""

    def all_summaries(self, batch_id: str) -> Iterator[dict[str, Any]]:
        """Every scored item's summary, in no particular order, a page at a time."""

    # --- the workers ---
    def state(self, batch_id: str) -> str | None: ...

    def chunk(self, batch_id: str, number: int) -> bytes | None: ...

    def inputs(self, batch_id: str) -> list[bytes]:
        """Every chunk as uploaded, in order, kept after scoring: the impact of a ruleset
        version can be measured on a stored batch."""

    def begin_chunk(self, batch_id: str, number: int, at: str) -> int:
        """Note that a worker starts ``number`` (and the batch, if first); returns how many
        times this chunk has been started, this time included."""

    def mark_in_flight(self, batch_id: str, number: int, index: int, ttl: int) -> None:
        """Note that item ``index`` of chunk ``number`` is about to be evaluated (replacing
        the previous note): if it crashes its worker, the next start of the chunk knows which
        item to blame."""

    def in_flight(self, batch_id: str, number: int) -> int | None:
        """The item of chunk ``number`` last marked in flight, if any."""

    def count_crash(self, batch_id: str, index: int, ttl: int) -> int:
        """Count one more worker lost while evaluating item ``index``; returns the count."""

    def recorded(self, batch_id: str, indexes: Sequence[int]) -> set[int]:
        """Which of ``indexes`` already have an outcome."""

    def record(self, batch_id: str, outcomes: Sequence[Outcome], ttl: int) -> None:
        """Store outcomes, all or none."""

    def drop_chunk(self, batch_id: str, number: int) -> None: ...
