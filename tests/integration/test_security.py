"""Tried as an attacker would, against gunicorn and a real worker on Redis, with two
evaluators, two analysts and an admin: nothing of one caller is readable, cancellable or
detectable by another (another's id is answered exactly as an unknown one), idempotency keys
are each caller's own, /metrics names no id, HEAD is held to GET's role, no response header
carries text a client sent, and every refusal is a 4xx problem+json.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.keys import OTHER_ANALYST, OTHER_EVALUATOR, bearer

from .checks import PROBLEM
from .proposals import ISOLATED_RADAR, TOMAHAWK

pytestmark = pytest.mark.integration
A, B = "evaluator", OTHER_EVALUATOR  # two evaluators: A creates, B attacks
MARKER = "zq7marker"  # text an attacker sends, looked for in every response header
# headers that differ between any two requests, whatever they are about
VOLATILE = {"date", "x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset",
            "x-ratelimit-retry-after", "x-ratelimit-limit"}


@dataclass
class Seen:
    """Every response the attack got, for the checks that apply to all of them."""

    responses: list[requests.Response] = field(default_factory=list)

    def call(self, url: str, method: str, path: str, who: str | None, **kwargs: Any
             ) -> requests.Response:
        headers = {**kwargs.pop("headers", {}), **(bearer(who) if who else {})}
        response = requests.request(method, f"{url}{path}", headers=headers, timeout=60,
                                    **kwargs)
        self.responses.append(response)
        return response


SEEN = Seen()


def _until_done(url: str, path: str, who: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = SEEN.call(url, "GET", path, who).json()
        if body["status"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


@dataclass(frozen=True)
class Owned:
    evaluation: str
    batch: str
    key: str  # the Idempotency-Key A's batch was sent with
    upload: list[Any]
    job: str  # the analyst's impact job
    robustness: str  # A's robustness job of A's batch


@pytest.fixture(scope="module")
def owned(stack: str) -> Owned:
    """What A (and the analyst) created, finished."""
    evaluation = SEEN.call(stack, "POST", "/v1/evaluations", A, json=TOMAHAWK)
    assert evaluation.status_code == 200, evaluation.text
    upload = [TOMAHAWK, ISOLATED_RADAR, {"title": 1}]
    key = f"import-{uuid.uuid4()}"
    batch = SEEN.call(stack, "POST", "/v1/batches", A, json=upload,
                      headers={"Idempotency-Key": key})
    assert batch.status_code == 202, batch.text
    assert batch.headers["Retry-After"] == "1"  # when to poll, not the limiter's window
    assert _until_done(stack, batch.headers["Location"], A)["status"] == "done"
    analysts_batch = SEEN.call(stack, "POST", "/v1/batches", "analyst", json=upload)
    _until_done(stack, analysts_batch.headers["Location"], "analyst")
    job = SEEN.call(stack, "POST", "/v1/rulesets/1.0.0/impact", "analyst",
                    json={"batch_id": analysts_batch.json()["id"]})
    assert job.status_code == 202, job.text
    assert _until_done(stack, job.headers["Location"], "analyst")["status"] == "done"
    robustness = SEEN.call(stack, "POST", f"/v1/batches/{batch.json()['id']}/robustness", A,
                           json={"samples": 200})
    assert robustness.status_code == 202, robustness.text
    assert _until_done(stack, robustness.headers["Location"], A)["status"] == "done"
    return Owned(evaluation.json()["id"], batch.json()["id"], key, upload, job.json()["id"],
                 robustness.json()["id"])


def _unknown_like(known: str) -> str:
    """An id of the same form and length that nobody was issued."""
    return str(uuid.uuid4()) if "-" in known else uuid.uuid4().hex


def _paths(owned: Owned) -> Iterator[tuple[str, str, str, str]]:
    """(method, path template, the owned id, who may not see it)."""
    for method, template in [
            ("GET", "/v1/batches/{}"), ("GET", "/v1/batches/{}/results"),
            ("GET", "/v1/batches/{}/results?format=csv"),
            ("GET", "/v1/batches/{}/results?sort=budget_fit&format=jsonl"),
            ("GET", "/v1/batches/{}/failures"), ("GET", "/v1/batches/{}/portfolio"),
            ("HEAD", "/v1/batches/{}"), ("DELETE", "/v1/batches/{}"),
            ("POST", "/v1/batches/{}/robustness")]:
        yield method, template, owned.batch, B
    yield "GET", "/v1/evaluations/{}", owned.evaluation, B
    yield "HEAD", "/v1/evaluations/{}", owned.evaluation, B
    yield "GET", "/v1/jobs/{}", owned.job, OTHER_ANALYST
    yield "DELETE", "/v1/jobs/{}", owned.job, OTHER_ANALYST
    for method, template in [("GET", "/v1/jobs/{}"), ("GET", "/v1/jobs/{}/charts/tornado.svg"),
                             ("DELETE", "/v1/jobs/{}")]:
        yield method, template, owned.robustness, B


def _comparable(response: requests.Response, secret: str) -> tuple[int, str, dict[str, str]]:
    headers = {k.lower(): v.replace(secret, "ID") for k, v in response.headers.items()
               if k.lower() not in VOLATILE}
    return response.status_code, response.text.replace(secret, "ID"), headers


def test_another_callers_id_is_answered_exactly_as_an_unknown_id(
        stack: str, owned: Owned) -> None:
    for method, template, known, attacker in _paths(owned):
        unknown = _unknown_like(known)
        theirs = SEEN.call(stack, method, template.format(known), attacker)
        nobodys = SEEN.call(stack, method, template.format(unknown), attacker)
        assert theirs.status_code == 404, (method, template, theirs.text)
        assert _comparable(theirs, known) == _comparable(nobodys, unknown), (method, template)


def test_nothing_was_cancelled_and_the_owner_and_admins_still_read_it(
        stack: str, owned: Owned) -> None:
    for who in (A, "admin"):
        batch = SEEN.call(stack, "GET", f"/v1/batches/{owned.batch}", who)
        assert batch.status_code == 200 and batch.json()["status"] == "done", who
        evaluation = SEEN.call(stack, "GET", f"/v1/evaluations/{owned.evaluation}", who)
        assert evaluation.status_code == 200, who
    for who in ("analyst", "admin"):
        job = SEEN.call(stack, "GET", f"/v1/jobs/{owned.job}", who)
        assert job.status_code == 200 and job.json()["status"] == "done", who


def test_another_evaluator_cannot_cancel_a_running_batch(stack: str) -> None:
    upload = [{**TOMAHAWK, "id": f"run-{i}"} for i in range(1500)]
    started = SEEN.call(stack, "POST", "/v1/batches", A, json=upload)
    assert started.status_code == 202
    location = started.headers["Location"]
    assert SEEN.call(stack, "DELETE", location, B).status_code == 404
    finished = _until_done(stack, location, A)
    assert (finished["status"], finished["done"]) == ("done", 1500)


def test_an_analyst_cannot_measure_impact_on_another_callers_batch(
        stack: str, owned: Owned) -> None:
    path = "/v1/rulesets/1.0.0/impact"
    theirs = SEEN.call(stack, "POST", path, "analyst", json={"batch_id": owned.batch})
    unknown_id = _unknown_like(owned.batch)
    nobodys = SEEN.call(stack, "POST", path, "analyst", json={"batch_id": unknown_id})
    assert theirs.status_code == 404
    assert _comparable(theirs, owned.batch) == _comparable(nobodys, unknown_id)


def test_an_idempotency_key_is_each_callers_own(stack: str, owned: Owned) -> None:
    key = {"Idempotency-Key": owned.key}
    same = SEEN.call(stack, "POST", "/v1/batches", B, json=owned.upload, headers=key)
    assert same.status_code == 202 and same.json()["id"] != owned.batch
    assert "Idempotent-Replayed" not in same.headers
    # a key of A's that B sends with another upload: B's own new batch, not 422 (which told
    # B that A had used it)
    used = {"Idempotency-Key": f"used-{uuid.uuid4()}"}
    SEEN.call(stack, "POST", "/v1/batches", A, json=owned.upload, headers=used)
    other = SEEN.call(stack, "POST", "/v1/batches", B, json=owned.upload[:1], headers=used)
    assert other.status_code == 202 and "Idempotent-Replayed" not in other.headers
    squat = {"Idempotency-Key": f"squat-{uuid.uuid4()}"}
    SEEN.call(stack, "POST", "/v1/batches", B, json=owned.upload[:1], headers=squat)
    victim = SEEN.call(stack, "POST", "/v1/batches", A, json=owned.upload, headers=squat)
    assert victim.status_code == 202 and "Idempotent-Replayed" not in victim.headers
    replay = SEEN.call(stack, "POST", "/v1/batches", A, json=owned.upload, headers=key)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["id"] == owned.batch


def test_metrics_name_no_evaluation_batch_or_job(stack: str, owned: Owned) -> None:
    text = SEEN.call(stack, "GET", "/metrics", None).text
    for secret in (owned.evaluation, owned.batch, owned.job):
        assert secret not in text
    assert "batch_id=" not in text
    assert "policy_eval_batch_progress_items" in text


def test_head_on_the_decision_log_is_refused_as_get_is(stack: str) -> None:
    for who in (A, "analyst"):
        head = SEEN.call(stack, "HEAD", "/v1/decisions?caller=evaluator", who)
        get = SEEN.call(stack, "GET", "/v1/decisions?caller=evaluator", who)
        assert head.status_code == get.status_code == 403, who
        assert int(head.headers["Content-Length"]) < 500  # a refusal's size, not the log's
    assert SEEN.call(stack, "HEAD", "/v1/decisions", "admin").status_code == 200


# what an attacker puts where the service might echo it: (method, path, headers)
PROBES = [
    ("GET", f"/v1/batches/{{batch}}/results?format=csv&sort={quote(MARKER)}", {}),
    ("GET", "/v1/batches/{batch}/results?format=csv&sort=x%22%3B%20filename%3D%22"
            f"{MARKER}.html", {}),
    ("GET", f"/v1/batches/{{batch}}/results?sort=a%0d%0aSet-Cookie:%20{MARKER}", {}),
    ("GET", "/v1/batches/{batch}/results?sort=%F1%A1%91%B1", {}),
    ("GET", f"/v1/batches/{{batch}}/results?format={MARKER}", {}),
    ("GET", f"/v1/batches/{{batch}}/results?order={MARKER}&page={MARKER}", {}),
    ("GET", f"/v1/batches/{{batch}}/portfolio?currency={MARKER}", {}),
    ("GET", f"/v1/batches/{MARKER}", {}),
    ("GET", f"/v1/evaluations/{MARKER}%0d%0aX-Evil:%201", {}),
    ("GET", f"/v1/jobs/{MARKER}", {}),
    ("GET", f"/v1/rulesets/{MARKER}", {}),
    ("GET", f"/v1/decisions?caller={MARKER}&ruleset_version={MARKER}", {}),
    ("POST", f"/v1/evaluations?explain={MARKER}", {"Prefer": f"respond-async, {MARKER}"}),
    ("POST", "/v1/evaluations", {"X-Request-ID": f"{MARKER} with spaces",
                                 "Prefer": f"wait={MARKER}"}),
    ("POST", "/v1/batches", {"Idempotency-Key": MARKER}),
    ("GET", f"/v1/{MARKER}", {}),
    ("OPTIONS", "/v1/evaluations", {"Origin": f"https://{MARKER}.example",
                                    "Access-Control-Request-Method": "POST"}),
]


def test_no_response_header_carries_text_a_client_sent(stack: str, owned: Owned) -> None:
    for method, template, headers in PROBES:
        path = template.replace("{batch}", owned.batch)
        body = {"json": [TOMAHAWK]} if path == "/v1/batches" else (
            {"json": TOMAHAWK} if method == "POST" else {})
        response = SEEN.call(stack, method, path, A, headers=headers, **body)
        assert response.status_code < 500, (path, response.text)
        for name, value in response.headers.items():
            assert MARKER not in name.lower() and MARKER not in value.lower(), (path, name, value)
    # the one accepted with `nonexistent` used to be sorted by nothing: now a 422 naming it
    unknown = SEEN.call(stack, "GET", f"/v1/batches/{owned.batch}/results?sort=nonexistent", A)
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["sort"]
    # a name the download is given is the batch id and a criterion, nothing else
    csv = SEEN.call(stack, "GET", f"/v1/batches/{owned.batch}/results?format=csv&sort=budget_fit",
                    A)
    assert re.fullmatch(r'attachment; filename="batch-[0-9a-f]{32}-by-budget_fit\.csv"',
                        csv.headers["Content-Disposition"])


def test_every_refusal_the_attack_met_was_a_4xx_problem() -> None:
    """Runs last: over every response of this module."""
    refusals = [r for r in SEEN.responses if r.status_code >= 400]
    assert len(refusals) > 40
    for response in refusals:
        assert response.status_code < 500, (response.request.method, response.url)
        if response.request.method != "HEAD":
            assert response.headers["Content-Type"].startswith(PROBLEM), response.url
