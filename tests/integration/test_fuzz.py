"""The API fuzzed against its own OpenAPI document with schemathesis.

Every operation of ``/openapi.json`` gets generated requests, schema-valid ones and ones that
break the schema, on freshly generated path ids and on ids of resources that exist (an
evaluation, a finished batch, the active ruleset version), in process against the WSGI app:
- embedded (no Redis, no keys), as ``policy-eval serve`` runs it;
- with Redis and API keys, with the session's real ``celery worker`` scoring, the admin key
  sent so cases get past 401 (and schemathesis checks that without it they do not).

Every response must conform to the document (status code listed, content type, body and
headers by their schemas), no 5xx, no request answered later than 10 s, schema-valid requests
accepted and invalid ones refused.
``POLICY_SOAK=1`` runs ten times as many cases, with fresh randomness.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from service.api import close_app, create_app
from service.batch.store import OVERALL
from service.config import Settings
from service.engine.language.loader import RESERVED_VERSIONS
from tests.keys import ADMIN, API_KEYS, KEYS

from .proposals import ISOLATED_RADAR, TOMAHAWK
from .servers import MINI_RULESET, LoggedProcess

pytestmark = pytest.mark.integration

SOAK = os.environ.get("POLICY_SOAK") == "1"
EXAMPLES = 300 if SOAK else 30  # per operation, generation mode and kind of path ids
HANG_SECONDS = 10.0  # no request may take longer, whatever it is sent
MIN_CASES = 600  # per app, so 1,200 in all at least: about 940 embedded and 1,400 keyed run
# The rate limit is not what is fuzzed (429s would hide the rest), and a case that waits for
# a busy worker should not wait long: a 202 is documented.
FUZZ_SETTINGS: dict[str, Any] = {"rate_limit": "1000000/minute", "sync_timeout": 2.0,
                                 "task_time_limit": 5.0}


@dataclass
class Outcome:
    cases: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # one example per distinct failure

    def record(self, case: Case, group: FailureGroup) -> None:
        for failure in group.exceptions:
            key = f"{case.method} {case.path}: {failure.title}"
            self.failures.setdefault(key, str(group))

    def report(self) -> str:
        return "\n\n".join(f"=== {key}\n{example[:3000]}"
                           for key, example in self.failures.items())


Exclusions = Callable[[Case], list[CheckFunction]]


def _excluded(case: Case, embedded: bool) -> list[CheckFunction]:
    """Checks that do not apply to this case, each for a reason the contract states."""
    found: list[CheckFunction] = []
    if embedded:
        # Authentication is off by design when embedded without keys (the server says so
        # loudly at start); the keyed app below runs this check on every operation.
        found.append(ignored_auth)
    if (case.method, case.path) in (("POST", "/v1/rulesets"), ("POST", "/v1/rulesets/check")):
        # Any object is schema-valid: JSON Schema cannot state the rule language (known field
        # paths, weights adding up to 1, …). The loader's 422 is documented, and its body is
        # still checked against the document.
        found.append(positive_data_acceptance)
    batch_upload = (case.method, case.path) == ("POST", "/v1/batches")
    if batch_upload and case.media_type != "application/json":
        # CSV, JSON Lines and an uploaded file are strings to JSON Schema: a random string is
        # not a readable upload (400, documented; its body is still checked).
        found.append(positive_data_acceptance)
    if batch_upload and "Idempotency-Key" in (case.headers or {}):
        # Generated keys repeat across cases ("0" is a favourite): a key used before for
        # another upload is 422 by design, as the IETF Idempotency-Key draft has it.
        found.append(positive_data_acceptance)
    query = case.query or {}
    if (case.path in ("/v1/batches/{batch_id}/results", "/v1/batches/{batch_id}/rows")
            and query.get("sort") not in (None, OVERALL)):
        # A batch sorts by the criteria of its ruleset, which the document cannot list: an
        # unknown one is 422 naming `sort`, as an unknown id is 404.
        found.append(positive_data_acceptance)
    if (case.path.startswith("/v1/batches/{batch_id}/portfolio")
            and query.get("currency") == "USD" and "budget" not in query):
        # Envelopes are in JPY, so USD needs a budget: a rule between two parameters that
        # OpenAPI 3.0 cannot state (422 naming `currency`).
        found.append(positive_data_acceptance)
    body = case.body if isinstance(case.body, dict) else {}
    if (case.path == "/v1/batches/{batch_id}/robustness" and body.get("currency") == "USD"
            and "budget" not in body):
        # the same rule for a robustness analysis's portfolio, in its body
        found.append(positive_data_acceptance)
    if case.path == "/v1/evaluations/{evaluation_id}/what-if":
        # `set` and `unset` name fields of the proposal by dotted path, and the edited proposal
        # is validated as a proposal: JSON Schema cannot relate a path to the proposal's
        # schema (422 naming `set.<path>`, documented; its body is still checked).
        found.append(positive_data_acceptance)
    items = body.get("items", [])
    if case.path == "/v1/comparisons" and isinstance(items, list) and not all(
            isinstance(item, dict) and ("proposal" in item) != ("evaluation_id" in item)
            for item in items):
        # each item is a proposal or an evaluation id, exactly one of the two: a rule between
        # fields the document cannot state (422 naming the item)
        found.append(positive_data_acceptance)
    if _holds_key(case.body, "phasing"):
        # A phasing adds up to the total cost, in its currency, each fiscal year once: rules
        # between fields that JSON Schema cannot state (422 naming `acquisition.phasing`).
        found.append(positive_data_acceptance)
    return found


def _holds_key(body: object, key: str) -> bool:
    if isinstance(body, dict):
        return key in body or any(_holds_key(value, key) for value in body.values())
    if isinstance(body, list):
        return any(_holds_key(item, key) for item in body)
    return False


def _known_ids(app: Flask, headers: dict[str, str]) -> dict[str, str]:
    """Path ids of resources that exist, so cases also reach past the 404s: an evaluation, a
    finished batch with a failed item (and its first, scored, item), the active version, a
    finished robustness job and one of its charts, and a problem type."""
    client = app.test_client()
    evaluation = client.post("/v1/evaluations", json=TOMAHAWK, headers=headers)
    assert evaluation.status_code in (200, 202), evaluation.text  # 202: a slow first one
    batch = client.post("/v1/batches", json=[TOMAHAWK, ISOLATED_RADAR, {"title": 1}],
                        headers=headers)
    assert batch.status_code == 202, batch.text
    batch_id = batch.json["id"]
    deadline = time.monotonic() + 30
    while client.get(f"/v1/batches/{batch_id}", headers=headers).json["status"] != "done":
        assert time.monotonic() < deadline, "the seeded batch did not finish"
        time.sleep(0.05)
    version = client.get("/v1/rulesets/active", headers=headers).json["version"]
    # a finished job, so that its result and its charts are held to the document too
    robustness = client.post(f"/v1/batches/{batch_id}/robustness", json={"samples": 100},
                             headers=headers)
    assert robustness.status_code == 202, robustness.text
    while client.get(robustness.headers["Location"], headers=headers).status_code == 202:
        assert time.monotonic() < deadline, "the seeded robustness job did not finish"
        time.sleep(0.05)
    return {"evaluation_id": evaluation.json["id"], "batch_id": batch_id, "version": version,
            "job_id": robustness.json["id"], "name": "tornado", "slug": "invalid-proposal",
            "index": "0"}


def _strategies(operation: Any, known: dict[str, str]) -> Iterator[Any]:
    """Valid and invalid requests, with generated path ids and with the known ones."""
    names = [p.name for p in operation.path_parameters]
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        yield operation.as_strategy(mode)
        if names:
            yield operation.as_strategy(mode, path_parameters={n: known[n] for n in names})


def fuzz(schema: Any, headers: dict[str, str], excluded: Exclusions) -> Outcome:
    """Run every operation's strategies; collect failures instead of stopping at the first,
    so one run reports everything the document and the service disagree on. ``headers``
    authenticate the requests that create the known resources; the cases carry the key the
    schema's configuration gives (or, negative, a broken one or none)."""
    outcome = Outcome()
    known = _known_ids(schema.app, headers)
    for result in schema.get_all_operations():
        operation = result.ok()
        for strategy in _strategies(operation, known):

            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      derandomize=not SOAK, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case: Case) -> None:
                if (case.path_parameters or {}).get("version") in RESERVED_VERSIONS:
                    # /v1/rulesets/active is its own operation (OpenAPI matches a concrete
                    # path before a templated one), and no version may be named so
                    return
                outcome.cases += 1
                started = time.monotonic()
                try:
                    case.call_and_validate(excluded_checks=excluded(case))
                except FailureGroup as group:
                    outcome.record(case, group)
                took = time.monotonic() - started
                if took > HANG_SECONDS:
                    outcome.failures.setdefault(f"{case.method} {case.path}: took {took:.1f} s",
                                                repr(case))

            with contextlib.suppress(Unsatisfiable):  # nothing to negate: no parameters, no body
                run()
    return outcome


