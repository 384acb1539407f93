"""Faults injected into a running deployment: gunicorn API → a Redis of this
module's own (append-only, as docker-compose.yml runs it) → ``celery worker`` processes, over
HTTP. A worker killed outright, Redis restarted under traffic, a proposal that crashes the
engine's process: no proposal is lost or counted twice, and the API never answers 500.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from bench import synthetic
from service.batch.chunks import Chunk, Outcome, Scored
from service.batch.formats import RawItem
from service.batch.memory_store import MemoryBatchStore
from service.batch.processing import MAX_CRASHES, process_chunk
from service.config import ConfigError, Settings
from service.engine import Engine
from service.worker.app import BATCH_QUEUE, celery_config
from tests.keys import bearer

from .checks import PROBLEM, poll, problem
from .poison_worker import CRASH_LINE, POISON_TITLE
from .proposals import TOMAHAWK
from .servers import (
    MINI_RULESET,
    LoggedProcess,
    RedisServer,
    celery_worker,
    gunicorn_api,
    wait_for,
)

pytestmark = pytest.mark.integration
AUTH = bearer("evaluator")
SYNC_TIMEOUT = 10.0
# Short enough for a test to wait out, and at least twice the task time limit (Settings checks).
# The limit outlasts the Redis outage: a worker's main process does not run its event loop
# while it reconnects, and then applies time limits late, to tasks that ended meanwhile.
VISIBILITY_TIMEOUT = 20
ENV = {"TASK_TIME_LIMIT": "10", "BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
       "POLICY_ENGINE": "native", "BATCH_CHUNK_SIZE": "250", "RATE_LIMIT": "1000000/minute",
       "SYNC_TIMEOUT": str(SYNC_TIMEOUT)}
BATCH_SIZE = 10_000
SOAK = pytest.mark.skipif(os.environ.get("POLICY_SOAK") != "1", reason="soak: POLICY_SOAK=1")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("faults-redis"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api(redis_server: RedisServer, logs: Path) -> Iterator[str]:
    process, url = gunicorn_api(redis_server.url, logs, **ENV)
    yield url
    process.stop()


@pytest.fixture
def start_worker(redis_server: RedisServer, logs: Path
                 ) -> Iterator[Callable[..., LoggedProcess]]:
    """Start ``celery worker`` processes on the module's Redis (``ENV`` with a test's changes);
    those still running are stopped after the test."""
    started: list[LoggedProcess] = []

    def start(name: str, module: str = "celery", queues: str | None = None,
              **env: str) -> LoggedProcess:
        started.append(celery_worker(redis_server.url, logs, name=name, module=module,
                                     queues=queues, **(ENV | env)))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def submit_batch(url: str, items: list[Any]) -> str:
    body = "\n".join(json.dumps(item) for item in items).encode()
    response = requests.post(f"{url}/v1/batches", data=body, timeout=120,
                             headers={"Content-Type": "application/x-ndjson", **AUTH})
    assert response.status_code == 202, response.text[:500]
    return str(response.headers["Location"])


def status(url: str, location: str) -> dict[str, Any]:
    response = requests.get(urljoin(url, location), headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text[:500]
    found: dict[str, Any] = response.json()
    return found


def wait_until(url: str, location: str, done: int, timeout: float = 120) -> dict[str, Any]:
    """Poll the batch until ``done`` items have an outcome (or it ended); its last status."""
    deadline = time.monotonic() + timeout
    while True:
        found = status(url, location)
        if (found["done"] + found["failed"] >= done or found["status"] in ("done", "cancelled")
                or time.monotonic() > deadline):
            return found
        time.sleep(0.05)


def download(url: str, location: str) -> list[dict[str, Any]]:
    response = requests.get(urljoin(url, f"{location}/results"), params={"format": "jsonl"},
                            headers=AUTH, timeout=120)
    assert response.status_code == 200, response.text[:500]
    return [json.loads(line) for line in response.text.splitlines()]


def assert_each_item_once(lines: list[dict[str, Any]], total: int) -> None:
    """The download accounts for every proposal of the upload exactly once."""
    indexes = [line["index"] for line in lines]
    assert len(indexes) == total, f"{len(indexes)} lines for {total} proposals"
    assert sorted(indexes) == list(range(total)), "items missing or doubled"


def proposals(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [synthetic.proposal(rng, index) for index in range(count)]


def test_a_worker_killed_outright_mid_batch_is_replaced_and_nothing_is_lost_or_doubled(
        api: str, start_worker: Callable[..., LoggedProcess]) -> None:
    worker = start_worker("faults-killed-worker")
    location = submit_batch(api, proposals(BATCH_SIZE, seed=61))
    before = wait_until(api, location, done=2000)
    os.killpg(worker.process.pid, signal.SIGKILL)  # the main process and its pool, at once
    worker.process.wait()
    at_kill = status(api, location)
    assert at_kill["status"] == "running" and at_kill["done"] < BATCH_SIZE, at_kill
    assert before["done"] >= 2000

    start_worker("faults-replacement-worker")
    # the killed worker's chunks come back after the visibility timeout
    final = wait_until(api, location, done=BATCH_SIZE, timeout=VISIBILITY_TIMEOUT + 60)

    assert (final["status"], final["done"], final["failed"]) == ("done", BATCH_SIZE, 0), final
    assert_each_item_once(download(api, location), BATCH_SIZE)
    print(f"worker killed with {at_kill['done']} of {BATCH_SIZE} scored; the replacement "
          f"finished the batch")  # figures for the README


@dataclass
class Traffic:
    """Synchronous evaluations and batch polls sent in a loop from a thread, every answer kept
    as ``(seconds since start, status, content type, problem type, seconds taken)``."""

    url: str
    location: str
    answers: list[tuple[float, int, str, str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    evaluated: list[float] = field(default_factory=list)  # when each evaluation succeeded
    _stop: threading.Event = field(default_factory=threading.Event)
    _started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for method, path, body in (("POST", "/v1/evaluations", TOMAHAWK),
                                       ("GET", self.location, None)):
                sent = time.monotonic()
                try:
                    response = requests.request(method, urljoin(self.url, path), json=body,
                                                headers=AUTH, timeout=SYNC_TIMEOUT + 20)
                except requests.RequestException as error:  # a hang or a dropped connection
                    self.errors.append(f"{method} {path}: {error}")
                    continue
                kind = response.headers.get("Content-Type", "")
                slug = response.json().get("type", "") if kind.startswith(PROBLEM) else ""
                self.answers.append((sent - self._started, response.status_code, kind, slug,
                                     time.monotonic() - sent))
                if method == "POST" and response.status_code == 200:
                    self.evaluated.append(sent - self._started)
            time.sleep(0.05)

    def now(self) -> float:
        return time.monotonic() - self._started

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(SYNC_TIMEOUT + 30)


@pytest.mark.parametrize("outage", [4.0, pytest.param(20.0, marks=SOAK)], ids=["4s", "20s"])
def test_redis_restarted_under_traffic_answers_503_then_recovers_and_the_batch_completes(
        api: str, redis_server: RedisServer, start_worker: Callable[..., LoggedProcess],
        outage: float) -> None:
    worker = start_worker("faults-restart-worker")
    location = submit_batch(api, proposals(BATCH_SIZE, seed=62))
    wait_until(api, location, done=1000)
    traffic = Traffic(api, location)
    time.sleep(1)
    redis_server.stop()
    down = traffic.now()
    time.sleep(outage)
    redis_server.start()
    up = traffic.now()
    try:
        wait_for(lambda: any(at > up for at in traffic.evaluated), 60,
                 "no evaluation succeeded after Redis came back")
        final = wait_until(api, location, done=BATCH_SIZE, timeout=VISIBILITY_TIMEOUT + 60)
    finally:
        traffic.stop()

    assert not traffic.errors, traffic.errors[:5]
    assert {code for _, code, *_ in traffic.answers} <= {200, 202, 503}, traffic.answers
    outage = [a for a in traffic.answers if a[1] == 503]
    assert outage, "no request saw Redis down"
    # Redis away: broker-unavailable; back, but no worker reconnected yet to answer the
    # readiness ping: not-ready (a synchronous evaluation is refused at once, nothing queued)
    assert all(kind.startswith(PROBLEM) and slug in ("/problems/broker-unavailable",
                                                     "/problems/not-ready")
               for _, _, kind, slug, _ in outage), outage
    # refused only while Redis was away or no worker had reconnected yet: never once an
    # evaluation had succeeded again (how long a worker takes to reconnect depends on load)
    recovered_at = min(at for at in traffic.evaluated if at > up)
    assert all(down - 1 <= at <= recovered_at for at, *_ in outage), (down, up, outage)
    assert max(took for *_, took in traffic.answers) < SYNC_TIMEOUT + 5
    # recovered without restarting the API or the worker
    assert worker.alive()
    assert final["status"] == "done" and final["done"] + final["failed"] == BATCH_SIZE, final
    lines = download(api, location)
    assert_each_item_once(lines, BATCH_SIZE)
    assert all(line["errors"] for line in lines if line["status"] != "done")
    assert final["failed"] == 0, [line for line in lines if line["status"] != "done"][:3]
    recovered = recovered_at - up
    not_ready = sum(slug == "/problems/not-ready" for *_, slug, _ in outage)
    print(f"Redis down {up - down:.1f} s: {len(traffic.answers)} answers, {len(outage)} of "
          f"them 503 ({not_ready} not-ready), first evaluation {recovered:.1f} s after Redis "
          "was back; batch "
          f"{final['done']} done, {final['failed']} failed")  # figures for the README


def test_an_evaluation_not_done_within_a_long_wait_is_accepted_not_unavailable(
        api: str, start_worker: Callable[..., LoggedProcess]) -> None:
    """A worker answers pings (so the API is ready) but takes only batch chunks: the request
    waits out its 6 s, longer than redis-py's default socket timeout (5 s), and must then
    answer 202, not mistake the quiet for an outage."""
    start_worker("faults-batches-only-worker", queues=BATCH_QUEUE)
    # a worker that has logged "ready." may take longer than the 1 s readiness ping to answer
    # its first one on a loaded machine: wait, as a deployment's readiness probe does
    wait_for(lambda: requests.get(f"{api}/readyz", timeout=10).status_code == 200, 30,
             "/readyz did not turn 200 with a worker up")
    started = time.monotonic()
    response = requests.post(f"{api}/v1/evaluations", json=TOMAHAWK, timeout=30,
                             headers={"Prefer": "wait=6", **AUTH})

    assert response.status_code == 202, response.text[:500]
    assert response.headers["Location"]
    assert 6 <= time.monotonic() - started < 8


@pytest.fixture
def poison_worker(start_worker: Callable[..., LoggedProcess]) -> LoggedProcess:
    return start_worker("faults-poison-worker", module="tests.integration.poison_worker")


def crashes(worker: LoggedProcess) -> int:
    """Pool processes the poisoned engine crashed, from the worker's log."""
    return worker.log_path.read_text(errors="replace").count(CRASH_LINE)


