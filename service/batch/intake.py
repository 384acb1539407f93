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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from schemas.errors import ROOT
from service.batch.chunks import Chunk
from service.batch.formats import (
    TABULAR,
    CountingReader,
    Format,
    RawItem,
    UploadError,
    UploadTooLarge,
    split,
)
from service.batch.settings import BatchSettings
from service.batch.spreadsheet import split_xlsx
from service.batch.store import RECEIVING, BatchStore
from service.clock import utc_now
from service.engine import Explain

# chunks stored (one pipelined write) and queued together
CHUNKS_PER_WRITE = 4

# queues the stored chunks of a batch for the workers: (batch id, chunk numbers)
Publish = Callable[[str, list[int]], None]


class Refused(Exception):
    """The upload is refused as a whole and nothing of it is kept.

    ``kind`` names the reason (the API's problem type): ``invalid-upload`` (unreadable, empty),
    ``too-many-proposals`` (past BATCH_MAX_ITEMS or BATCH_MAX_BYTES), ``idempotency-key-reused``
    (the key went with another upload), ``idempotency-key-in-use`` (its upload is still
    arriving). ``message`` is the short form for the field error; ``line`` where reading
    stopped, when it got anywhere.
    """

    def __init__(self, kind: str, detail: str, message: str, *, field: str = ROOT,
                 line: int | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.message = kind, detail, message
        self.field, self.line = field, line


@dataclass(frozen=True)
class Upload:
    format: Format
    source: Any  # anything with read(n): the request stream or an uploaded file
    explain: Explain
    counterfactuals: bool = False  # each item's next-band gap and best option, searched


@dataclass(frozen=True)
class Accepted:
    batch_id: str
    replayed: bool = False


def submit(publish: Publish, store: BatchStore, settings: BatchSettings, upload: Upload,
           idempotency_key: str | None, pinned: Mapping[str, str]) -> Accepted:
    """Store and queue the upload; raises ``Refused`` for anything the client must fix.

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
        _receive(publish, store, settings, upload, reader, batch_id, pinned)
    except BaseException:
        store.discard(batch_id)
        if key is not None:
            store.release_key(key)
        raise
    if key is not None:
        store.settle_key(key, batch_id, _fingerprint(reader, upload), settings.result_ttl)
    return Accepted(batch_id)


def _fingerprint(reader: CountingReader, upload: Upload) -> str:
    found = f"{reader.fingerprint()}|{upload.format}|{upload.explain}"
    return found + "|counterfactuals" if upload.counterfactuals else found


def _replay(store: BatchStore, claim: dict[str, str], reader: CountingReader, upload: Upload
            ) -> Accepted:
    _drain(reader)
    if claim.get("state") != "done":
        raise Refused("idempotency-key-in-use",
                      "A request with this Idempotency-Key is still uploading.",
                      "Still uploading.", field="Idempotency-Key")
    if claim.get("fingerprint") != _fingerprint(reader, upload):
        raise Refused("idempotency-key-reused",
                      "This Idempotency-Key was used for a different upload.",
                      "Already used for a different upload.", field="Idempotency-Key")
    if store.meta(claim["batch"]) is None:
        raise Refused("idempotency-key-reused",
                      "This Idempotency-Key's batch has expired; use a new key.",
                      "Its batch has expired.", field="Idempotency-Key")
    return Accepted(claim["batch"], replayed=True)


def _drain(reader: CountingReader) -> None:
    with contextlib.suppress(RequestEntityTooLarge, ClientDisconnected):
        reader.drain()


def _receive(publish: Publish, store: BatchStore, settings: BatchSettings, upload: Upload,
             reader: CountingReader, batch_id: str, pinned: Mapping[str, str]) -> None:
    ttl = settings.result_ttl
    store.create(batch_id, {**pinned, "id": batch_id, "state": RECEIVING,
                            "format": upload.format, "explain": upload.explain,
                            **({"counterfactuals": "1"} if upload.counterfactuals else {}),
                            "submitted_at": utc_now(), "ttl": str(ttl),
                            "chunk_size": str(settings.chunk_size)}, ttl)
    waiting: list[tuple[int, bytes]] = []
    chunks_stored = 0

    def flush() -> None:
        store.put_chunks(batch_id, waiting, ttl)
        publish(batch_id, [number for number, _ in waiting])
        waiting.clear()

    try:
        count = 0
        for chunk in chunks(upload.format, upload.explain, reader, settings,
                            upload.counterfactuals):
            count += len(chunk.items)
            if count > settings.max_items:
                _drain(reader)
                raise Refused("too-many-proposals",
                              f"More than {settings.max_items:,} proposals in one batch "
                              "(BATCH_MAX_ITEMS); split the upload.",
                              f"More than {settings.max_items} items.")
            waiting.append((chunks_stored, chunk.encode()))
            chunks_stored += 1
            if len(waiting) >= CHUNKS_PER_WRITE:
                flush()
        if count == 0:
            raise UploadError("the upload holds no proposals")
        if waiting:
            flush()
    except UploadTooLarge:
        _drain(reader)
        raise too_large(settings) from None
    except UploadError as error:
        _drain(reader)
        if reader.bytes_read == 0:
            raise Refused("invalid-upload", "The upload is empty.", "Empty.") from None
        raise Refused("invalid-upload", f"The upload cannot be read: {error}", str(error),
                      line=error.line) from None
    except RequestEntityTooLarge:
        raise too_large(settings) from None
    except ClientDisconnected:
        raise Refused("invalid-upload", "The client disconnected before the upload was "
                      "complete.", "Incomplete upload.") from None
    store.finalize(batch_id, {"total": str(count), "chunks": str(chunks_stored),
                              "received_at": utc_now(), "bytes": str(reader.bytes_read)})
    store.try_finish(batch_id, utc_now())  # every chunk may be scored already


def too_large(settings: BatchSettings) -> Refused:
    return Refused("too-many-proposals", f"The upload is larger than {settings.max_bytes:,} "
                   "bytes (BATCH_MAX_BYTES); split it.",
                   f"Larger than {settings.max_bytes} bytes.")


def chunks(fmt: Format, explain: Explain, stream: Any, settings: BatchSettings,
           counterfactuals: bool = False) -> Iterator[Chunk]:
    """The upload split into chunks of ``settings.chunk_size`` items, read as it streams in;
    raises ``UploadError`` where it cannot be read. The service stores and queues these, and
    ``policy-eval score`` scores them in its own processes: the same chunks either way."""
    items = (split_xlsx(stream, settings.max_bytes) if fmt == "xlsx"
             else split(fmt, stream, settings.max_item_bytes))
    header = _header(items) if fmt in TABULAR else []
    for batch in _chunked(items, settings.chunk_size):
        yield Chunk(fmt, explain, batch, header, counterfactuals)


def _header(items: Iterator[RawItem]) -> list[str]:
    first = next(items, None)
    if first is None or not isinstance(first.data, list):
        raise UploadError("no header row")
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