@pytest.fixture(scope="module")
def embedded_app() -> Iterator[Flask]:
    app = create_app(Settings(redis_url=None, ruleset=MINI_RULESET, **FUZZ_SETTINGS))
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def keyed_app(redis_url: str, worker: LoggedProcess) -> Iterator[Flask]:
    """The API with Redis and keys, in process; the session's worker scores its evaluations."""
    app = create_app(Settings(redis_url=redis_url, api_keys=API_KEYS, ruleset=MINI_RULESET,
                              **FUZZ_SETTINGS))
    yield app
    close_app(app)


# A body too large for the server is refused before it is read (413), however it breaks the
# schema: a refusal, which schemathesis's default list for invalid data leaves out.
REJECTED = [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]


def _schema(app: Flask, **config: Any) -> Any:
    checks = {"negative_data_rejection": {"expected-statuses": REJECTED}}
    return schemathesis.openapi.from_wsgi(
        "/openapi.json", app, config=schemathesis.Config.from_dict({"checks": checks, **config}))


def test_embedded_api_conforms_to_its_document(embedded_app: Flask) -> None:
    # no keys: a request without one is not a negative case here
    schema = _schema(embedded_app, generation={"with-security-parameters": False})

    outcome = fuzz(schema, {}, lambda case: _excluded(case, embedded=True))

    assert not outcome.failures, outcome.report()
    assert outcome.cases >= MIN_CASES


def test_redis_api_with_keys_conforms_to_its_document(keyed_app: Flask) -> None:
    schema = _schema(keyed_app, auth={"openapi": {"apiKey": {"bearer": KEYS["admin"]}}})

    outcome = fuzz(schema, ADMIN, lambda case: _excluded(case, embedded=False))

    assert not outcome.failures, outcome.report()
    assert outcome.cases >= MIN_CASES
