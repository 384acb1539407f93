"""The production shape: gunicorn API → Redis → ``celery worker`` (prefork) → Redis → API."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
import yaml

from .checks import assert_points_add_up, http, poll, problem
from .proposals import ISOLATED_RADAR, TOMAHAWK, variant
from .servers import MINI_RULESET, ROOT, service_env

pytestmark = pytest.mark.integration


def evaluate(url: str, proposal: Any, params: dict[str, str] | None = None,
             headers: dict[str, str] | None = None) -> requests.Response:
    return http.post(f"{url}/v1/evaluations", json=proposal, params=params,
                         headers=headers, timeout=30)


def test_sync_evaluation_scores_rates_and_explains(stack: str) -> None:
    response = evaluate(stack, TOMAHAWK)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "done"
    assert body["submitted_at"] <= body["completed_at"]
    evaluation = body["evaluation"]
    ruleset = yaml.safe_load(MINI_RULESET.read_text())
    assert [c["criterion"] for c in evaluation["criteria"]] == list(ruleset["criteria"])
    assert evaluation["rating"] == "outstanding"
    assert evaluation["recommendation"] == "recommend"
    assert evaluation["title"] == TOMAHAWK["title"]
    assert evaluation["criteria"][0]["strengths"][0]["sentence"] == (
        "Tomahawk Block V carries Link 16.")
    assert_points_add_up(evaluation)
    # the result stays available where Content-Location says
    again = http.get(urljoin(stack, response.headers["Content-Location"]), timeout=10)
    assert again.status_code == 200
    assert again.json() == body


def test_deficiency_caps_the_recommendation(stack: str) -> None:
    evaluation = evaluate(stack, ISOLATED_RADAR).json()["evaluation"]

    interoperability = evaluation["criteria"][0]
    assert [d["rule_id"] for d in interoperability["deficiencies"]] == ["I-NO-DATALINK"]
    assert interoperability["deficiencies"][0]["caps_at"] == "defer"
    assert [w["rule_id"] for w in evaluation["criteria"][1]["weaknesses"]] == [
        "B-NO-SUSTAIN", "B-LATE"]
    assert evaluation["recommendation"] == "defer"
    assert_points_add_up(evaluation)


def test_explain_full_adds_the_rules_that_did_not_fire(stack: str) -> None:
    evaluation = evaluate(stack, TOMAHAWK, params={"explain": "full"}).json()["evaluation"]

    not_fired = {rule["rule_id"]: rule for rule in evaluation["not_fired"]}
    assert "I-NO-DATALINK" in not_fired
    failed = not_fired["I-NO-DATALINK"]["failed"][0]
    assert (failed["field"], failed["observed"], failed["holds"]) == (
        "derived.datalink_count", 1.0, False)
    fired = {f["rule_id"] for c in evaluation["criteria"]
             for f in c["strengths"] + c["weaknesses"] + c["deficiencies"]}
    assert fired.isdisjoint(not_fired)
    assert len(fired) + len(not_fired) == len(yaml.safe_load(MINI_RULESET.read_text())["rules"])


def test_same_proposal_same_decision(stack: str) -> None:
    first, second = (evaluate(stack, TOMAHAWK).json() for _ in range(2))

    assert first["id"] != second["id"]
    assert first["evaluation"] == second["evaluation"]


def test_async_evaluation_is_polled_until_done(stack: str) -> None:
    response = evaluate(stack, TOMAHAWK, headers={"Prefer": "respond-async"})

    assert response.status_code == 202, response.text
    assert response.headers["Preference-Applied"] == "respond-async"
    location = response.headers["Location"]
    assert location == f"/v1/evaluations/{response.json()['id']}"
    assert response.json()["status"] in ("queued", "running", "done")
    done = poll(urljoin(stack, location))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    assert done.json()["evaluation"] == evaluate(stack, TOMAHAWK).json()["evaluation"]


def test_concurrent_requests_each_get_their_own_result(stack: str) -> None:
    titles = [f"Concurrent proposal {n}" for n in range(24)]
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda t: evaluate(stack, variant(TOMAHAWK, title=t)), titles))

    assert [r.status_code for r in responses] == [200] * len(titles)
    assert [r.json()["evaluation"]["title"] for r in responses] == titles


def test_unknown_evaluation_is_404(stack: str) -> None:
    for unknown in ("0f8fad5b-d9cb-469f-a165-70867728950e", "not-an-id", "x" * 200):
        body = problem(http.get(f"{stack}/v1/evaluations/{unknown}", timeout=10), 404)
        assert "No evaluation" in body["detail"]


def test_active_ruleset_lists_weights_bands_and_rules(stack: str) -> None:
    response = http.get(f"{stack}/v1/rulesets/active", timeout=10)

    assert response.status_code == 200
    active = response.json()
    source = yaml.safe_load(MINI_RULESET.read_text())
    assert (active["name"], active["version"]) == (source["name"], source["version"])
    assert active["hash"].startswith("sha256:")
    assert {c["name"]: c["weight"] for c in active["criteria"]} == {
        name: c["weight"] for name, c in source["criteria"].items()}
    assert all(c["rationale"] for c in active["criteria"])
    assert [b["rating"] for b in active["bands"]] == [b["rating"] for b in source["bands"]]
    assert [r["id"] for r in active["rules"]] == [r["id"] for r in source["rules"]]
    no_datalink = next(r for r in active["rules"] if r["id"] == "I-NO-DATALINK")
    assert (no_datalink["criterion"], no_datalink["points"], no_datalink["deficiency"]) == (
        "interoperability", -40.0, "defer")
    # every evaluation names the ruleset it was judged by
    assert evaluate(stack, TOMAHAWK).json()["evaluation"]["ruleset"] == {
        "name": active["name"], "version": active["version"], "hash": active["hash"]}


def test_health_reports_ruleset_and_redis(stack: str) -> None:
    health = http.get(f"{stack}/healthz", timeout=10).json()

    assert health["status"] == "ok"
    assert health["ruleset"]["name"] == "mini"
    assert health["broker"] == {"kind": "redis", "reachable": True}


def test_openapi_document_describes_the_api(api_url: str) -> None:
    response = http.get(f"{api_url}/openapi.json", timeout=10)

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert {"/v1/evaluations", "/v1/evaluations/{evaluation_id}", "/v1/rulesets/active",
            "/healthz"} <= set(document["paths"])
    post = document["paths"]["/v1/evaluations"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Proposal"}
    assert {"200", "202", "400", "413", "415", "422", "503"} <= set(post["responses"])
    schemas = document["components"]["schemas"]
    assert {"Proposal", "EvaluationJob", "Evaluation", "Problem", "Ruleset"} <= set(schemas)
    invalid = document["components"]["responses"]["UNPROCESSABLE_ENTITY"]["content"]
    assert invalid == {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}


def test_docs_page_is_html(api_url: str) -> None:
    response = http.get(f"{api_url}/docs", timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "swagger-ui" in response.text and "/openapi.json" in response.text


def test_worker_refuses_to_start_without_its_ruleset(redis_url: str, tmp_path: Path) -> None:
    """A worker that cannot load its rules would fail every task it took: it must not start."""
    env = service_env(redis_url, POLICY_RULESET=str(tmp_path / "missing.yaml"))
    run = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "service.worker.app", "worker", "--pool=solo"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert run.returncode != 0
    assert "cannot load ruleset" in run.stderr + run.stdout


TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


def _times(body: Any, key: str = "") -> list[tuple[str, str]]:
    """Every (key, value) of ``body`` that holds a time: `…_at`, `at`, `time`."""
    if isinstance(body, dict):
        return [t for k, v in body.items() for t in _times(v, k)]
    if isinstance(body, list):
        return [t for v in body for t in _times(v, key)]
    timed = key.endswith("_at") or key in ("at", "time")
    return [(key, body)] if timed and body is not None else []


def test_every_time_the_api_shows_has_one_form(stack: str) -> None:
    """UTC to the millisecond, as service.clock writes it: evaluations used to show
    microseconds (`…45.296000+00:00`) where batches showed milliseconds."""
    evaluation = evaluate(stack, TOMAHAWK).json()
    batch = http.post(f"{stack}/v1/batches", json=[TOMAHAWK], timeout=30)
    deadline = time.monotonic() + 60
    while (finished := http.get(urljoin(stack, batch.headers["Location"]), timeout=10)
           ).json()["status"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    job = http.post(f"{stack}/v1/rulesets/1.0.0/impact", json={"proposals": [TOMAHAWK]},
                    timeout=30)
    done_job = poll(urljoin(stack, job.headers["Location"]), timeout=60)
    found = [t for body in (evaluation, batch.json(), finished.json(), job.json(),
                            done_job.json(),
                            http.get(f"{stack}/v1/rulesets", timeout=10).json(),
                            http.get(f"{stack}/v1/decisions?limit=5", timeout=10).json())
             for t in _times(body)]
    assert {key for key, _ in found} >= {"submitted_at", "completed_at", "finished_at",
                                         "created_at", "at", "time"}
    assert [t for t in found if not TIME.fullmatch(t[1])] == []
