"""Metrics, logs and readiness on the production shape: gunicorn with two worker processes and
``service.api.gunicorn_conf``, a real ``celery worker`` (prefork) subprocess, real Redis
(databases 9 and 8, this module's own), and one PROMETHEUS_MULTIPROC_DIR shared by all of them.

- every scrape, whichever gunicorn process answers it, reports the same totals: the requests by
  route and status counted by both API processes, the evaluations by rating and ruleset version
  counted by the worker's pool processes;
- the JSON log lines carry the request id (API) and the decision id with it (worker);
- ``/readyz`` turns 503 when the worker stops and 200 when another one is up, and the stopped
  worker's counts stay in ``/metrics``, also once the new worker has folded its files away.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.keys import bearer

from .checks import problem
from .proposals import ISOLATED_RADAR, TOMAHAWK
from .servers import (
    LoggedProcess,
    answers,
    flushed_redis,
    free_port,
    service_env,
    wait_for,
)

pytestmark = pytest.mark.integration

METRICS_DB, READINESS_DB = 9, 8  # this module's own databases, flushed at start
EVALUATOR = bearer("evaluator")


@dataclass
class Stack:
    url: str
    api: LoggedProcess
    worker: LoggedProcess
    redis_url: str
    metrics_dir: Path
    log_dir: Path

    def env(self) -> dict[str, str]:
        return observed_env(self.redis_url, self.metrics_dir)


def observed_env(redis_url: str, metrics_dir: Path) -> dict[str, str]:
    return service_env(redis_url, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), LOG_FORMAT="json",
                       LOG_LEVEL="INFO")


def start_worker(redis_url: str, metrics_dir: Path, log_dir: Path, name: str) -> LoggedProcess:
    """As docker-compose.yml runs it: concurrency from WORKER_CONCURRENCY, not a flag."""
    worker = LoggedProcess(name, [
        sys.executable, "-m", "celery", "-A", "service.worker.app", "worker",
        "--loglevel=INFO", "--pool=prefork", f"--hostname={name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ], {**observed_env(redis_url, metrics_dir), "WORKER_CONCURRENCY": "2"}, log_dir)
    worker.wait_for_log(" ready.")
    return worker


def start_api(redis_url: str, metrics_dir: Path, log_dir: Path, name: str,
              workers: int) -> tuple[LoggedProcess, str]:
    """As the Dockerfile runs it: gunicorn with service.api.gunicorn_conf."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**observed_env(redis_url, metrics_dir), "API_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": str(workers), "API_THREADS": "4"}
    api = LoggedProcess(name, [sys.executable, "-m", "gunicorn", "-c",
                               "python:service.api.gunicorn_conf", "service.api.wsgi:app"],
                        env, log_dir)

    wait_for(lambda: answers(url, api), 60, "gunicorn did not answer /healthz", api.log)
    return api, url


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("observability-logs")
    metrics_dir = tmp_path_factory.mktemp("metrics")
    redis_url = flushed_redis(METRICS_DB)
    worker = start_worker(redis_url, metrics_dir, log_dir, "observed-worker")
    api, url = start_api(redis_url, metrics_dir, log_dir, "observed-gunicorn", workers=2)
    yield Stack(url, api, worker, redis_url, metrics_dir, log_dir)
    api.stop()
    worker.stop()


def evaluate(url: str, proposal: Any, request_id: str | None = None) -> requests.Response:
    headers = {**EVALUATOR, **({"X-Request-ID": request_id} if request_id else {})}
    return requests.post(f"{url}/v1/evaluations", json=proposal, headers=headers, timeout=30)


SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for line in response.text.splitlines():
        match = SAMPLE.match(line)
        if match:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
            samples[(match["name"], labels)] = float(match["value"])
    return samples


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
           **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def json_lines(process: LoggedProcess) -> list[dict[str, Any]]:
    lines = []
    for line in process.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_metrics_are_summed_over_every_api_and_worker_process(observed: Stack) -> None:
    count = 12
    with ThreadPoolExecutor(6) as pool:  # concurrent, so both gunicorn processes serve some
        answers = list(pool.map(lambda i: evaluate(
            observed.url, ISOLATED_RADAR if i % 3 == 0 else TOMAHAWK), range(count)))
    assert [a.status_code for a in answers] == [200] * count
    ratings: dict[str, int] = {}
    for answer in answers:
        rating = answer.json()["evaluation"]["rating"]
        ratings[rating] = ratings.get(rating, 0) + 1
    version = answers[0].json()["evaluation"]["ruleset"]["version"]
    assert requests.get(f"{observed.url}/v1/evaluations/unknown", headers=EVALUATOR,
                        timeout=10).status_code == 404

    # The worker counts after storing a result, so possibly just after the answer.
    wait_for(lambda: sample(scrape(observed.url), "policy_eval_task_duration_seconds_count",
                            task="policy.evaluate", state="SUCCESS") == count, 10,
             "the worker did not count every evaluation", observed.worker.log)
    # Each scrape is answered by one of the two API processes; all see the same totals.
    for _ in range(6):
        samples = scrape(observed.url)
        requests_counted = sample(samples, "policy_eval_http_request_duration_seconds_count",
                                  method="POST", route="/v1/evaluations", status="200")
        assert requests_counted == count
        assert sample(samples, "policy_eval_http_request_duration_seconds_count", method="GET",
                      route="/v1/evaluations/<string:evaluation_id>", status="404") == 1
        assert sample(samples, "policy_eval_http_request_duration_seconds_bucket",
                      method="POST", route="/v1/evaluations", status="200", le="+Inf") == count
        for rating, rated in ratings.items():
            assert sample(samples, "policy_eval_evaluations_total", outcome="done",
                          rating=rating, ruleset_version=version) == rated, rating
        assert sample(samples, "policy_eval_task_duration_seconds_count",
                      task="policy.evaluate", state="SUCCESS") == count
        assert sample(samples, "policy_eval_queue_depth", queue="policy-evaluations",
                      transport="redis") == 0
        assert sample(samples, "policy_eval_broker_reachable", transport="redis") == 1

    served_by = {line["pid"] for line in json_lines(observed.api)
                 if line.get("logger") == "service.access" and line.get("method") == "POST"}
    files = sorted(p.name for p in observed.metrics_dir.iterdir())
    # the API's and the worker's processes counted, each in files of its own
    assert len({name.split("_", 1)[1] for name in files if name.startswith("histogram_")}) >= 2, (
        files, served_by)


