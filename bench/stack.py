"""The service as deployed, plus the baselines the HTTP benchmarks hold it against.

``bench.stack:app`` is the production API (same factory, settings from the environment) with
one route added, ``bench.stack:celery`` the production Celery app with one task added, and
``bench.stack:echo`` a Flask app of one route:

- ``POST /echo`` (``echo``) answers the JSON it was sent: what a WSGI server, Flask and JSON
  parsing cost with no service at all (the embedded-mode baseline, on one gunicorn gthread
  process);
- ``POST /v1/bench/noop`` sends the payload to a worker as a task that does nothing, and waits
  for its result exactly as ``POST /v1/evaluations`` waits (``service.api.jobs.wait``): the
  transport floor of a synchronous evaluation through Celery and Redis. Under ``/v1/`` it
  passes the request pipeline every evaluation passes (API key, rate limit, headers, metrics),
  so what an evaluation costs beyond it is its own work: validation, the engine, the ledger,
  the decision log and its result.

Benchmarks only: nothing in ``service/`` imports this module.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from celery import Celery
from flask import Flask, current_app, jsonify, request

from service.api import jobs
from service.api.app import create_app
from service.api.permissions import PERMISSIONS
from service.api.runtime import Runtime
from service.worker.app import create_celery

NOOP_TASK = "bench.noop"
WAIT_SECONDS = 10.0


def noop(payload: Any) -> dict[str, str]:
    """Does nothing with the payload it was sent (a proposal), so only transport is measured."""
    return {"outcome": "done"}


echo = Flask("echo")


@echo.post("/echo")
def _echo() -> Any:
    return jsonify(request.get_json())


@echo.get("/healthz")
def _alive() -> Any:
    return jsonify(status="ok")


def noop_round_trip() -> Any:
    runtime: Runtime = current_app.extensions["policy_eval"]
    task_id = str(uuid.uuid4())
    celery = runtime.workers.celery
    celery.send_task(NOOP_TASK, (request.get_json(),), task_id=task_id)
    jobs.wait(runtime, task_id, WAIT_SECONDS)
    return jsonify(celery.backend.get_task_meta(task_id, cache=False)["result"])


def bench_app() -> Flask:
    # every route needs a permission (deny by default): the floor's is an evaluation's
    PERMISSIONS[("POST", "/v1/bench/noop")] = PERMISSIONS[("POST", "/v1/evaluations")]
    app = create_app()
    app.add_url_rule("/v1/bench/noop", view_func=noop_round_trip, methods=["POST"])
    return app


def bench_celery() -> Celery:
    celery = create_celery()
    celery.task(name=NOOP_TASK)(noop)
    return celery


_BUILDERS = {"app": cache(bench_app), "celery": cache(bench_celery)}


def __getattr__(name: str) -> Any:
    """``app`` for gunicorn and ``celery`` for the worker, each built on first access, once:
    an API process never needs the worker's app, nor a worker the API."""
    if name in _BUILDERS:
        return _BUILDERS[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
