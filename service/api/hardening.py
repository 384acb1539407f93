"""Limits and headers every response gets: a rate limit per API key, CORS only for origins an
operator names, and the security headers a JSON API should send.

The limiter's headers are its own (``X-RateLimit-*``): ``Retry-After`` belongs to the views
(how long to wait before polling a 202) and to refusals (429, 503).
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from flask_cors import CORS
from flask_limiter import HeaderNames, Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage

from service.api.problems import Problem
from service.config import Settings

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# JSON only: nothing to run, frame or load (the console sets its pages' own policy)
API_CSP = "default-src 'none'; frame-ancestors 'none'"


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory counters (embedded mode), swept of expired keys inline at most once a
    second. Its own way starts a timer thread on every hit that finds none running: under load
    that was ~1 ms a request, more than the evaluation (measured with cProfile, embedded)."""

    STORAGE_SCHEME = ["policy-memory"]  # noqa: RUF012  (the registry of limits reads it)
    SWEEP_SECONDS = 1.0
    _swept = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the base's private method
        now = time.monotonic()
        if now - self._swept >= self.SWEEP_SECONDS:
            self._swept = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def _rate_key() -> str:
    """The caller's key name once authenticated, else the client address."""
    caller = g.get("caller")
    return f"key:{caller.name}" if caller is not None else f"ip:{get_remote_address()}"


def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if request.path.startswith("/v1/"):
        response.headers["Content-Security-Policy"] = API_CSP
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def limiter(settings: Settings) -> Limiter:
    """The rate limiter, not yet installed: authentication uses its storage to count requests
    without a valid key, and must hook in before it (``install``).

    Limits are for deployments with keys. The embedded development default (no keys) serves
    one developer's machine, whose load tests should measure the service, not the limiter.
    """
    keyed = bool(settings.api_keys or settings.api_keys_file)
    return Limiter(
        _rate_key, default_limits=[settings.rate_limit] if keyed else [],
        storage_uri=settings.redis_url or "policy-memory://",
        storage_options={"socket_connect_timeout": 2} if settings.redis_url else {},
        headers_enabled=True,  # X-RateLimit-Limit, -Remaining, -Reset, -Retry-After
        header_name_mapping={HeaderNames.RETRY_AFTER: "X-RateLimit-Retry-After"},
        default_limits_exempt_when=lambda: not request.path.startswith("/v1/"),
        swallow_errors=True,  # a Redis hiccup must not turn into 500s; the broker check says 503
    )


def install(app: Flask, settings: Settings, limits: Limiter) -> None:
    """Call after authentication is installed: the limit is counted per authenticated key."""
    limits.init_app(app)

    def too_many(error: RateLimitExceeded) -> Response:
        current = limits.current_limit
        wait = max(1, int(current.reset_at - time.time()) + 1) if current else 1
        return Problem(429, f"Rate limit of {error.description} exceeded; retry after {wait} s.",
                       headers={"Retry-After": str(wait)}).response()

    app.register_error_handler(RateLimitExceeded, too_many)
    if settings.cors_origins:
        CORS(app, resources={r"/v1/*": {"origins": list(settings.cors_origins)}},
             expose_headers=["Location", "Retry-After", "X-Request-ID"])
    app.after_request(_secure)
