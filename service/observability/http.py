"""The Flask side: a request id for every request, its latency in the histogram, and an access
line in the log carrying the id.

The request id is taken from the client's ``X-Request-ID`` when it is a plausible id (so a
caller's or a proxy's id follows the request through our logs) and made up otherwise; it is
echoed in the response's ``X-Request-ID``. It is set in WSGI middleware, before Flask runs
anything, so every record logged while the request is served carries it, whatever hook of
another module answers first (authentication, rate limits), and ``service.observability.worker``
hands it on to the tasks the request enqueues.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request

from service.observability import logs, metrics
from service.observability.readiness import Readiness

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")  # printable, no spaces or quotes
_STARTED = "policy_eval.started"  # the WSGI environ key holding the arrival time
# Probes and scrapes arrive every few seconds: their access lines are DEBUG, not INFO.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

access_log = logging.getLogger("service.access")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def accepted_request_id(value: str | None) -> str | None:
    """The client's id if it is safe to log and echo: a free-form header would let a client
    write anything into our logs and headers."""
    value = (value or "").strip()
    return value if _REQUEST_ID.fullmatch(value) else None


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets the request id (and the arrival time) around the wrapped app; echoes the id."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ[_STARTED] = time.perf_counter()
        request_id = accepted_request_id(environ.get("HTTP_X_REQUEST_ID")) or new_request_id()
        environ["HTTP_X_REQUEST_ID"] = request_id  # what the app sees is what we log

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = [h for h in headers if h[0].lower() != REQUEST_ID_HEADER.lower()]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status, headers, exc_info)

        token = logs.request_id.set(request_id)
        try:
            return self.app(environ, start)
        finally:
            logs.request_id.reset(token)


def _observe(response: Response) -> Response:
    """Time the request and write its access line (runs for error responses too: every error
    becomes a problem response through the app's handlers)."""
    started = request.environ.get(_STARTED)
    seconds = time.perf_counter() - started if started is not None else 0.0
    route = request.url_rule.rule if request.url_rule is not None else None
    metrics.observe_request(request.method, route, response.status_code, seconds)
    level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
    access_log.log(level, "%s %s %d %.1f ms", request.method, request.path,
                   response.status_code, seconds * 1000,
                   extra={"method": request.method, "path": request.path,
                          "route": route or metrics.UNMATCHED_ROUTE,
                          "status": response.status_code,
                          "duration_ms": round(seconds * 1000, 3)})
    return response


_QUEUE_DEPTH = "policy_eval_queue_depth"
_READINESS = "policy_eval_readiness"


def instrument(app: Flask) -> None:
    """Install the middleware and the per-request observation on ``app``, and the scrape-time
    queue-depth collector and readiness checker over its runtime (so after ``Runtime.start``)."""
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    app.after_request(_observe)
    runtime = app.extensions["policy_eval"]
    app.extensions[_QUEUE_DEPTH] = metrics.QueueDepthCollector(runtime.workers.celery,
                                                               runtime.settings.redis_url)
    app.extensions[_READINESS] = Readiness(runtime)


def queue_depth(app: Flask) -> metrics.QueueDepthCollector:
    found: metrics.QueueDepthCollector = app.extensions[_QUEUE_DEPTH]
    return found


def readiness(app: Flask) -> Readiness:
    found: Readiness = app.extensions[_READINESS]
    return found
