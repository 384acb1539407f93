"""``GET /metrics``: Prometheus metrics of the whole deployment (see
``service.observability.metrics`` for what is counted and how processes share it).

Public, like ``/healthz`` and ``/readyz``: Prometheus scrapes without credentials. The numbers
reveal traffic, not decisions, but serve this path on an internal network only (or filter it
at the proxy).
"""

from __future__ import annotations

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from service.observability import http, metrics

blp = Blueprint("metrics", __name__,
                description="Prometheus metrics (public: keep it on an internal network).")


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(200, description="Prometheus text format (OpenMetrics when the `Accept` "
                                   "header asks for it).", content_type="text/plain")
    @blp.doc(security=[])  # public: Prometheus scrapes without a key
    def get(self) -> Response:
        """Scrape the metrics.

        Request latency by route and status, evaluations by rating and ruleset version, task
        durations, queue depth and batch progress, summed over every API and worker process
        sharing `PROMETHEUS_MULTIPROC_DIR`.
        """
        body, content_type = metrics.exposition(request.headers.get("Accept"),
                                                [http.queue_depth(current_app)])
        return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
