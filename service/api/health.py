"""``/healthz``: is this process up, with its ruleset, and can it reach the broker?"""

from __future__ import annotations

from typing import Any

import redis
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.evaluation import HealthSchema

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
