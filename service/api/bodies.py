"""Request bodies are read whole or refused: never a truncated body taken for the whole.

Werkzeug enforces ``max_content_length`` on a body without ``Content-Length`` (chunked transfer
encoding) by wrapping the input in a stream that stops at the limit; ``get_data()`` then reads
to that limit and returns what it has, without looking past it. A chunked body longer than the
limit was silently cut there: a ruleset whose last rule started past 1 MiB was published
without it, and a 2 MB proposal was answered "Unterminated string" instead of 413.

``BoundedRequest`` reads one byte past the limit instead, and refuses (413) as soon as a byte
beyond the limit arrives, whichever way the body is read (``get_data``, ``get_json``, the
stream, a multipart form) and whether or not it has a ``Content-Length``.
"""

from __future__ import annotations

import io
from typing import IO

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import get_input_stream


class CappedStream(io.RawIOBase):
    """``source``, refusing with 413 the moment more than ``limit`` bytes have come from it."""

    def __init__(self, source: IO[bytes], limit: int) -> None:
        self._source = source
        self.limit = limit
        self.read_so_far = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = self._source.read(len(view))
        self.read_so_far += len(data)
        if self.read_so_far > self.limit:
            raise RequestEntityTooLarge(f"The request body is larger than the limit of "
                                        f"{self.limit} bytes.")
        view[:len(data)] = data
        return len(data)


class BoundedRequest(Request):
    """Flask's request, whose body stream refuses past ``max_content_length`` (which a view
    may raise for itself, as batch uploads do, before it reads the body)."""

    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        if limit is None:
            return super().stream
        # one byte more than the limit is let through, so that a body of exactly the limit is
        # told from a longer one; the cap refuses that byte
        source = get_input_stream(self.environ, max_content_length=limit + 1)
        return io.BufferedReader(CappedStream(source, limit))
