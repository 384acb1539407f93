"""Splitting an upload into items, one at a time, without holding the upload in memory.

Four formats: a JSON array, JSON Lines (one proposal a line) and CSV, split here, and
spreadsheets (.xlsx, its first sheet), split by ``spreadsheet`` with the same row reading as
CSV (``tabular``); ``csvmap`` says how the columns of the two tabular formats map to fields.
Splitting only finds where each item begins and ends; it does not validate proposals. Items are
decoded and validated by the workers, in parallel, which is also where the engine validates them
again: one validation path for every format.

What makes the whole upload unusable (not UTF-8, a JSON syntax error, a CSV row with the wrong
number of cells, an unknown column, a file that is not a spreadsheet) raises ``UploadError``
with the line; a bad *value* in one item is that item's problem and is reported with its index,
never failing the others.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Literal, Protocol

from schemas.batch import UPLOAD_FORMATS, UploadFormat
from service.batch.csvmap import check_header

Format = UploadFormat
FORMATS = UPLOAD_FORMATS
TextFormat = Literal["json", "jsonl", "csv"]  # read as a stream, a block at a time
TABULAR: tuple[Format, ...] = ("csv", "xlsx")  # rows of cells under a header of field paths
BLOCK = 1 << 16
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# the delimiters a CSV header may use; '|' is not one: it separates the values of a list cell
CSV_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}

MEDIA_TYPES: dict[str, Format] = {
    "application/json": "json",
    "application/x-ndjson": "jsonl",
    "application/ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/jsonlines": "jsonl",
    "text/csv": "csv",
    "application/csv": "csv",
    XLSX_MEDIA_TYPE: "xlsx",
}
EXTENSIONS: dict[str, Format] = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
                                 ".csv": "csv", ".xlsx": "xlsx"}
MEDIA_TYPE_OF: dict[Format, str] = {"json": "application/json",
                                    "jsonl": "application/x-ndjson", "csv": "text/csv",
                                    "xlsx": XLSX_MEDIA_TYPE}


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class UploadError(ValueError):
    """The upload as a whole cannot be read; ``line`` is where reading stopped, if known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class UploadTooLarge(UploadError):
    """More bytes than the upload may have (a spreadsheet must be read whole before its rows)."""


@dataclass(frozen=True, slots=True)
class RawItem:
    """One item as found in the upload: JSON text, or the cells of a CSV row.

    ``index`` counts items from 0 in upload order; ``line`` is the 1-based line where the item
    starts (the CSV header is line 1, so the first CSV item is usually line 2).
    """

    index: int
    line: int
    data: str | list[str]


def format_for(media_type: str | None, filename: str | None = None) -> Format | None:
    """The format a media type (or, failing that, a file name) names; None when neither does."""
    found = MEDIA_TYPES.get((media_type or "").split(";")[0].strip().lower())
    if found is None and filename:
        lowered = filename.lower()
        found = next((f for ext, f in EXTENSIONS.items() if lowered.endswith(ext)), None)
    return found


class CountingReader(io.RawIOBase):
    """A readable view of any ``read(n)`` source that counts and hashes what passes through.

    The hash is the upload's fingerprint for ``Idempotency-Key``; wrapping also gives the text
    and CSV readers the buffered binary stream they need, whatever the source.
    """

    def __init__(self, source: Any) -> None:
        super().__init__()
        self._source = source
        self.bytes_read = 0
        self._hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(len(buffer))
        if not data:
            return 0
        count = len(data)
        buffer[:count] = data
        self.bytes_read += count
        self._hash.update(data)
        return count

    def drain(self) -> None:
        """Read to the end: a client still sending would otherwise see its connection reset
        before it can read our answer."""
        while self.read(BLOCK):
            pass

    def fingerprint(self) -> str:
        return "sha256:" + self._hash.hexdigest()


def split(fmt: TextFormat, stream: Readable, max_item_bytes: int = 1 << 20
          ) -> Iterator[RawItem]:
    """The items of ``stream`` in ``fmt``; raises ``UploadError`` on an unreadable upload.
    (Spreadsheets, which cannot be read as a stream, are ``spreadsheet.split_xlsx``'s.)"""
    if fmt == "json":
        return split_json_array(stream, max_item_bytes)
    if fmt == "jsonl":
        return split_json_lines(stream, max_item_bytes)
    return split_csv(stream)


