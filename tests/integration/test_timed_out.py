"""A wait that runs out: no worker is consuming, so the API answers 202 with a Location after
SYNC_TIMEOUT; the evaluation completes once a worker (started with `run_worker`, as
`policy-eval worker` does) comes up, and the client finds it where Location said."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest

from .checks import assert_points_add_up, http, poll
from .proposals import TOMAHAWK
from .servers import (
    STALLED_DB,
    LoggedProcess,
    api_without_workers,
    service_env,
)

pytestmark = pytest.mark.integration
SYNC_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def stalled() -> Iterator[tuple[str, str]]:
    """An API on its own Redis database, where no worker listens (yet)."""
    with api_without_workers(STALLED_DB, sync_timeout=SYNC_TIMEOUT) as api:
        yield api


def test_timed_out_wait_answers_202_then_completes_when_a_worker_starts(
        stalled: tuple[str, str], logs: Path) -> None:
    url, redis_url = stalled
    started = time.monotonic()
    response = http.post(f"{url}/v1/evaluations", json=TOMAHAWK, timeout=30)
    waited = time.monotonic() - started

    assert response.status_code == 202, response.text
    assert SYNC_TIMEOUT <= waited < SYNC_TIMEOUT + 2
    assert "Preference-Applied" not in response.headers
    location = urljoin(url, response.headers["Location"])
    assert response.json()["status"] == "queued"
    pending = http.get(location, timeout=10)
    assert pending.status_code == 202
    assert pending.json()["status"] == "queued"
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


def test_prefer_wait_shortens_the_wait(stalled: tuple[str, str]) -> None:
    url, _ = stalled
    started = time.monotonic()
    response = http.post(f"{url}/v1/evaluations", json=TOMAHAWK,
                             headers={"Prefer": "wait=0.2"}, timeout=30)

    assert response.status_code == 202
    assert time.monotonic() - started < SYNC_TIMEOUT
