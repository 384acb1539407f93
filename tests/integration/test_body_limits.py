"""No request body is accepted in part: over its limit it is 413 problem+json, with or without
`Content-Length`, on every endpoint that reads a body, through gunicorn as deployed.

The bodies are sent with `Transfer-Encoding: chunked` over a raw socket (HTTP clients send
`Content-Length` when they know the size). Each over-limit body is built so that its first
`limit` bytes are a complete, valid request on their own: a server that read up to the limit
and stopped (as Werkzeug's `get_data()` does with a chunked body) would accept it. A body of
exactly the limit is accepted, so the refusal is of the byte after it.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPResponse
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from service.engine import MAX_RULESET_BYTES
from tests.keys import ADMIN

from .checks import PROBLEM, http
from .proposals import TOMAHAWK
from .servers import MINI_RULESET, LoggedProcess, gunicorn_api

pytestmark = pytest.mark.integration
LIMIT = 65_536  # MAX_CONTENT_LENGTH of this module's API
BATCH_LIMIT = 300_000  # its BATCH_MAX_BYTES
JSON = "application/json"


@pytest.fixture(scope="module")
def api(redis_url: str, worker: LoggedProcess, logs: Path) -> Iterator[str]:
    process, url = gunicorn_api(redis_url, logs, MAX_CONTENT_LENGTH=str(LIMIT),
                                BATCH_MAX_BYTES=str(BATCH_LIMIT))
    yield url
    process.stop()


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def send_chunked(url: str, method: str, path: str, body: bytes, content_type: str,
                 chunk: int = 8192) -> Answer:
    """``body`` in chunks of ``chunk`` bytes, without Content-Length; the server may answer
    (413) and close before the rest is sent, so sending goes on in a thread of its own."""
    where = urlsplit(url)
    sock = socket.create_connection((where.hostname, where.port), timeout=30)
    head = (f"{method} {path} HTTP/1.1\r\nHost: {where.netloc}\r\n"
            f"Transfer-Encoding: chunked\r\nContent-Type: {content_type}\r\n"
            f"Authorization: {ADMIN['Authorization']}\r\nConnection: close\r\n\r\n").encode()

    def send() -> None:
        try:
            sock.sendall(head)
            for start in range(0, len(body), chunk):
                piece = body[start:start + chunk]
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:  # refused and closed while we were still sending: expected
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        response = HTTPResponse(sock)
        response.begin()
        answer = Answer(response.status, response.getheader("Content-Type", ""),
                        response.read())
    finally:
        sender.join(30)
        sock.close()
    return answer


def padded(document: bytes, size: int) -> bytes:
    """``document`` followed by blanks up to ``size`` bytes: valid JSON (or YAML) whatever
    length it is cut to, as long as the document itself is whole."""
    assert len(document) <= size
    return document + b" " * (size - len(document))


def _refused(answer: Answer) -> None:
    assert answer.status == 413, (answer.status, answer.body[:300])
    assert answer.content_type.startswith(PROBLEM)
    assert json.loads(answer.body)["status"] == 413


PROPOSAL = json.dumps(TOMAHAWK).encode()
# (name, method, path, a whole body, its content type, its limit)
ENDPOINTS = [
    ("evaluation", "POST", "/v1/evaluations", PROPOSAL, JSON, LIMIT),
    ("activation", "PUT", "/v1/rulesets/active", b'{"version": "1.0.0"}', JSON, LIMIT),
    ("impact", "POST", "/v1/rulesets/1.0.0/impact",
     json.dumps({"proposals": [TOMAHAWK]}).encode(), JSON, LIMIT),
    ("batch, JSON", "POST", "/v1/batches", b"[" + PROPOSAL + b"]", JSON, BATCH_LIMIT),
    ("batch, JSON Lines", "POST", "/v1/batches", PROPOSAL + b"\n", "application/x-ndjson",
     BATCH_LIMIT),
]


@pytest.mark.parametrize(("method", "path", "body", "media", "limit"),
                         [case[1:] for case in ENDPOINTS], ids=[c[0] for c in ENDPOINTS])
def test_a_chunked_body_over_the_limit_is_413_never_read_in_part(
        api: str, method: str, path: str, body: bytes, media: str, limit: int) -> None:
    _refused(send_chunked(api, method, path, padded(body, limit + 1), media))
    _refused(send_chunked(api, method, path, padded(body, 30 * limit), media))
    whole = send_chunked(api, method, path, padded(body, limit), media)
    assert whole.status < 300, (whole.status, whole.body[:300])  # exactly the limit is fine


def test_a_multipart_upload_over_the_limit_is_413(api: str) -> None:
    boundary = "limitsboundary"
    part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            "filename=\"p.jsonl\"\r\nContent-Type: application/x-ndjson\r\n\r\n").encode()
    body = part + padded(PROPOSAL + b"\n", BATCH_LIMIT) + f"\r\n--{boundary}--\r\n".encode()
    _refused(send_chunked(api, "POST", "/v1/batches", body,
                          f"multipart/form-data; boundary={boundary}"))


def _ruleset_with_a_rule_past(offset: int, version: str) -> bytes:
    """The mini ruleset under ``version``, padded with a YAML comment so that its last rule
    starts past byte ``offset``: cut there, it is still a valid ruleset without that rule."""
    text = MINI_RULESET.read_text().replace('version: "1.0.0"', f'version: "{version}"')
    head, last = text.rsplit("\n  - id: ", 1)
    filler = "\n# " + "x" * (offset - len(head.encode()) + 100)
    return f"{head}{filler}\n  - id: {last}".encode()


def test_a_chunked_ruleset_is_never_published_without_its_end(api: str) -> None:
    """It used to be published (201) without the rules past 1 MiB."""
    body = _ruleset_with_a_rule_past(MAX_RULESET_BYTES, "7.7.7")
    assert len(body) > MAX_RULESET_BYTES
    _refused(send_chunked(api, "POST", "/v1/rulesets", body, "application/yaml"))
    # and as an ordinary client sends it, with its Content-Length: refused unread
    with_length = http.post(f"{api}/v1/rulesets", data=body, timeout=30,
                            headers={"Content-Type": "application/yaml"})
    assert with_length.status_code == 413
    assert requests.get(f"{api}/v1/rulesets/7.7.7", headers=ADMIN, timeout=10
                        ).status_code == 404
