"""The robustness of a batch as a service: started over HTTP, run in units by a real Celery
worker (two processes) on Redis, followed, cancelled, read with its charts; and the same in
embedded mode. The ruleset is the mini one with the uncertainty section
(``tests/fixtures/mini/uncertain.yaml``), except where nothing may be uncertain."""

from __future__ import annotations

import csv
import io
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import redis
import requests

from bench import synthetic
from bench.synthetic import header_for, proposal_to_row
from service.api import close_app, create_app
from service.batch.redis_store import key
from service.cli.main import main
from service.config import Settings
from service.jobs.parts import RedisJobParts
from tests.keys import OTHER_EVALUATOR, bearer

from .checks import problem
from .servers import (
    ROOT,
    ThreadedServer,
    celery_worker,
    flushed_redis,
    gunicorn_api,
)

pytestmark = pytest.mark.integration
ROBUSTNESS_DB = 3  # this module's own database: its stack runs another ruleset
UNCERTAIN = ROOT / "tests" / "fixtures" / "mini" / "uncertain.yaml"
A, B = "evaluator", OTHER_EVALUATOR
SVG = "image/svg+xml"


@pytest.fixture(scope="module")
def uncertain(logs: Path) -> Iterator[tuple[str, str]]:
    """API (gunicorn) and worker on Redis, both on the ruleset that declares uncertainty:
    ``(url, redis_url)``."""
    redis_url = flushed_redis(ROBUSTNESS_DB)
    worker = celery_worker(redis_url, logs, name="robustness-worker",
                           POLICY_RULESET=str(UNCERTAIN))
    api, url = gunicorn_api(redis_url, logs, POLICY_RULESET=str(UNCERTAIN))
    yield url, redis_url
    api.stop()
    worker.stop()


def csv_upload(count: int, seed: int) -> bytes:
    rng = random.Random(seed)
    proposals = [synthetic.proposal(rng, number) for number in range(count)]
    header = header_for(proposals)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(proposal_to_row(p, header) for p in proposals)
    return text.getvalue().encode()


def scored_batch(url: str, count: int, seed: int = 1, who: str = A) -> str:
    """A finished batch of ``count`` generated proposals, uploaded as CSV by ``who``."""
    sent = requests.post(f"{url}/v1/batches", data=csv_upload(count, seed), timeout=60,
                         headers={**bearer(who), "Content-Type": "text/csv"})
    assert sent.status_code == 202, sent.text
    location = urljoin(url, sent.headers["Location"])
    deadline = time.monotonic() + 120
    while (status := requests.get(location, headers=bearer(who), timeout=10).json())[
            "status"] != "done":
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status["done"] == count
    batch_id: str = status["id"]
    return batch_id


def start(url: str, batch_id: str, body: dict[str, Any] | None = None, who: str = A
          ) -> requests.Response:
    return requests.post(f"{url}/v1/batches/{batch_id}/robustness", json=body or {},
                         headers=bearer(who), timeout=60)


