"""No worker to evaluate, or none in time.

- No worker ready: a synchronous POST is refused at once (503 `not-ready`, nothing queued)
  instead of waiting out SYNC_TIMEOUT for a 202 about work that may not start for long.
- `Prefer: respond-async` is queued anyway: the evaluation completes once a worker (started
  with `run_worker`, as `policy-eval worker` does) comes up, where Location said.
- A worker that answers pings but does not finish within the wait: 202 with a Location after
  SYNC_TIMEOUT (or the client's shorter `Prefer: wait`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin

import pytest
import redis
from flask import Flask

from service.api import close_app, create_app
from service.config import Settings
from service.observability.readiness import Check, Report
from service.worker.app import QUEUE
from tests.keys import API_KEYS

from .checks import assert_points_add_up, http, poll, problem
from .proposals import TOMAHAWK
from .servers import (
    MINI_RULESET,
    STALLED_DB,
    LoggedProcess,
    ThreadedServer,
    flushed_redis,
    service_env,
)

pytestmark = pytest.mark.integration
SYNC_TIMEOUT = 1.0
READINESS = "policy_eval_readiness"  # where service.observability.http keeps the checker


@pytest.fixture(scope="module")
def stalled() -> Iterator[tuple[str, str, Flask]]:
    """An API on its own Redis database, where no worker listens (yet)."""
    redis_url = flushed_redis(STALLED_DB)
    app = create_app(Settings(api_keys=API_KEYS, redis_url=redis_url, ruleset=MINI_RULESET,
                              sync_timeout=SYNC_TIMEOUT))
    server = ThreadedServer(app)
    yield server.url, redis_url, app
    server.stop()
    close_app(app)


def _queued(redis_url: str) -> int:
    return int(redis.Redis.from_url(redis_url).llen(QUEUE))


def test_a_sync_evaluation_with_no_worker_is_503_at_once_and_queues_nothing(
        stalled: tuple[str, str, Flask]) -> None:
    url, redis_url, _ = stalled
    before = _queued(redis_url)
    started = time.monotonic()
    response = http.post(f"{url}/v1/evaluations", json=TOMAHAWK, timeout=30)
    waited = time.monotonic() - started

    body = problem(response, 503)
    assert waited < SYNC_TIMEOUT + 1  # the readiness ping's second, never SYNC_TIMEOUT more
    assert body["type"] == "/problems/not-ready" and "No worker is ready" in body["detail"]
    assert [c["name"] for c in body["checks"] if not c["ok"]] == ["workers"]
    assert int(response.headers["Retry-After"]) > 0
    assert _queued(redis_url) == before


def test_respond_async_is_queued_and_completes_when_a_worker_starts(
        stalled: tuple[str, str, Flask], logs: Path) -> None:
    url, redis_url, _ = stalled
    response = http.post(f"{url}/v1/evaluations", json=TOMAHAWK, timeout=30,
                         headers={"Prefer": "respond-async"})

    assert response.status_code == 202, response.text
    assert response.headers["Preference-Applied"] == "respond-async"
    location = urljoin(url, response.headers["Location"])
    pending = http.get(location, timeout=10)
    assert pending.status_code == 202 and pending.json()["status"] == "queued"
    assert pending.headers["Location"] == response.headers["Location"]

    worker = LoggedProcess("late-worker", [
        sys.executable, "-c",
        f"from service.worker import run_worker; run_worker({redis_url!r}, 1, 'INFO')",
    ], service_env(None), logs)
    try:
        done = poll(location, timeout=60)
        assert done.status_code == 200, f"{done.text}\n{worker.log()}"
        assert done.json()["status"] == "done"
        assert_points_add_up(done.json()["evaluation"])
    finally:
        worker.stop()


@pytest.fixture
def worker_answering_pings(stalled: tuple[str, str, Flask]) -> Iterator[None]:
    """Readiness as it is with a worker that answers pings but is busy elsewhere."""
    _, _, app = stalled
    real = app.extensions[READINESS]
    app.extensions[READINESS] = SimpleNamespace(check=lambda: Report((
        Check("redis", True, "answered"), Check("workers", True, "busy@host answered"))))
    yield
    app.extensions[READINESS] = real


@pytest.mark.usefixtures("worker_answering_pings")
def test_a_wait_that_runs_out_answers_202_with_a_location(
        stalled: tuple[str, str, Flask]) -> None:
    url, _, _ = stalled
    started = time.monotonic()
    response = http.post(f"{url}/v1/evaluations", json=TOMAHAWK, timeout=30)
    waited = time.monotonic() - started

    assert response.status_code == 202, response.text
    assert SYNC_TIMEOUT <= waited < SYNC_TIMEOUT + 2
    assert "Preference-Applied" not in response.headers
    assert response.headers["Retry-After"] == "1"  # the polling hint, not the rate limiter's
    assert response.json()["status"] == "queued"


@pytest.mark.usefixtures("worker_answering_pings")
def test_prefer_wait_shortens_the_wait(stalled: tuple[str, str, Flask]) -> None:
    url, _, _ = stalled
    started = time.monotonic()
    response = http.post(f"{url}/v1/evaluations", json=TOMAHAWK,
                         headers={"Prefer": "wait=0.2"}, timeout=30)

    assert response.status_code == 202
    assert time.monotonic() - started < SYNC_TIMEOUT
