"""Hostile payloads, sent to the real stack (gunicorn and a celery worker):
wrong types, huge numbers, NaN and Infinity, deep nesting, 10 MB strings, control and
bidirectional-override characters, lone surrogates, homoglyphs, overlong and unknown keys, bad
content types, malformed JSON, JSON Lines and CSV uploads, bad query parameters and headers.

Each one is answered 4xx ``application/problem+json`` naming the offending field (``$`` for
the body as a whole), and afterwards the service still evaluates and reports healthy. Text a
client supplied that lands in a CSV download is neutralized against formula injection.

The corpus is generated: a table of named cases per endpoint, from the proposal's own columns
(``csvmap.columns()``) so a field added to the schema is attacked at once.
(``test_malformed`` holds the everyday mistakes; these are the adversarial ones.)
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import requests

from service.batch.csvmap import columns
from service.batch.report import FORMULA_STARTS
from tests.keys import ADMIN

from .checks import fields_named, http, problem
from .proposals import TOMAHAWK

pytestmark = pytest.mark.integration

JSON = "application/json"
TEN_MB = 10 * 1024 * 1024


@dataclass(frozen=True)
class Hostile:
    name: str
    method: str
    path: str
    field: str  # what the problem's `errors` must name
    body: bytes | None = None
    content_type: str | None = JSON


def _set(proposal: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    changed = json.loads(json.dumps(proposal))
    *parents, leaf = dotted.split(".")
    node = changed
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return changed


def _proposal(dotted: str, value: Any) -> bytes:
    # json.dumps writes NaN and Infinity as JavaScript does, and a lone surrogate as an escape
    return json.dumps(_set(TOMAHAWK, dotted, value)).encode()


WRONG_VALUES: dict[str, list[tuple[str, Any]]] = {
    "string": [("a number", 42), ("a boolean", True), ("null", None), ("a list", ["x"]),
               ("an object", {"x": 1}), ("blank", " \t ")],
    "integer": [("a numeric string", "400"), ("a decimal", 4.5), ("a boolean", True),
                ("null", None), ("10**30", 10**30), ("-10**30", -(10**30)),
                ("NaN", float("nan"))],
    "number": [("a numeric string", "1"), ("a boolean", False), ("null", None),
               ("NaN", float("nan")), ("Infinity", float("inf")),
               ("-Infinity", float("-inf")), ("400 digits", 10**400), ("1e308", 1e308)],
    "list": [("a string", "x"), ("an object", {"a": 1}), ("numbers", [1, 2]),
             ("nested lists", [["x"]]), ("65 items", ["x"] * 65)],
}
# (name, text) that no text field takes
HOSTILE_TEXT = [("NUL", "Toma\x00hawk"), ("ESC", "\x1b[31mTomahawk"), ("DEL", "Toma\x7fhawk"),
                ("C1 NEL", "Toma\x85hawk"), ("RTL override", "Tomahawk \u202etxt.exe"),
                ("LR isolate", "Toma\u2066hawk"), ("lone high surrogate", "Toma\ud800hawk"),
                ("lone low surrogate", "\udc00Tomahawk"), ("over the length", "x" * 5000),
                # one-line texts: no line break (a newline in an id forged a text log line) and
                # nothing invisible (they came back raw in summaries and sentences)
                ("LF", "Toma\nhawk"), ("CR", "Toma\rhawk"), ("CR LF", "x\r\nINFO forged"),
                ("tab", "Toma\thawk"), ("line separator", "Toma\u2028hawk"),
                ("paragraph separator", "Toma\u2029hawk"), ("LRM", "Toma\u200ehawk"),
                ("RLM", "Toma\u200fhawk"), ("Arabic letter mark", "Toma\u061chawk"),
                ("zero-width space", "Toma\u200bhawk"), ("zero-width joiner", "Toma\u200dhawk"),
                ("byte-order mark", "\ufeffTomahawk"), ("soft hyphen", "Toma\u00adhawk"),
                ("word joiner", "Toma\u2060hawk")]
TEXT_FIELDS = ["id", "title", "system.name", "system.prime_contractor"]
# codes that look right to a reader and are not
HOMOGLYPHS = [("requesting_country", "J\u0420"), ("requesting_country", "\uff2a\uff30"),
              ("requesting_country", "J\u200bP"), ("requesting_country", " JP"),
              ("system.origin_country", "U\u0405"), ("system.category", "r\u0430dar"),
              ("acquisition.path", "fm\u0455"), ("acquisition.capability_area",
                                                 "stand_off_defens\u0435"),
              ("acquisition.total_cost.currency", "U\u0405D"),
              ("capabilities.munitions_commonality", "ful\u04cf"),
              ("partners.operators", ["N\u04ae"]), ("capabilities.datalinks", ["l\u0456nk16"]),
              ("threats_addressed", ["hyperson\u0456c"])]
LONG_KEY = "k" * 10_000


def _field_in_list(dotted: str, value: Any) -> str:
    return f"{dotted}.0" if isinstance(value, list) else dotted


def _evaluation_cases() -> Iterator[Hostile]:
    post = "/v1/evaluations"
    for path, column in columns().items():
        for what, value in WRONG_VALUES[column.kind if column.kind in WRONG_VALUES
                                        else "string"]:
            yield Hostile(f"{path} as {what}", "POST", post, path, _proposal(path, value))
    for path in TEXT_FIELDS:
        for what, text in HOSTILE_TEXT:
            yield Hostile(f"{path} with {what}", "POST", post, path, _proposal(path, text))
    for path, value in HOMOGLYPHS:
        yield Hostile(f"{path} homoglyph {value!r}", "POST", post, _field_in_list(path, value),
                      _proposal(path, value))
    for section in ("", "system.", "acquisition.", "acquisition.total_cost.", "capabilities.",
                    "partners."):
        for key in ("colour", "__proto__", "=cmd|' /C calc'!A0", LONG_KEY):
            label = key if len(key) < 40 else "a 10,000-character key"
            yield Hostile(f"unknown field {label} in {section or 'the proposal'}", "POST", post,
                          f"{section}{key}", _proposal(f"{section}{key}", 1))
    yield Hostile("a key with NUL", "POST", post, "ti\x00tle", _proposal("ti\x00tle", "x"))
    yield Hostile("a key with a lone surrogate", "POST", post, "\ufffd",
                  _proposal("\ud800", "x"))
    deep_list: Any = []
    for _ in range(900):
        deep_list = [deep_list]
    yield Hostile("a field nested 900 deep", "POST", post, "system.name",
                  _proposal("system.name", deep_list))
    yield Hostile("a body nested 20,000 deep", "POST", post, "$",
                  b"[" * 20_000 + b"]" * 20_000)
    yield Hostile("a 10 MB title", "POST", post, "$", _proposal("title", "x" * TEN_MB))
    yield Hostile("10 MB of blanks", "POST", post, "$", b" " * TEN_MB)
    for what, raw in [("truncated", b'{"title": "x",'), ("single quotes", b"{'title': 'x'}"),
                      ("a trailing comma", b'{"title": "x",}'), ("a comment",
                                                                 b'{"title": "x" /* hi */}'),
                      ("a byte-order mark", b"\xef\xbb\xbf{}"), ("Latin-1", b'{"title": "\xe9"}'),
                      ("UTF-16", '{"title": "x"}'.encode("utf-16")),
                      ("an integer of 5,000 digits", b'{"fiscal_year": ' + b"9" * 5000 + b"}")]:
        yield Hostile(f"a body that is not JSON: {what}", "POST", post, "$", raw)
    for what, raw in [("an array", b"[]"), ("a string", b'"x"'), ("null", b"null"),
                      ("a number", b"1e999"), ("NaN", b"NaN"), ("true", b"true")]:
        yield Hostile(f"a body that is {what}", "POST", post, "$", raw)
    for media in ("text/plain", "application/xml", "application/x-www-form-urlencoded",
                  "multipart/form-data; boundary=x", "text/html", "application/javascript",
                  None):
        yield Hostile(f"content type {media}", "POST", post, "Content-Type",
                      json.dumps(TOMAHAWK).encode(), media)
    # (a request line past 4 KB is refused by gunicorn itself, before the API: 400, plain text)
    for value in ("verbose", "", "FULL", "\u202efull", "x" * 3000, "full\x00", "summary;full"):
        yield Hostile(f"explain={value[:20]!r}", "POST", f"{post}?explain={quote(value)}",
                      "explain", json.dumps(TOMAHAWK).encode())


def _upload(name: str, field: str, body: bytes, media: str | None, query: str = ""
            ) -> Hostile:
    return Hostile(name, "POST", f"/v1/batches{query}", field, body, media)


def _multipart(filename: str | None, part_type: str, data: bytes, name: str = "file"
               ) -> tuple[bytes, str]:
    boundary = "hostileboundary"
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    body = (f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
            f"Content-Type: {part_type}\r\n\r\n").encode()
    return body + data + f"\r\n--{boundary}--\r\n".encode(), \
        f"multipart/form-data; boundary={boundary}"


def _batch_cases() -> Iterator[Hostile]:
    one = json.dumps(TOMAHAWK).encode()
    for media in ("text/plain", "application/xml", "image/png", "application/octet-stream",
                  "text/html", None):
        yield _upload(f"upload as {media}", "Content-Type", b"[" + one + b"]", media)
    for what, raw in [("an object", b"{}"), ("an empty array", b"[]"), ("empty", b""),
                      ("blanks", b"  \n "), ("unclosed", b"[" + one), ("a stray comma",
                                                                      b"[," + one + b"]"),
                      ("two arrays", b"[" + one + b"][]"), ("a broken item", b'[{"title": }]'),
                      ("not UTF-8", b'[{"title": "\xff"}]'), ("an item nested 20,000 deep",
                                                             b"[" * 20_000 + b"]" * 20_000),
                      ("a byte-order mark alone", b"\xef\xbb\xbf")]:
        yield _upload(f"JSON upload {what}", "$", raw, JSON)
    for what, raw in [("not UTF-8", one + b"\n\xff\xfe\n"), ("empty", b""),
                      ("blank lines only", b"\n\n\n")]:
        yield _upload(f"JSON Lines upload {what}", "$", raw, "application/x-ndjson")
    header = b"title,fiscal_year,system.name,system.category,acquisition.path"
    for what, raw in [("an unknown column", b"title,=cmd|' /C calc'!A0\nx,1\n"),
                      ("a repeated column", b"title,title\nx,y\n"),
                      ("too many cells", header + b"\nx,2026,a,radar,fms,extra\n"),
                      ("too few cells", header + b"\nx,2026\n"),
                      ("an unclosed quote", header + b'\n"x,2026,a,radar,fms\n'),
                      ("not UTF-8", header + b"\n\xff,2026,a,radar,fms\n"),
                      ("a header only", header + b"\n"), ("empty", b""),
                      ("a NUL in the header", b"ti\x00tle\nx\n"),
                      ("a 10,000-character column", b"k" * 10_000 + b"\nx\n")]:
        yield _upload(f"CSV upload {what}", "$", raw, "text/csv")
    body, media = _multipart(None, JSON, b"[" + one + b"]", name="note")
    yield _upload("multipart without a file part", "file", body, media)
    body, media = _multipart("proposals.xlsx", "application/vnd.ms-excel", b"PK\x03\x04")
    yield _upload("multipart with a truncated spreadsheet", "$", body, media)
    body, media = _multipart("proposals.xls", "application/vnd.ms-excel", b"\xd0\xcf\x11\xe0")
    yield _upload("multipart with an old .xls spreadsheet", "file", body, media)
    yield _upload("a body that claims to be a spreadsheet", "$", b"id;title\nx;y\n",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    yield Hostile("an Idempotency-Key of 300 characters", "POST", "/v1/batches",
                  "Idempotency-Key", b"[" + one + b"]")
    for value in ("verbose", "\u202efull"):
        yield _upload(f"batch explain={value!r}", "explain", b"[" + one + b"]", JSON,
                      f"?explain={quote(value)}")


def _query_cases() -> Iterator[Hostile]:
    batch = "/v1/batches/0123456789abcdef0123456789abcdef"
    table = [
        (f"{batch}/results", "page", ["0", "-1", "abc", "1e3", str(10**10), "1.5"]),
        (f"{batch}/results", "page_size", ["0", "1001", "-5", "many"]),
        (f"{batch}/results", "format", ["xlsx", "CSV", "csv\x00"]),
        (f"{batch}/results", "order", ["sideways", ""]),
        (f"{batch}/failures", "page", ["0", "NaN"]),
        (f"{batch}/portfolio", "budget", ["nan", "inf", "-1", "0", "1e999", "abc", "1e17"]),
        (f"{batch}/portfolio", "currency", ["EUR", "jpy", "\uff2a\uff30\uff39"]),
        ("/v1/decisions", "since", ["yesterday", "2026-01-01T00:00:00", "2026-13-45T00:00Z"]),
        ("/v1/decisions", "until", ["0", "2026-01-01"]),
        ("/v1/decisions", "cursor", ["1-2-3", "1-" + "9" * 20, "-", "1-2;DROP"]),
        ("/v1/decisions", "limit", ["0", "1001", str(10**30), "ten"]),
        ("/v1/decisions", "rating", ["excellent", "\u202eoutstanding"]),
        ("/v1/decisions", "colour", ["grey"]),
        ("/v1/decisions", "caller", ["c" * 201]),
        ("/v1/decisions", "ruleset_version", ["v" * 65]),
        # a sort reached Content-Disposition: quotes, CR LF, a character beyond Latin-1
        (f"{batch}/results", "sort", ['x"; filename="evil.html', "a\r\nSet-Cookie: a=1",
                                      "\U000614b1", "overall_score\n", "../x", "a" * 65, ""]),
    ]
    for path, name, values in table:
        for value in values:
            yield Hostile(f"GET {path.split('/')[-1] or path} {name}={value[:20]!r}", "GET",
                          f"{path}?{name}={quote(value)}", name, None, None)


def _ruleset_cases() -> Iterator[Hostile]:
    for media in ("text/html", "application/xml", "image/png"):
        yield Hostile(f"ruleset as {media}", "POST", "/v1/rulesets", "Content-Type",
                      b"name: x", media)
    for what, body, field in [
            ("a numeric version", {"version": 1}, "version"), ("a blank version",
                                                              {"version": ""}, "version"),
            ("a 500-character version", {"version": "v" * 500}, "version"),
            ("an unknown field", {"version": "1", "force": True}, "force"),
            ("a path", {"version": "../../../etc/passwd"}, "version"),
            ("CR LF", {"version": "x\r\nSet-Cookie: a=1"}, "version"),
            ("a right-to-left override", {"version": "1.0\u202e"}, "version"),
            ("a trailing newline", {"version": "1.0.0\n"}, "version"),
            ("no version", {}, "version")]:
        yield Hostile(f"activate with {what}", "PUT", "/v1/rulesets/active", field,
                      json.dumps(body).encode())
    for what, body, field in [
            ("no proposals", {"proposals": []}, "proposals"),
            ("both sources", {"proposals": [TOMAHAWK], "batch_id": "x"}, "proposals"),
            ("neither source", {}, "proposals"),
            ("a 100-character batch id", {"batch_id": "b" * 100}, "batch_id"),
            ("a path as the version to compare", {"proposals": [TOMAHAWK],
                                                  "against": "../../etc/passwd"}, "against"),
            ("CR LF in the version to compare", {"proposals": [TOMAHAWK],
                                                 "against": "1.0\r\nX-Evil: 1"}, "against"),
            ("a proposal with NUL", {"proposals": [_set(TOMAHAWK, "title", "a\x00")]},
             "proposals.0.title"),
            ("an unknown field", {"proposals": [TOMAHAWK], "dry_run": True}, "dry_run")]:
        yield Hostile(f"impact with {what}", "POST", "/v1/rulesets/1.0.0/impact", field,
                      json.dumps(body).encode())


CORPUS = [*_evaluation_cases(), *_batch_cases(), *_query_cases(), *_ruleset_cases()]


def _send(url: str, case: Hostile) -> requests.Response:
    headers = {} if case.content_type is None else {"Content-Type": case.content_type}
    if case.field == "Idempotency-Key":
        headers["Idempotency-Key"] = "k" * 300
    return requests.request(case.method, f"{url}{case.path}", headers={**ADMIN, **headers},
                            data=case.body, timeout=60)


def test_the_corpus_is_large_and_every_name_unique() -> None:
    assert len(CORPUS) >= 200
    assert len({case.name for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c.name[:80] for c in CORPUS])
def test_hostile_payload_is_a_4xx_problem_naming_the_field(stack: str, case: Hostile) -> None:
    response = _send(stack, case)

    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    body = problem(response, response.status_code)
    # the field itself, or an item of it (`capabilities.datalinks.0`)
    named = fields_named(body)
    assert any(f == case.field or f.startswith(f"{case.field}.") for f in named), named


# --- CSV downloads: text a client supplied never starts a cell a spreadsheet would run -------

FORMULAS = ["=HYPERLINK(\"http://example.invalid\",\"x\")", "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"]


def _wait_done(url: str, location: str) -> None:
    deadline = time.monotonic() + 60
    while http.get(f"{url}{location}", timeout=10).json()["status"] != "done":
        assert time.monotonic() < deadline, "the batch did not finish"
        time.sleep(0.1)


def test_csv_download_neutralizes_every_formula_a_client_supplied(stack: str) -> None:
    scored = [_set(_set(TOMAHAWK, "title", formula), "id", formula) for formula in FORMULAS]
    # invalid items: the id is echoed, and so is an unknown key in the errors cell; tab and
    # CR survive there (titles and ids are stripped of them)
    failed = [{"id": formula, "title": 1} for formula in FORMULAS]
    failed += [{**TOMAHAWK, f"{start}cmd": 1} for start in FORMULA_STARTS]
    upload = http.post(f"{stack}/v1/batches", json=scored + failed, timeout=30)
    assert upload.status_code == 202, upload.text
    _wait_done(stack, upload.headers["Location"])

    download = http.get(f"{stack}{upload.headers['Location']}/results?format=csv", timeout=30)

    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == len(scored) + len(failed)
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), (column, cell)
    assert sorted(r["title"] for r in rows if r["status"] == "done") == sorted(
        "'" + formula for formula in FORMULAS)
    assert sorted(r["proposal_id"] for r in rows if r["status"] == "invalid" and
                  r["proposal_id"]) == sorted("'" + formula for formula in FORMULAS)
    assert {r["errors"][:2] for r in rows if "cmd: Unknown" in r["errors"]} == {
        "'" + start for start in FORMULA_STARTS}


def test_batch_item_with_a_lone_surrogate_fails_alone(stack: str) -> None:
    """JSON's `\\ud800` escape is valid JSON but no UTF-8: the item is refused by name, and
    neither the rest of its batch nor the batch's record suffers (the chunk used to crash
    on storing it, over and over)."""
    upload = b"[" + json.dumps(TOMAHAWK).encode() + b', {"\\ud800": 1}, {"id": "\\udc00"}]'
    response = http.post(f"{stack}/v1/batches", data=upload, timeout=30,
                         headers={"Content-Type": JSON})
    assert response.status_code == 202, response.text
    _wait_done(stack, response.headers["Location"])

    batch = http.get(f"{stack}{response.headers['Location']}", timeout=10).json()
    failures = http.get(f"{stack}{response.headers['Location']}/failures", timeout=10).json()

    assert (batch["done"], batch["failed"]) == (1, 2)
    assert [e["field"] for f in failures["items"] for e in f["errors"]] == ["\ufffd", "id"]


def test_service_is_healthy_after_the_corpus(stack: str) -> None:
    """Runs last in this module: a normal evaluation still works, and probes say ok."""
    evaluation = http.post(f"{stack}/v1/evaluations", json=TOMAHAWK, timeout=30)
    assert evaluation.status_code == 200, evaluation.text
    assert evaluation.json()["evaluation"]["title"] == TOMAHAWK["title"]
    assert requests.get(f"{stack}/healthz", timeout=10).json()["status"] == "ok"
    assert requests.get(f"{stack}/readyz", timeout=10).status_code == 200
