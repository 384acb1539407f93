"""A robustness job's units on the embedded worker: one that fails fails the job (it does not
stay running for ever), and one whose job was cancelled does nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from service.api import close_app, create_app
from service.clock import utc_now
from service.config import Settings
from service.jobs import analysis
from service.robustness.analysis import Unit
from service.robustness.job import Request
from service.worker.tasks import ROBUSTNESS, ROBUSTNESS_UNIT

from .test_permissions import MINI

GONE = Request("no-such-batch", "1.0.0", 100, 3, 1, None, "JPY").as_dict()


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    found = create_app(Settings(redis_url=None, ruleset=MINI))
    yield found
    close_app(found)


def _job(app: Flask, job_id: str, **extra: str) -> None:
    app.extensions["policy_eval"].backends.ledger.record(
        job_id, {**analysis.record("robustness", "anonymous", utc_now()), **extra})


def test_a_unit_that_fails_fails_its_job(app: Flask) -> None:
    """The batch is gone (it expired after the job was accepted): the unit cannot load it."""
    _job(app, "failing")
    celery = app.extensions["policy_eval"].workers.celery
    # the unit alone, run here: the job's start would queue the others to the worker thread
    celery.tasks[ROBUSTNESS_UNIT].apply(("failing", GONE, 1, Unit("rank", 0, 100).as_dict()),
                                        task_id="failing.1")
    job = app.test_client().get("/v1/jobs/failing").json
    assert job["status"] == "failed"
    assert job["error"]["type"].endswith("/job-failed")
    assert "Refused" in job["error"]["detail"]


def test_units_of_a_cancelled_job_do_nothing(app: Flask) -> None:
    _job(app, "cancelled", cancelled_at=utc_now())
    celery = app.extensions["policy_eval"].workers.celery
    celery.tasks[ROBUSTNESS].apply((GONE,), task_id="cancelled")
    celery.tasks[ROBUSTNESS_UNIT].apply(("cancelled", GONE, 0, Unit("stability").as_dict()),
                                        task_id="cancelled.0")
    parts = app.extensions["policy_eval"].backends.job_parts
    assert parts.progress("cancelled") is None  # never even opened
    assert app.test_client().get("/v1/jobs/cancelled").json["status"] == "cancelled"
