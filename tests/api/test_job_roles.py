"""A job needs the role that starts its kind: an evaluator reads the robustness jobs of its
own batches, not an impact job (which only an analyst can start), even one recorded as its
own (a key whose role was lowered since)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from service.api import close_app, create_app, permissions
from service.clock import utc_now
from service.config import Settings
from service.jobs import analysis
from tests.keys import API_KEYS, bearer

from .test_permissions import MINI


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    found = create_app(Settings(redis_url=None, ruleset=MINI, api_keys=API_KEYS))
    yield found
    close_app(found)


def test_each_kind_needs_the_role_of_the_route_that_starts_it() -> None:
    assert permissions.job_role("impact") == "analyst"
    assert permissions.job_role("robustness") == "evaluator"
    assert permissions.PERMISSIONS[("GET", "/v1/jobs/<string:job_id>")] == "evaluator"


def test_an_evaluator_reads_its_robustness_job_but_not_an_impact_job(app: Flask) -> None:
    ledger = app.extensions["policy_eval"].backends.ledger
    ledger.record("robustness-1", analysis.record("robustness", "evaluator", utc_now()))
    ledger.record("impact-1", analysis.record("impact", "evaluator", utc_now()))
    client = app.test_client()
    assert client.get("/v1/jobs/robustness-1", headers=bearer("evaluator")).status_code == 202
    for method in ("GET", "DELETE"):
        refused = client.open("/v1/jobs/impact-1", method=method, headers=bearer("evaluator"))
        assert refused.status_code == 403, method
        assert refused.json["detail"] == ("Key 'evaluator' has the role evaluator; an impact "
                                          "job needs analyst.")
    charts = client.get("/v1/jobs/impact-1/charts/tornado.svg", headers=bearer("evaluator"))
    assert charts.status_code == 403
    assert client.get("/v1/jobs/impact-1", headers=bearer("admin")).status_code == 202
