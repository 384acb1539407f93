"""The Flask application factory: flask-smorest blueprints, OpenAPI 3 at ``/openapi.json``,
Swagger UI at ``/docs`` and the analyst console at ``/console`` (``service.console``), and
problem+json for every error."""

from __future__ import annotations

import http
from importlib import metadata
from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from schemas.errors import ProblemSchema
from service import console
from service.api import (
    analyses,
    auth,
    authoring,
    batches,
    browse,
    catalog,
    decisions,
    evaluations,
    hardening,
    health,
    metrics,
    openapi,
    problems,
    reports,
    robustness,
    rulesets,
    whatif,
)
from service.api.bodies import BoundedRequest
from service.api.jsonprovider import OrjsonProvider
from service.api.runtime import Runtime
from service.config import Settings
from service.observability.http import instrument

DESCRIPTION = """\
Scores a defense-procurement proposal against an analyst-written ruleset: four weighted
criteria, an adjectival rating, a recommendation, and the reasons (every point accounted for by
a rule, with the evidence). Errors are RFC 9457 `application/problem+json`.
"""


def _version() -> str:
    try:
        return metadata.version("procurement-policy-eval")
    except metadata.PackageNotFoundError:
        return "0.0.0+source"


class ProblemApi(Api):
    """flask-smorest's Api with RFC 9457 errors, in the responses and in the document."""

    ERROR_SCHEMA = ProblemSchema
    # no catch-all `default` response: every status an operation answers is listed
    # (service.api.openapi adds those of the request pipeline)
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        problems.register(self._app)

    def _register_responses(self) -> None:
        # As flask-smorest's own, but documenting errors as application/problem+json.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, problems.MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the API for ``settings`` (default: from the environment).

    Without a Redis URL this also starts the embedded worker thread; ``close_app`` stops it.
    Raises ``RulesetError`` or ``OSError`` when the ruleset cannot be loaded.
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.request_class = BoundedRequest  # a body over the limit is refused, never cut short
    app.json = OrjsonProvider(app)
    app.config.update(
        API_TITLE="Procurement policy evaluation",
        API_VERSION=_version(),
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": DESCRIPTION},
            "security": [{"apiKey": []}],
            "components": {"securitySchemes": {"apiKey": {
                "type": "http", "scheme": "bearer",
                "description": "An API key: `Authorization: Bearer <key>`. Roles: evaluator "
                               "(evaluations, batches, their robustness jobs), analyst (also "
                               "publish rulesets, impact jobs), admin (also activate "
                               "rulesets, the decision log). Each caller sees only the "
                               "evaluations, batches and jobs it created (an admin sees "
                               "all): another's id is 404."}}},
        },
        MAX_CONTENT_LENGTH=settings.max_content_length,
    )
    # Keep the engine's key order (decision first, explanation after) and real characters.
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    limiter = hardening.limiter(settings)
    auth.install(app, settings, limiter)  # before the limiter: it counts per authenticated key
    hardening.install(app, settings, limiter)
    app.extensions["policy_eval"] = Runtime.start(settings)
    batches.report_progress(app.extensions["policy_eval"])
    instrument(app)  # request ids, latency, access log; queue depth and readiness over the runtime
    api = ProblemApi(app, spec_kwargs={"extra_plugins": [openapi.ContractPlugin()]})
    api.ma_plugin.converter.add_attribute_function(openapi.one_of_property)
    for blueprint in (evaluations.blp, batches.blp, rulesets.blp, analyses.blp, decisions.blp,
                      health.blp, problems.blp, metrics.blp, authoring.blp, catalog.blp,
                      browse.blp, reports.blp, robustness.blp, whatif.blp):
        api.register_blueprint(blueprint)
    console.install(app)  # the analyst console at /console, and /docs from local files
    return app


def close_app(app: Flask) -> None:
    """Stop what ``create_app`` started (the embedded worker)."""
    runtime: Runtime = app.extensions["policy_eval"]
    runtime.close()