def poison() -> dict[str, Any]:
    return copy.deepcopy(TOMAHAWK) | {"title": POISON_TITLE}


def test_a_poison_proposal_fails_alone_and_the_rest_of_its_chunk_is_scored(
        api: str, poison_worker: LoggedProcess) -> None:
    items = proposals(1000, seed=63)
    culprit = 260  # in the second chunk of 250, with items scored before and after it
    items[culprit] = poison()
    location = submit_batch(api, items)

    final = wait_until(api, location, done=len(items), timeout=120)

    assert (final["status"], final["done"], final["failed"]) == ("done", 999, 1), final
    lines = download(api, location)
    assert_each_item_once(lines, len(items))
    failed = [line for line in lines if line["status"] != "done"]
    assert [line["index"] for line in failed] == [culprit]
    assert "died" in failed[0]["errors"][0]["message"], failed
    # all at once, then alone, then alone again: failed after its second crash alone
    assert crashes(poison_worker) == 3


def test_a_poison_proposal_evaluated_alone_fails_with_a_problem_instead_of_coming_back(
        api: str, poison_worker: LoggedProcess) -> None:
    started = time.monotonic()
    response = requests.post(f"{api}/v1/evaluations", json=poison(), headers=AUTH, timeout=60)
    if response.status_code == 202:  # a lost pool process can take seconds to be noticed
        response = poll(urljoin(api, response.headers["Location"]), timeout=60)
        assert response.json()["status"] == "failed", response.text[:500]
        failure = response.json()["error"]
    else:
        failure = problem(response, 500)

    assert (failure["type"], failure["status"]) == ("/problems/evaluation-failed", 500)
    assert "could not evaluate this proposal (WorkerLostError)" in failure["detail"]
    assert time.monotonic() - started < 30
    assert crashes(poison_worker) == 3  # the first run and two retries, then no more
    healthy = requests.post(f"{api}/v1/evaluations", json=TOMAHAWK, headers=AUTH, timeout=30)
    assert healthy.status_code == 200, healthy.text[:500]
    assert crashes(poison_worker) == 3


