"""Fixtures: a real Redis (dedicated databases, flushed), a real ``celery worker`` subprocess and
the API under gunicorn, talked to over HTTP; plus the embedded server in a thread.

Redis must be running (``.ci/run`` starts it). When it is not, every test that needs it fails
with a message saying so: a skipped integration suite would pass CI while proving nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.api import close_app, create_app
from service.config import Settings

from .servers import (
    MAIN_DB,
    MINI_RULESET,
    LoggedProcess,
    ThreadedServer,
    celery_worker,
    flush_used_databases,
    flushed_redis,
    gunicorn_api,
)


def pytest_sessionfinish() -> None:
    """After every server and worker has stopped (session fixtures end before this)."""
    flush_used_databases()


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The main stack's Redis database, empty at the start of the session."""
    return flushed_redis(MAIN_DB)


@pytest.fixture(scope="session")
def worker(redis_url: str, logs: Path) -> Iterator[LoggedProcess]:
    process = celery_worker(redis_url, logs)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def api_url(redis_url: str, logs: Path) -> Iterator[str]:
    """The API under gunicorn, with a small body limit so a 413 is cheap to provoke."""
    process, url = gunicorn_api(redis_url, logs, MAX_CONTENT_LENGTH="65536", SYNC_TIMEOUT="10")
    yield url
    process.stop()


@pytest.fixture(scope="session")
def stack(api_url: str, worker: LoggedProcess) -> str:
    """API and worker both up: the URL to send evaluations to."""
    return api_url


@pytest.fixture(scope="module")
def embedded_url() -> Iterator[str]:
    """Embedded mode as `policy-eval serve` runs it: no Redis, the worker in a thread."""
    app = create_app(Settings(redis_url=None, ruleset=MINI_RULESET))
    server = ThreadedServer(app)
    yield server.url
    server.stop()
    close_app(app)