def test_json_logs_carry_the_request_and_decision_ids(observed: Stack) -> None:
    request_id = f"req-{time.time_ns()}"
    answer = evaluate(observed.url, TOMAHAWK, request_id)
    assert answer.status_code == 200
    assert answer.headers["X-Request-ID"] == request_id
    decision_id = answer.json()["evaluation"]["decision_id"]
    made_up = evaluate(observed.url, TOMAHAWK).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_up)

    def access_line() -> list[dict[str, Any]]:
        return [line for line in json_lines(observed.api)
                if line.get("request_id") == request_id and line["logger"] == "service.access"]

    wait_for(lambda: bool(access_line()), 10, "no access line with the request id",
             observed.api.log)
    [line] = access_line()
    assert (line["method"], line["route"], line["status"]) == ("POST", "/v1/evaluations", 200)
    assert {"time", "level", "pid", "message", "duration_ms"} <= set(line)

    def decided() -> list[dict[str, Any]]:
        return [line for line in json_lines(observed.worker)
                if line.get("decision_id") == decision_id
                and line.get("request_id") == request_id]

    wait_for(lambda: bool(decided()), 10, "no worker line with the decision id",
             observed.worker.log)
    worker_lines = decided()
    assert {line["task_id"] for line in worker_lines} == {answer.json()["id"]}
    assert any(line["logger"] == "service.worker.evaluations" for line in worker_lines)
    assert all("data" not in line for line in json_lines(observed.worker))  # no raw proposals


def test_readyz_follows_the_workers(tmp_path: Path) -> None:
    redis_url = flushed_redis(READINESS_DB)
    metrics_dir = tmp_path / "metrics"
    api, url = start_api(redis_url, metrics_dir, tmp_path, "readiness-gunicorn", workers=1)
    workers: list[LoggedProcess] = []
    try:
        def ready() -> requests.Response:
            return requests.get(f"{url}/readyz", timeout=10)

        not_ready = problem(ready(), 503)  # no worker yet
        assert not_ready["type"] == "/problems/not-ready"
        assert [(c["name"], c["ok"]) for c in not_ready["checks"]] == [("redis", True),
                                                                      ("workers", False)]
        # an evaluation submitted meanwhile waits in the queue, and is counted there
        queued = requests.post(f"{url}/v1/evaluations", json=TOMAHAWK,
                               headers={**EVALUATOR, "Prefer": "respond-async"}, timeout=10)
        assert queued.status_code == 202
        assert sample(scrape(url), "policy_eval_queue_depth", queue="policy-evaluations",
                      transport="redis") == 1

        workers.append(start_worker(redis_url, metrics_dir, tmp_path, "readiness-worker-1"))
        wait_for(lambda: ready().status_code == 200, 15, "/readyz did not turn 200", api.log)
        body = ready().json()
        assert body["status"] == "ready"
        assert "readiness-worker-1@" in body["checks"][1]["detail"]
        assert evaluate(url, TOMAHAWK).status_code == 200
        wait_for(lambda: sample(scrape(url), "policy_eval_task_duration_seconds_count",
                                task="policy.evaluate", state="SUCCESS") == 2, 10,
                 "the worker did not count both evaluations", workers[0].log)
        assert sample(scrape(url), "policy_eval_queue_depth", queue="policy-evaluations",
                      transport="redis") == 0

        workers[0].stop()
        wait_for(lambda: ready().status_code == 503, 15, "/readyz did not turn 503", api.log)
        stopped = problem(ready(), 503)
        assert "no worker answered a ping" in stopped["detail"]
        assert ready().headers["Retry-After"]
        assert requests.get(f"{url}/healthz", timeout=10).status_code == 200  # still live
        # the stopped worker's counts are still summed: its files outlive it
        assert sample(scrape(url), "policy_eval_task_duration_seconds_count",
                      task="policy.evaluate", state="SUCCESS") == 2

        workers.append(start_worker(redis_url, metrics_dir, tmp_path, "readiness-worker-2"))
        wait_for(lambda: ready().status_code == 200, 15, "/readyz did not turn 200 again",
                 api.log)
        assert "readiness-worker-2@" in ready().json()["checks"][1]["detail"]
        # starting, it folded the stopped worker's files into the host's archive: same totals
        assert any(p.name.endswith("-archive.db") for p in metrics_dir.iterdir())
        assert sample(scrape(url), "policy_eval_task_duration_seconds_count",
                      task="policy.evaluate", state="SUCCESS") == 2
    finally:
        for worker in workers:
            worker.stop()
        api.stop()
