"""Taking in a batch upload: split it into items as it streams in, store chunks of items, queue
a chunk task for each, and only then answer.

Memory stays flat in the batch size: one block of the upload and one chunk of items are held
at a time, and chunks go to the store in pipelined writes. Chunk tasks are queued as soon as
their chunk is stored, so the workers start on the first proposals while the rest is still
being read; the batch is ``receiving`` until the upload is complete, and a refused upload
(unreadable, too many proposals) is discarded, its workers stopping at their next check.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from celery import Celery
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from schemas.errors import ROOT
from service.api.problems import PROBLEM_TYPES, Problem
from service.batch.chunks import Chunk, Explain
from service.batch.formats import CountingReader, Format, RawItem, UploadError, split
from service.batch.settings import BatchSettings
from service.batch.store import RECEIVING, BatchStore
from service.worker.batches import publish_chunks
from service.worker.tasks import utc_now

# chunks stored (one pipelined write) and queued together
CHUNKS_PER_WRITE = 4

PROBLEM_TYPES.update({
    "invalid-upload": (
        "Invalid batch upload",
        "The upload cannot be read as a whole: wrong content type, not UTF-8, a JSON syntax "
        "error, a CSV row with the wrong number of cells or an unknown column, or no proposals "
        "at all. `detail` and `line` say where reading stopped. Nothing was stored. (A bad "
        "value inside one proposal is not this: it is reported for that proposal alone, in "
        "the batch's failures.)",
    ),
    "too-many-proposals": (
        "Too many proposals",
        "The upload holds more proposals than `BATCH_MAX_ITEMS`, or more bytes than "
        "`BATCH_MAX_BYTES`. Nothing was stored; split it into several batches.",
    ),
    "idempotency-key-reused": (
        "Idempotency-Key reused",
        "This Idempotency-Key was already used for a different upload (or explain level). "
        "Use a new key for a new batch.",
    ),
    "idempotency-key-in-use": (
        "Idempotency-Key in use",
        "A request with this Idempotency-Key is still being uploaded; retry after it finished.",
    ),
    "batch-not-finished": (
        "Batch not finished",
        "The request needs a finished batch (or, for DELETE, an unfinished one).",
    ),
})


@dataclass(frozen=True)
class Upload:
    format: Format
    source: Any  # anything with read(n): the request stream or an uploaded file
    explain: Explain


@dataclass(frozen=True)
class Accepted:
    batch_id: str
    replayed: bool = False


def submit(celery: Celery, store: BatchStore, settings: BatchSettings, upload: Upload,
           idempotency_key: str | None, pinned: Mapping[str, str]) -> Accepted:
    """Store and queue the upload; raises ``Problem`` for anything the client must fix.

    ``pinned`` goes into the batch record for the workers: the ruleset version active now (every
    item is scored by it) and the caller (for the decision log).
    """
    reader = CountingReader(upload.source)
    batch_id = uuid.uuid4().hex
    key = hashlib.sha256(idempotency_key.encode()).hexdigest() if idempotency_key else None
    if key is not None:
        claim = store.claim_key(key, batch_id, settings.result_ttl)
        if claim is not None:
            return _replay(store, claim, reader, upload)
    try:
        _receive(celery, store, settings, upload, reader, batch_id, pinned)
    except BaseException:
        store.discard(batch_id)
        if key is not None:
            store.release_key(key)
        raise
    if key is not None:
        store.settle_key(key, batch_id, _fingerprint(reader, upload), settings.result_ttl)
    return Accepted(batch_id)


def _fingerprint(reader: CountingReader, upload: Upload) -> str:
    return f"{reader.fingerprint()}|{upload.format}|{upload.explain}"


def _replay(store: BatchStore, claim: dict[str, str], reader: CountingReader, upload: Upload
            ) -> Accepted:
    _drain(reader)
    if claim.get("state") != "done":
        raise Problem(409, "A request with this Idempotency-Key is still uploading.",
                      slug="idempotency-key-in-use", headers={"Retry-After": "1"})
    if claim.get("fingerprint") != _fingerprint(reader, upload):
        raise Problem(422, "This Idempotency-Key was used for a different upload.",
                      slug="idempotency-key-reused",
                      errors=[{"field": "Idempotency-Key", "location": "header",
                               "message": "Already used for a different upload."}])
    if store.meta(claim["batch"]) is None:
        raise Problem(422, "This Idempotency-Key's batch has expired; use a new key.",
                      slug="idempotency-key-reused")
    return Accepted(claim["batch"], replayed=True)


def _drain(reader: CountingReader) -> None:
    with contextlib.suppress(RequestEntityTooLarge, ClientDisconnected):
        reader.drain()


def _receive(celery: Celery, store: BatchStore, settings: BatchSettings, upload: Upload,
             reader: CountingReader, batch_id: str, pinned: Mapping[str, str]) -> None:
    ttl = settings.result_ttl
    store.create(batch_id, {**pinned, "id": batch_id, "state": RECEIVING,
                            "format": upload.format, "explain": upload.explain,
                            "submitted_at": utc_now(), "ttl": str(ttl),
                            "chunk_size": str(settings.chunk_size)}, ttl)
    waiting: list[tuple[int, bytes]] = []
    chunks = 0

    def flush() -> None:
        store.put_chunks(batch_id, waiting, ttl)
        publish_chunks(celery, batch_id, [number for number, _ in waiting])
        waiting.clear()

    try:
        items = split(upload.format, reader, settings.max_item_bytes)
        header = _csv_header(items) if upload.format == "csv" else []
        count = 0
        for batch in _chunked(items, settings.chunk_size):
            count += len(batch)
            if count > settings.max_items:
                _drain(reader)
                raise Problem(413, f"More than {settings.max_items:,} proposals in one batch "
                                   "(BATCH_MAX_ITEMS); split the upload.",
                              slug="too-many-proposals",
                              errors=[{"field": ROOT, "location": "body",
                                       "message": f"More than {settings.max_items} items."}])
            waiting.append((chunks, Chunk(upload.format, upload.explain, batch, header).encode()))
            chunks += 1
            if len(waiting) >= CHUNKS_PER_WRITE:
                flush()
        if count == 0:
            raise UploadError("the upload holds no proposals")
        if waiting:
            flush()
    except UploadError as error:
        _drain(reader)
        empty = reader.bytes_read == 0
        problem = Problem(400, "The upload is empty." if empty else f"The upload cannot be "
                               f"read: {error}", slug="invalid-upload",
                          errors=[{"field": ROOT, "location": "body",
                                   "message": "Empty." if empty else str(error)}])
        if error.line is not None:  # where reading stopped, when it got anywhere
            problem.extensions["line"] = error.line
        raise problem from None
    except RequestEntityTooLarge:
        raise Problem(413, f"The upload is larger than {settings.max_bytes:,} bytes "
                           "(BATCH_MAX_BYTES); split it.", slug="too-many-proposals",
                      errors=[{"field": ROOT, "location": "body",
                               "message": f"Larger than {settings.max_bytes} bytes."}]) from None
    except ClientDisconnected:
        raise Problem(400, "The client disconnected before the upload was complete.",
                      slug="invalid-upload") from None
    store.finalize(batch_id, {"total": str(count), "chunks": str(chunks),
                              "received_at": utc_now(), "bytes": str(reader.bytes_read)})
    store.try_finish(batch_id, utc_now())  # every chunk may be scored already


def _csv_header(items: Iterator[RawItem]) -> list[str]:
    first = next(items, None)
    if first is None or not isinstance(first.data, list):
        raise UploadError("the CSV has no header row")
    return first.data


def _chunked(items: Iterator[RawItem], size: int) -> Iterator[list[RawItem]]:
    batch: list[RawItem] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
