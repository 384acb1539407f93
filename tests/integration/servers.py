"""Starting and stopping the real processes and servers the integration tests talk to."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from service.api import close_app, create_app
from service.config import Settings
from tests.keys import API_KEYS

ROOT = Path(__file__).resolve().parents[2]
MINI_RULESET = ROOT / "tests" / "fixtures" / "mini" / "ruleset.yaml"


REDIS_BASE = os.environ.get("POLICY_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
MAIN_DB, STALLED_DB = 15, 14  # the tests own these databases and flush them
_used: set[str] = set()  # databases flushed for a test, emptied again when the session ends


def flushed_redis(db: int) -> str:
    """The URL of database ``db`` of the test Redis, emptied; fails the test if Redis is down."""
    url = f"{REDIS_BASE}/{db}"
    _used.add(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.flushdb()
    except redis.RedisError as error:
        pytest.fail(
            f"Redis is not reachable at {url} ({error}). The integration tests need a real "
            "Redis server: start one (`redis-server`, or run `.ci/run`, which starts it), or "
            "point POLICY_TEST_REDIS_URL at one.",
            pytrace=False,
        )
    return url


def flush_used_databases() -> None:
    """Leave the test Redis as the suite found it: nothing of ours in the databases we used."""
    for url in sorted(_used):
        # a test that stopped Redis on purpose may have left it stopped
        with contextlib.suppress(redis.RedisError):
            redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(check: Callable[[], bool], timeout: float, what: str,
             diagnose: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout:.0f} s\n{diagnose()}")


class LoggedProcess:
    """A child process whose output goes to a file, shown when something goes wrong."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        text = self.log_path.read_text(errors="replace")
        return f"--- {self.name} log ({self.log_path}) ---\n{text[-6000:]}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_for_log(self, needle: str, timeout: float = 60) -> None:
        def seen() -> bool:
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.process.returncode}\n"
                                     f"{self.log()}")
            return needle in self.log_path.read_text(errors="replace")

        wait_for(seen, timeout, f"{self.name} did not log {needle!r}", self.log)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (warm shutdown for Celery, graceful for gunicorn), then SIGKILL."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def service_env(redis_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "POLICY_RULESET", "POLICY_ENGINE", "SYNC_TIMEOUT")}
    env.update({"POLICY_RULESET": str(MINI_RULESET), "PYTHONUNBUFFERED": "1",
                "API_KEYS": API_KEYS, **extra})
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def celery_worker(redis_url: str, log_dir: Path, name: str = "worker", module: str = "celery",
                  queues: str | None = None, **env: str) -> LoggedProcess:
    """``celery worker`` as deployed (docker-compose.yml): prefork pool, two processes;
    ``module`` runs Celery's command line with a test's bootstrap around it; ``queues`` (comma
    separated) limits what it consumes, as ``celery worker -Q`` does."""
    worker = LoggedProcess(name, [
        sys.executable, "-m", module, "-A", "service.worker.app", "worker",
        "--loglevel=INFO", "--concurrency=2", "--pool=prefork", f"--hostname={name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        *([f"--queues={queues}"] if queues else []),
    ], service_env(redis_url, **env), log_dir)
    try:
        worker.wait_for_log(" ready.")
    except BaseException:  # no fixture will stop a worker it never got
        worker.stop()
        raise
    return worker


def gunicorn_api(redis_url: str, log_dir: Path, **env: str) -> tuple[LoggedProcess, str]:
    """The API under gunicorn, as deployed (docker-compose.yml)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    api = LoggedProcess("gunicorn", [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
        "--worker-class", "gthread", "--workers", "1", "--threads", "8",
        "service.api.wsgi:app",
    ], service_env(redis_url, **env), log_dir)
    try:
        wait_for(lambda: answers(url, api), 60, "gunicorn did not answer /healthz", api.log)
    except BaseException:  # no fixture will stop a server it never got
        api.stop()
        raise
    return api, url


def answers(url: str, process: LoggedProcess) -> bool:
    """Whether the API ``process`` serves ``/healthz`` yet; raises if it has exited."""
    if not process.alive():
        raise AssertionError(f"gunicorn exited\n{process.log()}")
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # still booting its worker
        return False


class ThreadedServer:
    """werkzeug's threaded server on a free port, in a thread of the test process."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@contextmanager
def api_without_workers(db: int, **settings: Any) -> Iterator[tuple[str, str]]:
    """An API (in a thread of the test process) on its own Redis database where no worker
    listens yet, so evaluations wait in the queue: ``(url, redis_url)``."""
    redis_url = flushed_redis(db)
    app = create_app(Settings(api_keys=API_KEYS, redis_url=redis_url, ruleset=MINI_RULESET,
                              **settings))
    server = ThreadedServer(app)
    try:
        yield server.url, redis_url
    finally:
        server.stop()
        close_app(app)



class RedisServer:
    """A ``redis-server`` of a test's own, on a fresh port, keeping an append-only file as
    docker-compose.yml configures it, so its data survives ``stop`` and ``start``."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = data_dir
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with (self._dir / "redis.log").open("ab") as log:  # the child keeps its own copy
            self._process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "yes", "--dir", str(self._dir)],
                stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        wait_for(lambda: _pings(client), 20, "redis-server did not answer PING",
                 lambda: (self._dir / "redis.log").read_text(errors="replace")[-3000:])

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits, as on a restart."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(20)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:  # still loading its append-only file, or not listening yet
        return False