def follow(url: str, started: requests.Response, who: str = A, timeout: float = 120
           ) -> tuple[dict[str, Any], list[dict[str, int]]]:
    """The finished job, and every progress it reported on the way."""
    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["Location"] == f"/v1/jobs/{job['id']}" == job["links"]["self"]
    assert job["kind"] == "robustness"
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        answer = requests.get(urljoin(url, started.headers["Location"]), headers=bearer(who),
                              timeout=30)
        job = answer.json()
        if job["progress"]:
            seen.append(job["progress"])
        if answer.status_code != 202:
            assert answer.status_code == 200, answer.text
            return job, seen
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def test_a_csv_batch_is_analysed_in_units_with_progress_and_charts(
        uncertain: tuple[str, str]) -> None:
    url, _ = uncertain
    batch_id = scored_batch(url, 400)
    job, seen = follow(url, start(url, batch_id, {"samples": 4000, "top_k": 5,
                                                  "budget": 5e11, "currency": "JPY"}))
    assert job["status"] == "done", job
    total = seen[-1]["total"]
    assert [p["done"] for p in seen] == sorted(p["done"] for p in seen)  # never backwards
    assert seen[-1] == {"done": total, "total": total, "percent": 100.0}
    result = job["result"]
    assert (result["batch_id"], result["samples"], result["top_k"]) == (batch_id, 4000, 5)
    assert result["uncertainty"]["weights"] == {"interoperability": [0.4, 0.6],
                                                "budget_fit": [0.4, 0.6]}
    for criterion in result["weight_stability"]:
        assert criterion["first"]["lower"] <= criterion["weight"] <= criterion["first"]["upper"]
    ranked = result["rank_acceptability"]
    assert len(ranked) == 400
    assert sum(p["first"] for p in ranked) == pytest.approx(1)
    assert sum(p["top_k"] for p in ranked) == pytest.approx(5)
    assert all(low <= p["expected_rank"] <= high
               for p in ranked for low, high in [p["rank_interval"]])
    portfolio = result["portfolio"]
    assert (portfolio["samples"], portfolio["budget"], portfolio["currency"]) == (500, 5e11,
                                                                                  "JPY")
    assert {p["status"] for p in portfolio["proposals"]} <= {"core", "borderline", "exterior"}
    assert any(p["status"] == "borderline" for p in portfolio["proposals"])  # costs moved it
    assert set(result["charts"]) == {"tornado", "rank-acceptability", "core-indices"}
    for name, link in result["charts"].items():
        assert link == f"/v1/jobs/{job['id']}/charts/{name}.svg"
        chart = requests.get(urljoin(url, link), headers=bearer(A), timeout=30)
        assert chart.status_code == 200 and chart.headers["Content-Type"].split(";")[0] == SVG
        assert chart.text.startswith("<svg") and "<desc" in chart.text
        assert B not in chart.text
        other = requests.get(urljoin(url, link), headers=bearer(B), timeout=30)
        assert problem(other, 404)["detail"].startswith("No job")
    missing = requests.get(f"{url}/v1/jobs/{job['id']}/charts/pie.svg", headers=bearer(A),
                           timeout=30)
    assert "pie" in problem(missing, 404)["detail"]


def test_the_same_request_gives_the_same_answer_and_another_seed_another(
        uncertain: tuple[str, str]) -> None:
    """However the units were shared between the two worker processes."""
    url, _ = uncertain
    batch_id = scored_batch(url, 150, seed=2)
    first, _ = follow(url, start(url, batch_id, {"samples": 3000}))
    again, _ = follow(url, start(url, batch_id, {"samples": 3000}))
    assert first["result"]["seed"] == again["result"]["seed"]  # derived from the batch id
    assert {**first["result"], "charts": None} == {**again["result"], "charts": None}
    seeded, _ = follow(url, start(url, batch_id, {"samples": 3000, "seed": 7}))
    reseeded, _ = follow(url, start(url, batch_id, {"samples": 3000, "seed": 7}))
    assert seeded["result"]["seed"] == 7
    assert seeded["result"]["rank_acceptability"] == reseeded["result"]["rank_acceptability"]
    assert seeded["result"]["rank_acceptability"] != first["result"]["rank_acceptability"]
    for name in ("tornado", "rank-acceptability", "core-indices"):
        charts = [requests.get(urljoin(url, job["result"]["charts"][name]), headers=bearer(A),
                               timeout=30).text for job in (first, again)]
        assert charts[0] == charts[1]


def test_another_evaluators_batch_and_job_are_unknown_to_them(
        uncertain: tuple[str, str]) -> None:
    url, _ = uncertain
    batch_id = scored_batch(url, 30, seed=3)
    unknown = "0" * len(batch_id)
    theirs, nobodys = start(url, batch_id, who=B), start(url, unknown, who=B)
    assert problem(theirs, 404)["detail"] == problem(nobodys, 404)["detail"].replace(
        unknown, batch_id)
    started = start(url, batch_id)
    job, _ = follow(url, started)
    location = urljoin(url, started.headers["Location"])
    for method in ("GET", "DELETE"):
        answer = requests.request(method, location, headers=bearer(B), timeout=30)
        assert problem(answer, 404)["detail"].startswith("No job")
    assert requests.get(location, headers=bearer("admin"), timeout=30).json() == job
    finished = requests.delete(location, headers=bearer(A), timeout=30)
    assert problem(finished, 409)["type"].endswith("/job-finished")


