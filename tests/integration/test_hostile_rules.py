"""Hostile rule files published over HTTP: each refused within a second with a 4xx problem
naming what is wrong, and the service evaluating as before right after.

The files are tests/unit/test_hostile_rules.py's. This API accepts bodies of 16 MiB, so that a
huge rule file meets the rule-file limit (1 MiB, refused before the body is read), not the
API's general body limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service.engine.language.loader import MAX_BYTES
from tests.unit.test_hostile_rules import (
    ATOM,
    CASES,
    HOSTILE_RULE_TEXT,
    HOSTILE_VERSIONS,
    _with_version,
    with_rules,
)

from .checks import http, problem
from .proposals import TOMAHAWK
from .servers import LoggedProcess, gunicorn_api

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def roomy_api(redis_url: str, worker: LoggedProcess,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LoggedProcess]]:
    """The API under gunicorn with a 16 MiB body limit, on the main stack's Redis and worker."""
    process, url = gunicorn_api(redis_url, tmp_path_factory.mktemp("hostile"),
                                MAX_CONTENT_LENGTH=str(16 * MAX_BYTES), SYNC_TIMEOUT="10")
    assert_evaluates(url)  # warm: the first request's one-off set-up is not a hostile file's
    yield url, process
    process.stop()


def publish(url: str, text: str) -> Any:
    return http.post(f"{url}/v1/rulesets", params={"source": "hostile.yaml"},
                     data=text.encode(), headers={"Content-Type": "application/yaml"},
                     timeout=30)


def problem_texts(body: dict[str, Any]) -> list[str]:
    """What the client reads: each rule-file problem, else the problem's detail."""
    return [p["text"] for p in body.get("problems", [])] or [body["detail"]]


def assert_evaluates(url: str) -> None:
    response = http.post(f"{url}/v1/evaluations", json=TOMAHAWK, timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["status"] == "done"


@pytest.mark.parametrize(("text", "message"), [(case[1], case[2]) for case in CASES],
                         ids=[case[0] for case in CASES])
def test_hostile_rule_file_is_refused_and_the_service_carries_on(
    roomy_api: tuple[str, LoggedProcess], text: Callable[[], str], message: str
) -> None:
    url, process = roomy_api
    before = http.get(f"{url}/v1/rulesets", timeout=10).json()
    log_start = process.log_path.stat().st_size
    response = publish(url, text())
    body = problem(response, 413 if message.startswith("a rule file is at most") else 422)
    texts = problem_texts(body)
    assert any(message in t for t in texts), texts
    if "problems" in body:  # where, as `policy-eval rules check` says it
        assert all(t.startswith("hostile.yaml:") for t in texts), texts
    assert http.get(f"{url}/v1/rulesets", timeout=10).json() == before
    assert_evaluates(url)
    assert process.alive()
    with process.log_path.open("rb") as log:  # what this file made the API log
        log.seek(log_start)
        logged = log.read().decode(errors="replace")
    assert "unhandled error" not in logged and "Traceback" not in logged, logged[-3000:]


def test_a_chunked_upload_past_the_limit_is_refused_too(
    roomy_api: tuple[str, LoggedProcess]
) -> None:
    """Without a Content-Length the body is read up to the rule-file limit and refused at the
    byte after it (413), never parsed cut short."""
    url, _ = roomy_api
    text = "description: " + "x" * (2 * MAX_BYTES)
    response = http.post(f"{url}/v1/rulesets", params={"source": "hostile.yaml"},
                         data=iter([text.encode()]), headers={"Content-Type": "application/yaml"},
                         timeout=30)
    body = problem(response, 413)
    assert body["detail"].startswith(f"The ruleset is larger than {MAX_BYTES:,} bytes")
    assert_evaluates(url)


@pytest.mark.parametrize("version", HOSTILE_VERSIONS)
def test_a_version_that_is_not_a_version_is_never_published(
        roomy_api: tuple[str, LoggedProcess], version: str) -> None:
    """`a/b`, `..`, `<script>`, CR LF, NUL, U+202E, 65 characters used to publish (201), then
    reached URLs, result bodies and /metrics labels."""
    url, _ = roomy_api
    before = http.get(f"{url}/v1/rulesets", timeout=10).json()
    response = publish(url, _with_version(f'"{version}"'))
    texts = problem_texts(problem(response, 422))
    assert any("is not a version" in t or "'version': Contains" in t for t in texts), texts
    assert http.get(f"{url}/v1/rulesets", timeout=10).json() == before


@pytest.mark.parametrize(("key", "text", "message"), HOSTILE_RULE_TEXT,
                         ids=[f"{k} {m.split(',')[0]}" for k, _, m in HOSTILE_RULE_TEXT])
def test_rule_text_with_control_or_invisible_characters_is_never_published(
        roomy_api: tuple[str, LoggedProcess], key: str, text: str, message: str) -> None:
    url, _ = roomy_api
    quoted = f'"{text}"'
    body = (f"  - {{id: R1, criterion: interoperability, title: {quoted if key == 'title' else 't'}"
            f", when: {ATOM}, points: 1, because: {quoted if key == 'because' else 'x'}"
            + (f", otherwise: {quoted}" if key == "otherwise" else "") + "}\n")
    response = publish(url, with_rules(body))
    texts = problem_texts(problem(response, 422))
    assert any(message in t and f": R1: {key!r}: " in t for t in texts), texts
