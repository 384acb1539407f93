"""What an operator relies on, against gunicorn and a real worker: API keys and roles, a decision
log that keeps every decision (with its explanation) under concurrent load, and rate limits."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from service.api import close_app, create_app
from service.config import Settings
from tests.keys import API_KEYS, KEYS, bearer

from .checks import problem
from .proposals import TOMAHAWK
from .servers import (
    MINI_RULESET,
    ROOT,
    ThreadedServer,
    celery_worker,
    flushed_redis,
    gunicorn_api,
)

pytestmark = pytest.mark.integration
PRODUCTION_DB, LIMITED_DB = 10, 7
MINI_TEXT = MINI_RULESET.read_text()


@pytest.fixture(scope="module")
def secured(logs: Path) -> Iterator[str]:
    redis_url = flushed_redis(PRODUCTION_DB)
    # the workers write the decision log: the mask is theirs to apply
    worker = celery_worker(redis_url, logs, name="production-worker",
                           DECISION_LOG_MASK="system.prime_contractor,title",
                           DECISION_LOG_KEY="a-test-secret-of-32-characters-or-more")
    api, url = gunicorn_api(redis_url, logs, RATE_LIMIT="100000/minute")
    yield url
    api.stop()
    worker.stop()


def call(url: str, role: str | None, method: str, path: str, **kwargs: Any) -> int:
    headers = {**kwargs.pop("headers", {}), **(bearer(role) if role else {})}
    return requests.request(method, f"{url}{path}", headers=headers, timeout=30,
                            **kwargs).status_code


YAML = {"Content-Type": "application/yaml"}
# (method, path, body) -> the least role allowed
CALLS: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/v1/evaluations", {"json": TOMAHAWK}, "evaluator"),
    ("GET", "/v1/rulesets/active", {}, "evaluator"),
    ("GET", "/v1/rulesets", {}, "evaluator"),
    ("POST", "/v1/rulesets", {"data": MINI_TEXT.encode(), "headers": YAML}, "analyst"),
    ("POST", "/v1/rulesets/1.0.0/impact", {"json": {"proposals": [TOMAHAWK]}}, "analyst"),
    ("PUT", "/v1/rulesets/active", {"json": {"version": "1.0.0"}}, "admin"),
    ("GET", "/v1/decisions", {}, "admin"),
]
ROLES = ("evaluator", "analyst", "admin")


@pytest.mark.parametrize(("method", "path", "body", "least"), CALLS,
                         ids=[f"{m} {p}" for m, p, _, _ in CALLS])
def test_each_role_is_allowed_exactly_its_calls(secured: str, method: str, path: str,
                                                body: dict[str, Any], least: str) -> None:
    for role in ROLES:
        status = call(secured, role, method, path, **dict(body))
        allowed = ROLES.index(role) >= ROLES.index(least)
        assert (status < 400) == allowed, (role, method, path, status)
        if not allowed:
            assert status == 403


def test_no_key_or_a_wrong_key_is_401_problem_and_public_routes_stay_open(
        secured: str) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-key"}, {"X-API-Key": "nope"}):
        response = requests.post(f"{secured}/v1/evaluations", json=TOMAHAWK, headers=headers,
                                 timeout=10)
        body = problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "API key" in body["detail"]
    forbidden = requests.get(f"{secured}/v1/decisions", headers=bearer("evaluator"), timeout=10)
    assert "needs admin" in problem(forbidden, 403)["detail"]
    assert requests.get(f"{secured}/healthz", timeout=10).status_code == 200
    assert requests.get(f"{secured}/openapi.json", timeout=10).status_code == 200
    with_x_api_key = requests.get(f"{secured}/v1/rulesets/active", timeout=10,
                                  headers={"X-API-Key": KEYS["evaluator"]})
    assert with_x_api_key.status_code == 200


def test_security_headers(secured: str) -> None:
    response = requests.get(f"{secured}/v1/rulesets/active", headers=bearer("evaluator"),
                            timeout=10)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def _decisions(url: str, **filters: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {**filters, "limit": "1000", **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{url}/v1/decisions", params=params, headers=bearer("admin"),
                            timeout=30).json()
        found += page["decisions"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_every_decision_is_logged_once_with_its_explanation_under_concurrent_load(
        secured: str) -> None:
    proposals = [{**TOMAHAWK, "id": f"load-{i}", "title": f"Load proposal {i}",
                  "acquisition": {**TOMAHAWK["acquisition"], "quantity": 1 + i % 500}}
                 for i in range(2000)]

    def submit(proposal: dict[str, Any]) -> str:
        response = requests.post(f"{secured}/v1/evaluations", json=proposal, timeout=60,
                                 headers=bearer("evaluator"))
        assert response.status_code == 200, response.text
        evaluation_id: str = response.json()["id"]
        return evaluation_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        submitted = list(pool.map(submit, proposals))

    logged = _decisions(secured, caller="evaluator")
    ids = [entry["evaluation_id"] for entry in logged]
    assert len(ids) == len(set(ids))  # none doubled
    load = [i for i, e in zip(ids, logged, strict=True)
            if e["input"].get("id", "").startswith("load-")]
    assert len(load) == 2000 and set(load) == set(submitted)  # none dropped
    entry = next(e for e in logged if e["input"].get("id") == "load-7")
    assert entry["input"]["title"] == "***"  # DECISION_LOG_MASK
    assert entry["input"]["system"]["prime_contractor"] == "***"
    assert entry["input"]["system"]["name"] == TOMAHAWK["system"]["name"]
    # every copy: the result's title and the summary quoting it; hashes keyed
    assert entry["result"]["title"] == entry["result"]["summary"] == "***"
    assert "Load proposal 7" not in json.dumps(entry)
    assert entry["input_hash"].startswith("hmac-sha256:")
    assert entry["caller"] == "evaluator"
    assert entry["ruleset_version"] == "1.0.0" and entry["ruleset_hash"].startswith("sha256:")
    assert entry["result"]["decision_id"] == entry["decision_id"]
    findings = [f for c in entry["result"]["criteria"] for f in c["strengths"]]
    assert findings and all(f["sentence"] and f["evidence"] for f in findings)


def test_batch_items_are_masked_in_the_log_as_single_evaluations_are(secured: str) -> None:
    """A batch item's entry is worded when it is logged when a mask is set: every copy of a
    masked field is hidden in it, as in a single evaluation's."""
    items = [{**TOMAHAWK, "id": f"masked-{i}", "title": f"Masked batch title {i}"}
             for i in range(5)]
    response = requests.post(f"{secured}/v1/batches", timeout=60,
                             data="\n".join(json.dumps(item) for item in items).encode(),
                             headers={"Content-Type": "application/x-ndjson",
                                      **bearer("evaluator")})
    assert response.status_code == 202, response.text
    batch_id = response.json()["id"]
    location = f"{secured}{response.headers['Location']}"
    for _ in range(600):
        if requests.get(location, headers=bearer("evaluator"), timeout=30
                        ).json()["status"] == "done":
            break
        time.sleep(0.1)
    entries = [e for e in _decisions(secured, caller="evaluator")
               if e.get("batch_id") == batch_id]
    assert len(entries) == len(items)
    for entry in entries:
        assert entry["input"]["title"] == entry["result"]["title"] == "***"
        assert "Masked batch title" not in json.dumps(entry)
        assert entry["input_hash"].startswith("hmac-sha256:")