def tabular(rows: Iterable[tuple[int, list[str]]], delimiter: str | None) -> Iterator[RawItem]:
    """Rows of cells as items: the first non-blank row is the header (index -1), then one item
    per non-blank row. ``rows`` are (line, cells). A CSV row (``delimiter`` given) has as many
    cells as the header; a spreadsheet row (``delimiter`` None) stores no empty cells at its
    end, so it is padded to the header, and only a value past the header's last column is
    an error."""
    header: list[str] | None = None
    index = 0
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines separate nothing; spreadsheets leave them
        if header is None:
            header = [cell.strip() for cell in cells]
            if delimiter is None:
                while header and not header[-1]:
                    header.pop()
            _check_header(header, delimiter, line)
            yield RawItem(-1, line, header)
            continue
        if delimiter is None:
            cells = _fit(cells, len(header), line)
        elif len(cells) != len(header):
            raise UploadError(f"{len(cells)} cells where the header has {len(header)}; quote "
                              f"cells that contain a {CSV_DELIMITERS[delimiter]}", line)
        yield RawItem(index, line, cells)
        index += 1
    if header is None:
        raise UploadError("no header row (and no data)")


def _fit(cells: list[str], width: int, line: int) -> list[str]:
    extra = [position for position, cell in enumerate(cells[width:], width + 1) if cell.strip()]
    if extra:
        raise UploadError(f"a value in column {extra[0]}, past the header's {width} columns",
                          line)
    return (cells + [""] * width)[:width]


def _check_header(header: list[str], delimiter: str | None, line: int) -> None:
    try:
        check_header(header)
    except ValueError as error:
        others = [name for mark, name in CSV_DELIMITERS.items() if delimiter is not None
                  and mark != delimiter and any(mark in cell for cell in header)]
        hint = (f"; the header looks {others[0]}-separated: save the file with one delimiter "
                "(comma, semicolon or tab) throughout" if others else "")
        raise UploadError(f"{error}{hint}", line) from None


def split_csv(stream: Readable) -> Iterator[RawItem]:
    """The header (index -1), then one item per data row.

    The delimiter is read from the header row: a comma, a semicolon or a tab (spreadsheets in
    many locales save CSV with semicolons), whichever ``csv.Sniffer`` finds there; a header
    it cannot tell (one column) is comma-separated.
    """
    # utf-8-sig: spreadsheets write a byte-order mark; newline="" lets csv handle quoted breaks
    text = io.TextIOWrapper(_buffered(stream), encoding="utf-8-sig", newline="")
    read = 0  # lines read so far: an unreadable record starts on the next one
    try:
        lines, delimiter = _header_delimiter(text)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)

        def records() -> Iterator[tuple[int, list[str]]]:
            nonlocal read
            for cells in reader:
                yield read + 1, cells
                read = reader.line_num

        yield from tabular(records(), delimiter)
    except csv.Error as error:
        # the line where the unreadable record starts (an open quote runs to the end)
        raise UploadError(f"not valid CSV: {error}", read + 1) from None
    except UnicodeDecodeError as error:
        raise UploadError(f"not UTF-8 text ({error.reason} at byte {error.start} of a block)",
                          read + 1) from None


def _header_delimiter(text: IO[str]) -> tuple[Iterator[str], str]:
    """The lines of ``text`` (none lost) and the delimiter of its first non-blank line."""
    blanks: list[str] = []
    for line in text:
        if not line.strip():
            blanks.append(line)
            continue
        try:
            delimiter = csv.Sniffer().sniff(line, delimiters="".join(CSV_DELIMITERS)).delimiter
        except csv.Error:
            delimiter = ","
        return itertools.chain(blanks, [line], text), delimiter
    return iter(blanks), ","


def _buffered(stream: Readable) -> io.BufferedReader:
    raw = stream if isinstance(stream, io.RawIOBase) else CountingReader(stream)
    return io.BufferedReader(raw, BLOCK)


def split_json_lines(stream: Readable, max_item_bytes: int) -> Iterator[RawItem]:
    """One item per non-blank line; the line's JSON is decoded by the worker (a line that is not
    JSON is that item's error, not the upload's)."""
    buffered = _buffered(stream)
    index, line = 0, 0
    while True:
        raw = buffered.readline(max_item_bytes + 2)
        if not raw:
            return
        line += 1
        if len(raw) > max_item_bytes and not raw.endswith(b"\n"):
            raise UploadError(f"a line longer than {max_item_bytes} bytes", line)
        try:
            text = raw.decode("utf-8-sig" if line == 1 else "utf-8").strip()
        except UnicodeDecodeError as error:
            raise UploadError(f"not UTF-8 text ({error.reason} at column {error.start + 1})",
                              line) from None
        if text:
            yield RawItem(index, line, text)
            index += 1


