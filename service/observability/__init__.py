"""Observability: Prometheus metrics aggregated across processes, structured logs stamped with
request, task and decision ids, and readiness.

- ``settings``: LOG_FORMAT, LOG_LEVEL, the metrics directory.
- ``logs``: the one logging set-up, JSON or text, and the context ids.
- ``multiproc``: the files prometheus-client shares between processes, named and cleaned safely.
- ``metrics``: the metrics, the scrape-time collectors (queue depth, batch progress), /metrics.
- ``http``: request ids, latency histograms and the access log for the Flask app.
- ``worker``: Celery signal handlers (request id hand-over, task context, task metrics).
- ``readiness``: what /readyz checks.

Nothing here changes what the API or the tasks compute: it hooks in from outside (WSGI
middleware, ``after_request``, Celery signals), so the evaluation code paths stay as they are.
"""