def test_the_worker_log_keeps_no_copy_of_what_the_mask_hides(secured: str, logs: Path) -> None:
    proposal = {**TOMAHAWK, "title": "A title the log must not keep"}
    answer = requests.post(f"{secured}/v1/evaluations", json=proposal, timeout=30,
                           headers=bearer("evaluator")).json()
    evaluation_id, plain = answer["id"], answer["evaluation"]
    [entry] = [e for e in _decisions(secured, caller="evaluator")
               if e["evaluation_id"] == evaluation_id]
    worker_log = (logs / "production-worker.log").read_text()
    assert entry["input_hash"] in worker_log  # its line is there, keyed as the log keeps it
    for copy in (proposal["title"], plain["input_hash"], plain["decision_id"]):
        assert copy not in worker_log, copy
        assert copy not in json.dumps(entry), copy


def test_decision_log_filters_and_export(secured: str, tmp_path: Path) -> None:
    requests.post(f"{secured}/v1/evaluations", json=TOMAHAWK, headers=bearer("analyst"),
                  timeout=30)
    mine = _decisions(secured, caller="analyst")
    assert mine and {e["caller"] for e in mine} == {"analyst"}
    rating = mine[0]["rating"]
    assert all(e["rating"] == rating for e in _decisions(secured, rating=rating))
    assert _decisions(secured, ruleset_version="0.0.0") == []
    assert _decisions(secured, caller="analyst", since="2100-01-01T00:00:00+00:00") == []
    out = tmp_path / "decisions.jsonl"
    export = subprocess.run(
        [sys.executable, "-c", "from service.cli import run; run()", "decisions", "export",
         "--url", secured, "--key", KEYS["admin"], "--caller", "analyst", "-o", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert export.returncode == 0, export.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["evaluation_id"] for e in lines] == [e["evaluation_id"] for e in mine]


@pytest.fixture
def limited() -> Iterator[str]:
    app = create_app(Settings(api_keys=API_KEYS, redis_url=flushed_redis(LIMITED_DB),
                              ruleset=MINI_RULESET, rate_limit="3/minute"))
    server = ThreadedServer(app)
    yield server.url
    server.stop()
    close_app(app)


def test_rate_limit_per_key_is_429_problem_with_retry_after(limited: str) -> None:
    statuses = [call(limited, "evaluator", "GET", "/v1/rulesets/active") for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = requests.get(f"{limited}/v1/rulesets/active", headers=bearer("evaluator"),
                            timeout=10)
    problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    # the limit is per key: another caller still gets through
    assert call(limited, "analyst", "GET", "/v1/rulesets/active") == 200
    assert requests.get(f"{limited}/healthz", timeout=10).status_code == 200


def test_redis_without_keys_refuses_to_start() -> None:
    from service.config import ConfigError

    with pytest.raises(ConfigError, match="API keys are required"):
        create_app(Settings(redis_url="redis://127.0.0.1:1/0", ruleset=MINI_RULESET))


def test_requests_without_a_valid_key_are_limited_per_address(limited: str) -> None:
    """Counted in Redis, as keys are: 1,400 wrong keys used to be 1,400 × 401."""
    statuses = [requests.get(f"{limited}/v1/rulesets/active", timeout=10,
                             headers={"Authorization": f"Bearer guess-{i}"}).status_code
                for i in range(3)]
    statuses.append(requests.get(f"{limited}/v1/rulesets/active", timeout=10).status_code)
    assert statuses == [401, 401, 401, 429]
    response = requests.get(f"{limited}/v1/rulesets/active", timeout=10)
    problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    assert call(limited, "evaluator", "GET", "/v1/rulesets/active") == 200  # a key still works
