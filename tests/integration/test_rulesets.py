"""Ruleset versions on a running service: publish, refuse a broken one, activate, roll back and
see the impact, all over HTTP against a real worker process that is never restarted."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import redis
import requests

from tests.keys import bearer

from .checks import http, poll, problem
from .proposals import TOMAHAWK
from .servers import (
    MINI_RULESET,
    REDIS_BASE,
    LoggedProcess,
    api_without_workers,
    celery_worker,
    flushed_redis,
    gunicorn_api,
    service_env,
)

pytestmark = pytest.mark.integration
VERSIONS_DB, PINNED_DB = 12, 11  # this module's own databases: activating a version is global
YAML = {"Content-Type": "application/yaml"}
MINI_TEXT = MINI_RULESET.read_text()
# 1.1.0 turns the Link 16 strength (+20) into a weakness (-30): Tomahawk drops a rating
CANDIDATE = (MINI_TEXT.replace('version: "1.0.0"', 'version: "1.1.0"')
             .replace("value: link16}\n    points: 20", "value: link16}\n    points: -30"))


@pytest.fixture(scope="module")
def service(logs: Path) -> Iterator[tuple[str, LoggedProcess]]:
    redis_url = flushed_redis(VERSIONS_DB)
    worker = celery_worker(redis_url, logs, name="versions-worker")
    api, url = gunicorn_api(redis_url, logs)
    yield url, worker
    api.stop()
    worker.stop()


def evaluate(url: str, proposal: dict[str, Any] = TOMAHAWK) -> dict[str, Any]:
    response = http.post(f"{url}/v1/evaluations", json=proposal, timeout=30)
    assert response.status_code == 200, response.text
    evaluation: dict[str, Any] = response.json()["evaluation"]
    return evaluation


def scores(evaluation: dict[str, Any]) -> dict[str, float]:
    return {c["criterion"]: c["score"] for c in evaluation["criteria"]}


def publish(url: str, text: str, role: str = "analyst", **params: str) -> requests.Response:
    return http.post(f"{url}/v1/rulesets", data=text.encode(), headers={**YAML, **bearer(role)},
                     params=params, timeout=30)


def activate(url: str, version: str) -> requests.Response:
    return http.put(f"{url}/v1/rulesets/active", json={"version": version, "by": "tester"},
                        timeout=30)


def wait_for_version(url: str, version: str, within: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        evaluation = evaluate(url)
        if evaluation["ruleset"]["version"] == version or time.monotonic() > deadline:
            return evaluation
        time.sleep(0.2)


def test_a_broken_ruleset_is_refused_with_file_line_errors_and_changes_nothing(
        service: tuple[str, LoggedProcess]) -> None:
    url, _ = service
    before = evaluate(url)
    broken = CANDIDATE.replace("field: capabilities.datalinks, op: contains, value: link16",
                               "field: capabilites.datalinks, op: contains, value: link16")
    body = problem(publish(url, broken, source="candidate.yaml"), 422)

    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "capabilites" in text)
    [found] = body["problems"]
    assert (found["file"], found["line"], found["rule_id"]) == ("candidate.yaml", line,
                                                               "I-LINK16")
    assert found["text"] == (f"candidate.yaml:{line}:{found['col']}: I-LINK16: unknown field "
                             "'capabilites.datalinks' (hint: did you mean "
                             "'capabilities.datalinks'?)")
    listed = http.get(f"{url}/v1/rulesets", timeout=10).json()
    assert [v["version"] for v in listed["versions"]] == ["1.0.0"]
    assert evaluate(url) == before


def test_publish_activate_and_roll_back_without_restarting_the_worker(
        service: tuple[str, LoggedProcess]) -> None:
    url, worker = service
    pid = worker.process.pid
    old = evaluate(url)
    response = publish(url, CANDIDATE, note="Link 16 now a weakness", author="ignored")
    assert response.status_code == 201, response.text
    assert response.headers["Location"].endswith("/v1/rulesets/1.1.0")
    assert response.json()["active"] is False

    listed = http.get(f"{url}/v1/rulesets", timeout=10).json()
    assert listed["active"] == "1.0.0"
    published = {v["version"]: v for v in listed["versions"]}
    # with keys, the author is the key's name, whatever the request claims
    assert (published["1.1.0"]["note"], published["1.1.0"]["author"]) == (
        "Link 16 now a weakness", "analyst")
    assert published["1.1.0"]["created_at"]
    assert evaluate(url)["ruleset"]["version"] == "1.0.0"  # published is not active

    assert activate(url, "1.1.0").json()["version"] == "1.1.0"
    new = wait_for_version(url, "1.1.0")
    assert new["ruleset"]["version"] == "1.1.0"
    assert scores(new)["interoperability"] == scores(old)["interoperability"] - 50
    assert "I-LINK16" in {f["rule_id"] for c in new["criteria"] for f in c["weaknesses"]}

    assert activate(url, "1.0.0").status_code == 200  # roll back
    assert wait_for_version(url, "1.0.0") == old
    assert worker.alive() and worker.process.pid == pid
    history = http.get(f"{url}/v1/rulesets", timeout=10).json()["activations"]
    assert [(a["version"], a["by"]) for a in history[-2:]] == [("1.1.0", "admin"),
                                                               ("1.0.0", "admin")]


def test_versions_are_immutable(service: tuple[str, LoggedProcess]) -> None:
    url, _ = service
    publish(url, CANDIDATE)
    assert publish(url, CANDIDATE).status_code == 200  # the same content again: a no-op
    other = CANDIDATE.replace("points: -30", "points: -31")
    body = problem(publish(url, other), 409)
    assert "1.1.0" in body["detail"]
    problem(activate(url, "9.9.9"), 404)
    problem(http.get(f"{url}/v1/rulesets/9.9.9", timeout=10), 404)
    detail = http.get(f"{url}/v1/rulesets/1.1.0", timeout=10).json()
    assert detail["document"]["context"]["name"] == "mini"  # published self-contained
    assert [r["points"] for r in detail["rules"] if r["id"] == "I-LINK16"] == [-30.0]


def impact_job(url: str, body: dict[str, Any], role: str = "analyst") -> dict[str, Any]:
    """Start an impact job, follow its Location until it finishes; the finished job."""
    started = http.post(f"{url}/v1/rulesets/1.1.0/impact", json=body, headers=bearer(role),
                        timeout=30)
    assert started.status_code == 202, started.text
    assert started.headers["Location"] == f"/v1/jobs/{started.json()['id']}"
    assert started.json()["kind"] == "impact"
    assert started.json()["status"] in ("queued", "running", "done")  # a worker may be quick
    finished = poll(urljoin(url, started.headers["Location"]), timeout=60)
    assert finished.status_code == 200, finished.text
    job: dict[str, Any] = finished.json()
    return job


def test_impact_lists_the_proposals_that_change_and_the_rules_responsible(
        service: tuple[str, LoggedProcess]) -> None:
    url, _ = service
    publish(url, CANDIDATE)
    without_link16 = {**TOMAHAWK, "id": "no-link16",
                      "capabilities": {**TOMAHAWK["capabilities"], "datalinks": ["satcom"]}}
    job = impact_job(url, {"proposals": [TOMAHAWK, without_link16], "against": "1.0.0"})
    assert job["status"] == "done"
    assert job["progress"] == {"done": 4, "total": 4, "percent": 100.0}  # 2 evaluations each
    report = job["result"]
    assert (report["old_version"], report["new_version"], report["total"]) == ("1.0.0",
                                                                               "1.1.0", 2)
    [change] = [c for c in report["changes"] if c["rules"]]
    assert change["rules"] == ["I-LINK16"]
    assert change["old"]["rating"] != change["new"]["rating"]
    assert "rating" in change["changed"]
    bad = http.post(f"{url}/v1/rulesets/1.1.0/impact", timeout=10,
                        json={"proposals": [{**TOMAHAWK, "fiscal_year": "2026"}]})
    assert "proposals.0.fiscal_year" in [e["field"] for e in problem(bad, 422)["errors"]]


def test_impact_on_a_stored_batch_equals_the_impact_on_its_proposals(
        service: tuple[str, LoggedProcess]) -> None:
    url, _ = service
    publish(url, CANDIDATE)
    without_link16 = {**TOMAHAWK, "id": "no-link16",
                      "capabilities": {**TOMAHAWK["capabilities"], "datalinks": ["satcom"]}}
    proposals = [TOMAHAWK, without_link16, "not a proposal", {**TOMAHAWK, "title": 1}]
    submitted = http.post(f"{url}/v1/batches", json=proposals, timeout=60,
                          headers=bearer("analyst"))
    assert submitted.status_code == 202, submitted.text
    status = poll_until_done(urljoin(url, submitted.headers["Location"]))
    batch_id = status["id"]

    by_batch = impact_job(url, {"batch_id": batch_id, "against": "1.0.0"})
    by_proposals = impact_job(url, {"proposals": proposals[:2], "against": "1.0.0"})
    assert by_batch["result"] == by_proposals["result"]
    assert by_batch["result"]["total"] == 2  # the items that are no proposals have none
    problem(http.post(f"{url}/v1/rulesets/1.1.0/impact", timeout=10,
                      json={"batch_id": "no-such-batch"}), 404)
    both = http.post(f"{url}/v1/rulesets/1.1.0/impact", timeout=10,
                     json={"batch_id": batch_id, "proposals": [TOMAHAWK]})
    assert "proposals" in [e["field"] for e in problem(both, 422)["errors"]]


def test_impact_on_a_large_stored_batch_reports_progress_and_can_be_cancelled(
        service: tuple[str, LoggedProcess]) -> None:
    """Past the old 5,000-proposal cap: a job, with progress, that its owner can cancel."""
    url, _ = service
    publish(url, CANDIDATE)
    proposals = [{**TOMAHAWK, "id": f"p-{i}"} for i in range(6000)]
    submitted = http.post(f"{url}/v1/batches", json=proposals, timeout=120,
                          headers=bearer("analyst"))
    assert submitted.status_code == 202, submitted.text
    batch_id = poll_until_done(urljoin(url, submitted.headers["Location"]), 300)["id"]
    started = http.post(f"{url}/v1/rulesets/1.1.0/impact", timeout=30,
                        headers=bearer("analyst"), json={"batch_id": batch_id})
    assert started.status_code == 202, started.text
    job_url = urljoin(url, started.headers["Location"])
    deadline = time.monotonic() + 60
    while (job := http.get(job_url, timeout=10).json())["progress"] is None:
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert job["status"] == "running" and job["progress"]["total"] == 12_000
    assert 0 <= job["progress"]["done"] < 12_000
    other = requests.delete(job_url, headers=bearer("evaluator"), timeout=10)
    assert other.status_code == 404  # not the evaluator's: as if there were none
    cancelled = http.delete(job_url, headers=bearer("analyst"), timeout=10)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    after = http.get(job_url, timeout=10)
    assert after.status_code == 200 and after.json()["status"] == "cancelled"
    assert "result" not in after.json()
    # the worker itself stopped, at its next report (every 0.5 s), before the end
    meta_key = f"celery-task-meta-{started.json()['id']}"
    results = redis.Redis.from_url(f"{REDIS_BASE}/{VERSIONS_DB}")
    deadline = time.monotonic() + 10
    while json.loads(results.get(meta_key) or b"{}").get("status") != "SUCCESS":
        assert time.monotonic() < deadline, results.get(meta_key)
        time.sleep(0.1)
    assert json.loads(results.get(meta_key) or b"{}")["result"]["outcome"] == "cancelled"


def poll_until_done(location: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = http.get(location, timeout=10).json()
        if status["status"] == "done" or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


@pytest.fixture(scope="module")
def stalled(logs: Path) -> Iterator[tuple[str, str]]:
    """An API with no worker yet, so an evaluation can wait in the queue."""
    with api_without_workers(PINNED_DB, sync_timeout=0.2) as api:
        yield api


def test_an_evaluation_in_flight_finishes_on_the_version_it_started_with(
        stalled: tuple[str, str], logs: Path) -> None:
    url, redis_url = stalled
    queued = http.post(f"{url}/v1/evaluations", json=TOMAHAWK, timeout=30,
                           headers={"Prefer": "respond-async"})
    assert queued.status_code == 202
    publish(url, CANDIDATE)
    assert activate(url, "1.1.0").status_code == 200
    worker = LoggedProcess("pinned-worker", [
        sys.executable, "-c",
        f"from service.worker import run_worker; run_worker({redis_url!r}, 1, 'INFO')",
    ], service_env(None), logs)
    try:
        done = poll(urljoin(url, queued.headers["Location"]), timeout=60)
        assert done.status_code == 200, worker.log()
        assert done.json()["evaluation"]["ruleset"]["version"] == "1.0.0"
        time.sleep(1.1)  # the API's view of the active version is at most a second old
        assert evaluate(url)["ruleset"]["version"] == "1.1.0"
    finally:
        worker.stop()
