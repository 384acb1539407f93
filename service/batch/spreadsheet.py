"""Spreadsheet uploads (.xlsx): the rows of the first sheet, read as CSV rows are.

An .xlsx file is a zip archive whose directory is at its end, so the upload is spooled to a
temporary file (at most ``BATCH_MAX_BYTES``) and then read row by row in openpyxl's read-only
mode: one row in memory at a time. openpyxl parses the sheet's XML through defusedxml (a
dependency for that), so entity expansion cannot blow it up. Cells become the text a CSV cell
would hold (``cell_text``), so a spreadsheet and the CSV saved from it give the same proposals.
"""

from __future__ import annotations

import math
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from typing import IO, Any
from xml.etree.ElementTree import ParseError

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from service.batch.formats import BLOCK, RawItem, Readable, UploadError, UploadTooLarge, tabular

# a spreadsheet has at most this many rows; a file claiming a row past it is not one
XLSX_MAX_ROWS = 1_048_576
# integral floats below this are exact integers (a float has a 53-bit mantissa)
_EXACT_INTEGERS = 2.0**53

# what a damaged or foreign file makes openpyxl raise, while opening it or reading its rows
# (a zip with no workbook part is an OSError)
_NOT_A_SPREADSHEET = (zipfile.BadZipFile, InvalidFileException, KeyError, IndexError, ValueError,
                      TypeError, EOFError, ParseError, OSError)


def split_xlsx(stream: Readable, max_bytes: int | None) -> Iterator[RawItem]:
    """The header (index -1), then one item per row, each ``line`` the row's number; raises
    ``UploadTooLarge`` past ``max_bytes``. Formulas count by the value the spreadsheet last
    calculated."""
    with tempfile.TemporaryFile() as spool:
        _spool(stream, spool, max_bytes)
        try:
            workbook = openpyxl.load_workbook(spool, read_only=True, data_only=True)
        except _NOT_A_SPREADSHEET as error:
            raise UploadError(f"not an .xlsx spreadsheet ({type(error).__name__})") from None
        try:
            sheet = workbook.worksheets[0]
            # rows as stored: the size a file declares may be wrong, and is not needed
            sheet.reset_dimensions()
            yield from tabular(_sheet_rows(sheet.iter_rows(values_only=True)), None)
        except UploadError:
            raise
        except _NOT_A_SPREADSHEET as error:
            raise UploadError(f"a damaged .xlsx sheet ({type(error).__name__})") from None
        finally:
            workbook.close()


def _spool(stream: Readable, spool: IO[bytes], max_bytes: int | None) -> None:
    written = 0
    while block := stream.read(BLOCK):
        written += len(block)
        if max_bytes is not None and written > max_bytes:
            raise UploadTooLarge(f"larger than {max_bytes:,} bytes")
        spool.write(block)
    spool.seek(0)


def _sheet_rows(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[int, list[str]]]:
    for number, values in enumerate(rows, 1):
        if number > XLSX_MAX_ROWS:
            raise UploadError(f"more than {XLSX_MAX_ROWS:,} rows: not a spreadsheet", number)
        yield number, [cell_text(value) for value in values]


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a CSV cell would hold.

    A spreadsheet keeps every number as a float, so an integral one is written as an integer
    (``2350000000.0`` → ``2350000000``, which an integer field takes, as it would from a CSV
    saved by the same spreadsheet); a fractional one keeps every digit (``repr``). Beyond 2**53
    a float no longer holds an exact integer and is written as a float (``1e+20``), which an
    integer field refuses. Booleans read ``true``/``false``, dates in ISO 8601.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < _EXACT_INTEGERS:
            return str(int(value))
        return repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)
