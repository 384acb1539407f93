"""``/healthz``: is this process up, with its ruleset, and can it reach the broker?
``/readyz``: can it get an evaluation done now (Redis and a live worker)?"""

from __future__ import annotations

from typing import Any

import redis
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.evaluation import HealthSchema
from schemas.readiness import ReadinessSchema
from service.api.problems import Problem
from service.observability.http import readiness

blp = Blueprint("health", __name__, description="Liveness and readiness.")


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        """Process alive and ruleset loaded (or it would not have started); broker reachability.

        Always 200 while the process serves: a broker outage is reported as `degraded`, not as
        a failed liveness check, because restarting the API would not bring Redis back.
        """
        runtime = current_app.extensions["policy_eval"]
        broker = runtime.broker_health()
        try:
            ruleset = runtime.active_ruleset().identity
        except redis.RedisError:  # the store lives in Redis: report what this process started with
            ruleset = runtime.seed.identity
        return {
            "status": "ok" if broker["reachable"] else "degraded",
            "ruleset": ruleset,
            "engine": runtime.settings.engine,
            "broker": broker,
        }


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200, ReadinessSchema, headers={"Cache-Control": {"schema": {"type": "string"}}})
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    @blp.doc(security=[])  # public: probes carry no key
    def get(self) -> Any:
        """Ready to evaluate: Redis answers and at least one worker answers a ping within a
        second (embedded: the in-process worker runs). 503 problem+json naming what is not.

        For a load balancer or an orchestrator's readiness probe; `/healthz` is liveness.
        """
        report = readiness(current_app).check()
        if not report.ready:
            raise Problem(503, f"Not ready: {report.failures()}.", slug="not-ready",
                          headers={"Retry-After": "5", "Cache-Control": "no-store"},
                          checks=report.as_list())
        return {"status": "ready", "checks": report.as_list()}, {"Cache-Control": "no-store"}
