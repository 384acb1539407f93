"""``policy-eval serve``: the API on werkzeug's threaded server.

Embedded (no Redis URL) the same process runs the worker thread, so one command gives a working
service. With a Redis URL it serves the API only; run workers with ``policy-eval worker``. For
production traffic run gunicorn on ``service.api.wsgi:app`` instead (see docker-compose.yml).
"""

from __future__ import annotations

import sys
from dataclasses import replace

from werkzeug.serving import make_server

from service.api.app import close_app, create_app
from service.api.runtime import Runtime
from service.config import Settings
from service.engine import RulesetError
from service.observability import logs
from service.registry.store import VersionConflict


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
        f"  docs     {url}/docs   (OpenAPI: {url}/openapi.json)",
        f"  try      curl -X POST {url}/v1/evaluations -H 'Content-Type: application/json' "
        "-d @examples/<proposal>.json",
        "  stop     Ctrl-C",
    ])


def serve(host: str, port: int, redis_url: str | None) -> None:
    """Serve until interrupted. ``port`` 0 picks a free port (the banner shows which)."""
    logs.configure("text")  # a person reads this terminal; LOG_FORMAT=json overrides
    settings = replace(Settings.from_env(), redis_url=redis_url or None)
    try:
        app = create_app(settings)
    except (RulesetError, OSError, VersionConflict) as error:
        sys.exit(f"policy-eval serve: cannot load ruleset {settings.ruleset}:\n{error}")
    server = make_server(host, port, app, threaded=True)
    url = f"http://{_display_host(host)}:{server.server_port}"
    print(banner(url, app.extensions["policy_eval"]), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        close_app(app)