class _ProcessDied(BaseException):
    """Stands in, in one process, for the engine's process dying: nothing catches it."""


class _PoisonedEngine(Engine):
    def assess(self, raw: Any, explain: Any = "summary", *, cross_check: bool = True) -> Any:
        if raw.get("title") == POISON_TITLE:
            raise _ProcessDied
        return super().assess(raw, explain, cross_check=cross_check)


class _Hooks:
    def __init__(self) -> None:
        self._engine = _PoisonedEngine.from_path(MINI_RULESET, mode="native")

    def engine(self, version: str | None) -> Engine:
        return self._engine

    def log_decisions(self, batch_id: str, caller: str, engine: Engine, scored: list[Scored]
                      ) -> None:
        return None

    def observe(self, ruleset_version: str, outcomes: list[Outcome]) -> None:
        return None


def test_a_chunk_started_again_isolates_the_item_that_kills_its_worker() -> None:
    """The same bookkeeping as the poison test above, without processes: each start that
    "dies" is followed by another, as a redelivery would be."""
    items = [json.dumps(p) for p in proposals(60, seed=64)]
    items[37] = json.dumps(poison())
    store, hooks = MemoryBatchStore(), _Hooks()
    store.create("b", {"id": "b", "state": "active", "ttl": "60", "total": "60"}, 60)
    store.put_chunks("b", [(0, Chunk("jsonl", "summary", [
        RawItem(index, index + 1, item) for index, item in enumerate(items)]).encode())], 60)

    starts = 0
    while store.chunk("b", 0) is not None and starts < 20:
        starts += 1
        try:
            process_chunk(store, hooks, "b", 0)
        except _ProcessDied:
            continue

    assert starts == 2 + MAX_CRASHES  # all at once, alone, alone again, then failed
    assert store.counts("b") == (59, 1)
    assert [f["index"] for f in store.failures("b", 0, 10)] == [37]
    assert store.meta("b")["state"] == "done"  # type: ignore[index]


def test_the_visibility_timeout_is_set_and_never_shorter_than_twice_the_time_limit() -> None:
    """Past the visibility timeout Redis hands a message to a second worker even if the first
    still runs it: twice the task time limit leaves room for a task that waited for a pool
    process to run to its limit."""
    settings = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:1/0",
                                  "TASK_TIME_LIMIT": "5", "BROKER_VISIBILITY_TIMEOUT": "10"})
    options = celery_config(settings)["broker_transport_options"]
    assert options["visibility_timeout"] == 10 and options["unacked_restore_interval"] <= 2
    assert Settings().visibility_timeout == 300  # unset: as before the setting existed
    with pytest.raises(ConfigError, match="BROKER_VISIBILITY_TIMEOUT"):
        Settings.from_env({"TASK_TIME_LIMIT": "30", "BROKER_VISIBILITY_TIMEOUT": "45"})
