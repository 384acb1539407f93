"""Redis unreachable: the API answers 503 problem+json with Retry-After, never a 500 or a hang,
and /healthz stays up and says the broker is down."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from service.api import close_app, create_app
from service.config import Settings
from tests.keys import API_KEYS

from .checks import http, problem
from .proposals import TOMAHAWK
from .servers import MINI_RULESET, ThreadedServer, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def no_redis_url() -> Iterator[str]:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = create_app(Settings(api_keys=API_KEYS, redis_url=nowhere, ruleset=MINI_RULESET))
    server = ThreadedServer(app)
    yield server.url
    server.stop()
    close_app(app)


def test_submitting_without_redis_is_503(no_redis_url: str) -> None:
    started = time.monotonic()
    response = http.post(f"{no_redis_url}/v1/evaluations", json=TOMAHAWK, timeout=30)

    body = problem(response, 503)
    assert body["type"] == "/problems/broker-unavailable"
    assert response.headers["Retry-After"]
    assert time.monotonic() - started < 10


def test_polling_without_redis_is_503(no_redis_url: str) -> None:
    problem(http.get(f"{no_redis_url}/v1/evaluations/abc", timeout=30), 503)


def test_health_reports_the_broker_down(no_redis_url: str) -> None:
    response = http.get(f"{no_redis_url}/healthz", timeout=30)

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["broker"]["reachable"] is False


def test_validation_does_not_need_redis(no_redis_url: str) -> None:
    problem(http.post(f"{no_redis_url}/v1/evaluations", json={"title": 1}, timeout=30), 422)
