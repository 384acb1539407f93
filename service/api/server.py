"""``policy-eval serve``: the API in one process, on waitress.

Embedded (no Redis URL) the same process runs the worker thread, so one command gives a working
service: the in-memory queue lives in this process, so it must be exactly one process, and
waitress, a production WSGI server of pure Python, serves from threads of it (Werkzeug's
development server is not for serving: measured at 16 clients it held ~240 requests/s where
waitress holds the machine's rate). With a Redis URL it serves the API only; run workers with
``policy-eval worker``. For several API processes run gunicorn on ``service.api.wsgi:app``
(see docker-compose.yml).
"""

from __future__ import annotations

import sys
from dataclasses import replace

from waitress import create_server

from service.api.app import close_app, create_app
from service.api.runtime import Runtime
from service.config import ConfigError, Settings, env_value
from service.engine import RulesetError
from service.observability import logs
from service.registry.store import VersionConflict

DEFAULT_THREADS = 8  # as gunicorn_conf


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "localhost"
    return f"[{host}]" if ":" in host else host


def banner(url: str, runtime: Runtime) -> str:
    settings, ruleset = runtime.settings, runtime.active_ruleset()
    if settings.redis_url is None:
        mode = ("embedded: in-process worker on an in-memory queue; nothing else to run "
                "(single process; use --redis for several)")
    else:
        mode = "API only, queue on Redis; start workers with `policy-eval worker --redis URL`"
    return "\n".join([
        f"policy-eval API on {url}",
        f"  mode     {mode}",
        f"  ruleset  {ruleset.name} {ruleset.version} ({ruleset.content_hash[:19]}…), "
        f"engine {settings.engine}",
        f"  console  {url}/console",
        f"  docs     {url}/docs   (OpenAPI: {url}/openapi.json)",
        f"  try      curl -X POST {url}/v1/evaluations -H 'Content-Type: application/json' "
        "-d @examples/<proposal>.json",
        "  stop     Ctrl-C",
    ])


def threads() -> int:
    """Request threads: API_THREADS, as gunicorn's workers have (a request waiting for its
    evaluation holds one)."""
    raw = env_value("API_THREADS")
    try:
        count = int(raw) if raw is not None else DEFAULT_THREADS
    except ValueError:
        raise ConfigError(f"API_THREADS must be a whole number, not {raw!r}") from None
    if count < 1:
        raise ConfigError(f"API_THREADS must be at least 1, not {count}")
    return count


def serve(host: str, port: int, redis_url: str | None) -> None:
    """Serve until interrupted. ``port`` 0 picks a free port (the banner shows which)."""
    logs.configure("text")  # a person reads this terminal; LOG_FORMAT=json overrides
    settings = replace(Settings.from_env(), redis_url=redis_url or None)
    try:
        app = create_app(settings)
    except (RulesetError, OSError, VersionConflict) as error:
        sys.exit(f"policy-eval serve: cannot load ruleset {settings.ruleset}:\n{error}")
    server = create_server(app, host=host, port=port, threads=threads(),
                           ident="policy-eval", clear_untrusted_proxy_headers=True)
    url = f"http://{_display_host(host)}:{server.effective_port}"
    print(banner(url, app.extensions["policy_eval"]), flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        close_app(app)