def test_a_cancelled_job_stops_on_the_workers(uncertain: tuple[str, str]) -> None:
    """Units not started do nothing; running ones stop at their next report (0.5 s)."""
    url, redis_url = uncertain
    batch_id = scored_batch(url, 3000, seed=4)
    started = start(url, batch_id, {"samples": 100_000})
    assert started.status_code == 202, started.text
    location = urljoin(url, started.headers["Location"])
    job_id = started.json()["id"]
    deadline = time.monotonic() + 60
    while not (job := requests.get(location, headers=bearer(A), timeout=30).json())[
            "progress"] or job["progress"]["done"] == 0:
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert job["status"] == "running"
    cancelled = requests.delete(location, headers=bearer(A), timeout=30)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    parts = RedisJobParts(redis_url, 60)
    total = (parts.progress(job_id) or (0, 0))[1]
    time.sleep(1.5)  # every running unit has reported (and so seen the cancellation)
    settled = parts.progress(job_id)
    time.sleep(3)
    assert parts.progress(job_id) == settled  # nothing runs any more
    assert settled is not None and settled[0] < total
    meta = redis.Redis.from_url(redis_url).get(f"celery-task-meta-{job_id}")
    assert json.loads(meta or b"{}").get("status") != "SUCCESS"  # never combined
    after = requests.get(location, headers=bearer(A), timeout=30).json()
    assert after["status"] == "cancelled" and "result" not in after
    chart = requests.get(f"{location}/charts/tornado.svg", headers=bearer(A), timeout=30)
    problem(chart, 404)


def test_bad_requests_are_refused_before_anything_is_queued(
        uncertain: tuple[str, str]) -> None:
    url, _ = uncertain
    batch_id = scored_batch(url, 20, seed=5)
    bad = problem(start(url, batch_id, {"samples": 0, "top_k": 0, "colour": "red"}), 422)
    assert {e["field"] for e in bad["errors"]} == {"samples", "top_k", "colour"}
    usd = problem(start(url, batch_id, {"currency": "USD"}), 422)
    assert usd["errors"] == [{"field": "currency", "location": "body",
                              "message": "USD needs a budget."}]
    problem(start(url, "no-such-batch"), 404)
    running = requests.post(f"{url}/v1/batches", data=csv_upload(3000, 6), timeout=60,
                            headers={**bearer(A), "Content-Type": "text/csv"})
    early = start(url, running.json()["id"])
    assert problem(early, 409)["type"].endswith("/batch-not-finished")
    assert early.headers["Retry-After"] == "1"


def test_a_batch_stored_before_summaries_kept_the_cost_basis_is_a_clear_409(
        uncertain: tuple[str, str]) -> None:
    """Its summaries lack ``acquisition_path`` and ``cost_currency``, which the ruleset's
    cost uncertainty needs: told so, never a 500."""
    url, redis_url = uncertain
    batch_id = scored_batch(url, 12, seed=8)
    store = redis.Redis.from_url(redis_url)
    summaries = store.hgetall(key(batch_id, "summary"))
    store.hset(key(batch_id, "summary"), mapping={
        index: json.dumps({k: v for k, v in json.loads(value).items()
                           if k not in ("acquisition_path", "cost_currency")})
        for index, value in summaries.items()})
    refused = problem(start(url, batch_id), 409)
    assert refused["type"].endswith("/batch-not-analysable")
    assert "acquisition_path" in refused["detail"] and "submit the batch again" in refused[
        "detail"]


