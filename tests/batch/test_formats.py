"""Splitting uploads: items found whatever the block boundaries, lines right, and every way an
upload can be unreadable reported as ``UploadError`` with its line."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import openpyxl
import pytest

from service.batch import formats, spreadsheet
from service.batch.formats import UploadError, format_for, split


def items(fmt: formats.Format, data: bytes, block: int | None = None,
          monkeypatch: pytest.MonkeyPatch | None = None) -> list[formats.RawItem]:
    if block is not None and monkeypatch is not None:
        monkeypatch.setattr(formats, "BLOCK", block)
    if fmt == "xlsx":
        return list(spreadsheet.split_xlsx(io.BytesIO(data), None))
    return list(split(fmt, io.BytesIO(data), max_item_bytes=4096))


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 65536])
def test_json_array_items_survive_any_block_boundary(block: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    elements: list[Any] = [{"a": 1, "s": 'x,]}"y\\'}, 12345, "é and ✓", [1, [2]], None,
                           {"n": -1.5e300}]
    text = '[\n ' + ',\n '.join(json.dumps(e, ensure_ascii=False) for e in elements) + "\n]\n"

    found = items("json", text.encode(), block, monkeypatch)

    assert [json.loads(i.data) for i in found] == elements  # type: ignore[arg-type]
    assert [i.index for i in found] == list(range(len(elements)))
    assert [i.line for i in found] == [2, 3, 4, 5, 6, 7]


def test_json_array_of_nothing_and_byte_order_mark() -> None:
    assert items("json", b"\xef\xbb\xbf [ ] ") == []


@pytest.mark.parametrize(("body", "message", "line"), [
    (b"", "found an empty body", 1),
    (b'{"title": "x"}', "expected a JSON array", 1),
    (b'[{"a": 1},\n {"a": 2,}]', "not valid JSON", 2),
    (b'[{"a": 1}\n {"a": 2}]', "expected ',' or ']'", 2),
    (b'[{"a": 1},', "not closed", 1),
    (b'[{"a": 1}] [', "unexpected data after the JSON array", 1),
    (b'[{"a": "\xff"}]', "not UTF-8", 1),
    (b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]", "nested too deeply", 1),
])
def test_unreadable_json_arrays(body: bytes, message: str, line: int) -> None:
    with pytest.raises(UploadError, match=message) as raised:
        list(split("json", io.BytesIO(body), max_item_bytes=1 << 20))
    assert raised.value.line == line


def test_json_item_larger_than_the_limit() -> None:
    body = json.dumps([{"title": "x" * 5000}]).encode()
    with pytest.raises(UploadError, match="larger than 4096 bytes"):
        items("json", body)


def test_json_lines_skip_blank_lines_and_keep_line_numbers() -> None:
    found = items("jsonl", b'{"a": 1}\n\n  \r\n{"a": 2}\r\nnot json\n{"a": 3}')

    assert [(i.index, i.line, i.data) for i in found] == [
        (0, 1, '{"a": 1}'), (1, 4, '{"a": 2}'), (2, 5, "not json"), (3, 6, '{"a": 3}')]


def test_json_lines_refuse_bad_encoding_and_huge_lines() -> None:
    with pytest.raises(UploadError, match="not UTF-8") as raised:
        items("jsonl", b'{"a": 1}\n{"a": "\xff"}\n')
    assert raised.value.line == 2
    with pytest.raises(UploadError, match="longer than 4096 bytes"):
        items("jsonl", b"x" * 5000 + b"\n")


def test_csv_header_rows_and_quoted_line_breaks() -> None:
    data = ("\ufefftitle,system.name,capabilities.datalinks\n"
            '"A, with comma",F-35,link16|cec\n'
            "\n"
            '"Two\nlines",E-2D,\n').encode()

    found = items("csv", data)

    assert found[0].index == -1 and found[0].data == ["title", "system.name",
                                                     "capabilities.datalinks"]
    assert [(i.index, i.line, i.data) for i in found[1:]] == [
        (0, 2, ["A, with comma", "F-35", "link16|cec"]), (1, 4, ["Two\nlines", "E-2D", ""])]


@pytest.mark.parametrize(("body", "message", "line"), [
    (b"", "no header row", None),
    (b"title,colour\nx,red\n", "unknown column 'colour'", 1),
    (b"title,title\nx,y\n", "given more than once", 1),
    (b"title,fiscal_year\nx,2026\ny\n", "1 cells where the header has 2", 3),
    (b'title,fiscal_year\n"x,2026\n', "not valid CSV", 2),
    (b"title,fiscal_year\nx,2026\n\xff,1\n", "not UTF-8", None),
])
def test_broken_csv(body: bytes, message: str, line: int | None) -> None:
    with pytest.raises(UploadError, match=message) as raised:
        items("csv", body)
    if line is not None:
        assert raised.value.line == line


@pytest.mark.parametrize(("media", "name", "expected"), [
    ("application/json", None, "json"), ("application/x-ndjson", None, "jsonl"),
    ("text/csv; charset=utf-8", None, "csv"), ("application/octet-stream", "a.CSV", "csv"),
    (None, "b.ndjson", "jsonl"), ("text/plain", "c.txt", None), ("application/xml", None, None),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None, "xlsx"),
    ("application/octet-stream", "programmes.XLSX", "xlsx"),
])
def test_format_for(media: str | None, name: str | None, expected: str | None) -> None:
    assert format_for(media, name) == expected


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"),
                                                  (",", "comma")])
def test_csv_delimiter_is_read_from_the_header(delimiter: str, name: str) -> None:
    rows = [["title", "fiscal_year", "capabilities.datalinks"],
            ["A, with comma; and semicolon", "2026", "link16|cec"], ["B", "2027", ""]]
    data = "\n".join(delimiter.join(f'"{c}"' if delimiter in c else c for c in row)
                     for row in rows).encode()

    found = items("csv", b"\n" + data)

    assert [(i.index, i.line, i.data) for i in found] == [
        (-1, 2, rows[0]), (0, 3, rows[1]), (1, 4, rows[2])]


def test_a_header_with_two_delimiters_is_named_in_the_error() -> None:
    with pytest.raises(UploadError, match="the header looks semicolon-separated") as raised:
        items("csv", b"id;title,fiscal_year\nx;y,2026\n")
    assert raised.value.line == 1


def xlsx(rows: list[list[Any]], extra_sheet: bool = False) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        workbook.create_sheet("notes").append(["not read"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_spreadsheet_rows_are_items_with_their_row_numbers() -> None:
    data = xlsx([["title", "fiscal_year", "acquisition.total_cost.amount", "capabilities.datalinks",
                  None],
                 [None],
                 ["Tomahawk", 2026, 2350000000.0, "link16|cec"],
                 ["Fractional", 2026.5, 1.5e-3, None],
                 ["Huge", 1e20, True, None]], extra_sheet=True)

    found = items("xlsx", data)

    assert [(i.index, i.line, i.data) for i in found] == [
        (-1, 1, ["title", "fiscal_year", "acquisition.total_cost.amount",
                 "capabilities.datalinks"]),
        (0, 3, ["Tomahawk", "2026", "2350000000", "link16|cec"]),
        (1, 4, ["Fractional", "2026.5", "0.0015", ""]),
        (2, 5, ["Huge", "1e+20", "true", ""])]


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (400, "400"), (2350000000.0, "2350000000"), (2.35e9, "2350000000"),
    (0.1, "0.1"), (-3.0, "-3"), (2.0**53, "9007199254740992.0"), (float("nan"), "nan"),
    (False, "false"), (" text ", " text "),
])
def test_spreadsheet_cells_read_as_csv_text(value: Any, text: str) -> None:
    assert spreadsheet.cell_text(value) == text


def zipped(files: dict[str, str]) -> bytes:
    """A zip archive that is not a workbook (no workbook part)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "message", "line"), [
    (b"title,fiscal_year\nx,2026\n", "not an .xlsx spreadsheet", None),
    (b"", "not an .xlsx spreadsheet", None),
    (zipped({"[Content_Types].xml": "<Types/>"}), "not an .xlsx spreadsheet", None),
    (xlsx([["title", "colour"], ["x", "red"]]), "unknown column 'colour'", 1),
    (xlsx([["title", "fiscal_year"], ["x", 2026, "stray"]]), "a value in column 3", 2),
    (xlsx([]), "no header row", None),
])
def test_unreadable_spreadsheets(data: bytes, message: str, line: int | None) -> None:
    with pytest.raises(UploadError, match=message) as raised:
        items("xlsx", data)
    assert raised.value.line == line


def test_a_spreadsheet_larger_than_the_limit_is_refused_before_it_is_read() -> None:
    data = xlsx([["title"], *([f"row {n}"] for n in range(2000))])
    with pytest.raises(formats.UploadTooLarge):
        list(spreadsheet.split_xlsx(io.BytesIO(data), len(data) - 1))
    assert len(list(spreadsheet.split_xlsx(io.BytesIO(data), len(data)))) == 2001