class _TextBuffer:
    """Decoded text of a stream with a read position, refilled a block at a time; keeps line
    numbers as the position advances."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.text = ""
        self.pos = 0
        self.line = 1
        self.eof = False

    def fill(self) -> None:
        """Drop what was consumed, append the next block; sets ``eof`` at the end."""
        if self.eof:
            return
        self.text = self.text[self.pos:]
        self.pos = 0
        block = self._stream.read(BLOCK)
        try:
            self.text += self._decoder.decode(block or b"", final=not block)
        except UnicodeDecodeError as error:
            raise UploadError(f"not UTF-8 text ({error.reason})", self.line) from None
        self.eof = not block

    def advance(self, to: int) -> None:
        self.line += self.text.count("\n", self.pos, to)
        self.pos = to

    def skip_blanks(self) -> str:
        """The next non-blank character ('' at the end), refilling as needed."""
        while True:
            length = len(self.text)
            position = self.pos
            while position < length and self.text[position] in " \t\r\n":
                position += 1
            self.advance(position)
            if position < length:
                return self.text[position]
            if self.eof:
                return ""
            self.fill()

    def column(self) -> int:
        return self.pos - (self.text.rfind("\n", 0, self.pos) + 1) + 1


_DECODER = json.JSONDecoder()


def split_json_array(stream: Readable, max_item_bytes: int) -> Iterator[RawItem]:
    """The elements of one JSON array, each as its own JSON text.

    ``raw_decode`` finds where an element ends; an element cut by the end of a block is decoded
    again once the next block is in. Only one element (at most ``max_item_bytes``) plus a block
    is ever held, whatever the size of the array.
    """
    buffer = _TextBuffer(stream)
    first = buffer.skip_blanks()
    if first != "[":
        what = "an empty body" if first == "" else f"{first!r}"
        raise UploadError(f"expected a JSON array of proposals, found {what}", buffer.line)
    buffer.advance(buffer.pos + 1)
    index = 0
    if buffer.skip_blanks() == "]":
        buffer.advance(buffer.pos + 1)
        _expect_end(buffer)
        return
    while True:
        if buffer.skip_blanks() == "":
            raise UploadError("the JSON array is not closed (missing ']')", buffer.line)
        line = buffer.line
        end = _element_end(buffer, max_item_bytes)
        yield RawItem(index, line, buffer.text[buffer.pos:end])
        index += 1
        buffer.advance(end)
        separator = buffer.skip_blanks()
        if separator == "]":
            buffer.advance(buffer.pos + 1)
            _expect_end(buffer)
            return
        if separator != ",":
            found = "the end of the body" if separator == "" else repr(separator)
            raise UploadError(f"expected ',' or ']' after item {index - 1}, found {found} "
                              f"(column {buffer.column()})", buffer.line)
        buffer.advance(buffer.pos + 1)


def _element_end(buffer: _TextBuffer, max_item_bytes: int) -> int:
    while True:
        try:
            _, end = _DECODER.raw_decode(buffer.text, buffer.pos)
        except json.JSONDecodeError as error:
            if not buffer.eof and len(buffer.text) - buffer.pos <= max_item_bytes:
                buffer.fill()
                continue
            line = buffer.line + buffer.text.count("\n", buffer.pos, error.pos)
            raise UploadError(f"not valid JSON: {error.msg} (column {error.colno})",
                              line) from None
        except RecursionError:
            raise UploadError("an item nested too deeply", buffer.line) from None
        # a number or literal that ends with the block may go on in the next one
        if end == len(buffer.text) and not buffer.eof:
            buffer.fill()
            continue
        if end - buffer.pos > max_item_bytes:
            raise UploadError(f"an item larger than {max_item_bytes} bytes", buffer.line)
        return end


def _expect_end(buffer: _TextBuffer) -> None:
    if buffer.skip_blanks() != "":
        raise UploadError(f"unexpected data after the JSON array (column {buffer.column()})",
                          buffer.line)