def test_without_uncertainty_the_answer_is_the_plain_ranking_and_portfolio(stack: str) -> None:
    """The main stack's mini ruleset declares no uncertainty: every sample is the stated
    weights and costs, so the first place, the ranks and the portfolio are the batch's own."""
    batch_id = scored_batch(stack, 60, seed=9)
    budget = 2e11
    job, _ = follow(stack, start(stack, batch_id, {"samples": 1500, "top_k": 4,
                                                   "budget": budget}))
    result = job["result"]
    assert result["uncertainty"] is None
    ranking = requests.get(f"{stack}/v1/batches/{batch_id}/results", timeout=30,
                           params={"page_size": 100}, headers=bearer(A)).json()["items"]
    by_rank = [(p["index"], p["first"], p["top_k"], p["expected_rank"], p["rank_interval"])
               for p in result["rank_acceptability"]]
    assert by_rank == [(item["index"], 1.0 if item["rank"] == 1 else 0.0,
                        1.0 if item["rank"] <= 4 else 0.0, float(item["rank"]),
                        [item["rank"], item["rank"]]) for item in ranking]
    plain = requests.get(f"{stack}/v1/batches/{batch_id}/portfolio", timeout=30,
                         params={"budget": budget}, headers=bearer(A)).json()
    funded = {p["index"] for p in plain["chosen"]}
    core = result["portfolio"]["proposals"]
    assert {p["index"] for p in core if p["status"] == "core"} == funded
    assert all(p["share"] == (1.0 if p["index"] in funded else 0.0) for p in core)
    assert all(p["standard_error"] == 0 for p in core)


@pytest.fixture(scope="module")
def embedded() -> Iterator[str]:
    app = create_app(Settings(redis_url=None, ruleset=UNCERTAIN))
    server = ThreadedServer(app)
    yield server.url
    server.stop()
    close_app(app)


def test_embedded_mode_runs_the_same_units_to_the_same_answer(
        embedded: str, uncertain: tuple[str, str]) -> None:
    """One process, its worker thread: the same batch and request answer what two worker
    processes on Redis answer."""
    url, _ = uncertain
    body = {"samples": 2500, "top_k": 3, "seed": 11}
    answers = []
    for where in (embedded, url):
        batch_id = scored_batch(where, 80, seed=10)
        job, _ = follow(where, start(where, batch_id, body))
        answers.append({k: v for k, v in job["result"].items()
                        if k not in ("batch_id", "charts")})
        tornado = requests.get(urljoin(where, job["result"]["charts"]["tornado"]), timeout=30,
                               headers=bearer(A))
        assert tornado.status_code == 200 and tornado.headers["Content-Type"].split(";")[0] == SVG
    assert answers[0] == answers[1]


def test_the_command_line_answers_alike_locally_and_on_the_service(
        embedded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``policy-eval robustness``: scored and analysed in a local pool, or uploaded, scored
    and analysed by the service; the seed is the file's either way, so the reports and the
    charts written beside them are the same."""
    upload = tmp_path / "programmes.csv"
    upload.write_bytes(csv_upload(120, seed=12))
    common = [str(upload), "--samples", "2500", "--top-k", "4", "--portfolio", "5e11"]
    here, there = tmp_path / "local.json", tmp_path / "service.json"
    assert main(["robustness", *common, "-o", str(here), "--ruleset", str(UNCERTAIN),
                 "--engine", "native", "--workers", "2"]) == 0
    assert main(["robustness", *common, "-o", str(there), "--url", embedded]) == 0
    local, remote = json.loads(here.read_text()), json.loads(there.read_text())
    assert local.pop("batch_id") is None and remote.pop("batch_id")
    assert local.pop("charts") == {"tornado": "local-tornado.svg",
                                   "rank-acceptability": "local-rank-acceptability.svg",
                                   "core-indices": "local-core-indices.svg"}
    assert set(remote.pop("charts")) == {"tornado", "rank-acceptability", "core-indices"}
    assert local == remote and local["samples"] == 2500 and local["top_k"] == 4
    for name in ("tornado", "rank-acceptability", "core-indices"):
        svg = (tmp_path / f"local-{name}.svg").read_text()
        assert svg.startswith("<svg") and svg == (tmp_path / f"service-{name}.svg").read_text()
    printed = capsys.readouterr()
    assert printed.out.count("Rank acceptability over 2,500 samples") == 2
    assert "analysing" in printed.err and "analysing" not in printed.out
    bad = tmp_path / "nowhere" / "report.json"
    with pytest.raises(SystemExit) as refused:
        main(["robustness", *common, "-o", str(bad)])
    assert refused.value.code == 2
