"""Every error as RFC 9457 ``application/problem+json``: routing, bodies, validation, the broker,
and bugs. Never an HTML page, never a traceback.

Problem types with their own semantics get a ``type`` URI of ``/problems/<slug>``, which this
service serves as a short description; plain HTTP errors use ``about:blank`` as RFC 9457 asks.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

import kombu.exceptions
import redis
from flask import Flask, Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from schemas.errors import ROOT, ProblemTypeSchema, field_errors

MEDIA_TYPE = "application/problem+json"
ABOUT_BLANK = "about:blank"
# what Redis (broker, result store, ledger) being unreachable looks like
UNAVAILABLE = (kombu.exceptions.OperationalError, redis.ConnectionError, redis.TimeoutError)

log = logging.getLogger(__name__)

# slug -> (title, what it means); served at /problems/<slug>
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "invalid-json": (
        "Invalid JSON body",
        "The request body is not a JSON document. `errors` points at the document (`$`) and "
        "`detail` gives the line and column where parsing stopped.",
    ),
    "invalid-proposal": (
        "Invalid proposal",
        "The proposal does not match the schema. Each entry of `errors` names one field by its "
        "dotted path (list indexes included, e.g. `capabilities.datalinks.1`) and says what is "
        "wrong with it. Types are strict: a number sent as a string is refused, not converted.",
    ),
    "invalid-parameter": (
        "Invalid parameter",
        "A query parameter or header has a value the API does not accept; `errors` names it.",
    ),
    "invalid-ruleset": (
        "Invalid ruleset",
        "The ruleset does not load. `problems` lists every problem as `policy-eval rules check` "
        "reports it: file, line, column, rule id, message and a hint; `text` is the whole line. "
        "Nothing was published and the active version keeps serving.",
    ),
    "broker-unavailable": (
        "Task queue unavailable",
        "The API cannot reach Redis, which carries evaluations to the workers and their results "
        "back. Nothing was lost on the client's side: retry after `Retry-After` seconds.",
    ),
    "not-ready": (
        "Not ready",
        "This API cannot get an evaluation done right now: Redis does not answer, or no worker "
        "answered a ping (embedded: the in-process worker stopped). `checks` says which. "
        "Liveness (`/healthz`) is unaffected: restarting the API would not help. A "
        "synchronous `POST /v1/evaluations` meets it too when no worker is ready: nothing was "
        "queued; retry, or send `Prefer: respond-async` to queue it for when one starts.",
    ),
    "evaluation-failed": (
        "Evaluation failed",
        "A worker accepted the evaluation but could not complete it (for instance a time limit, "
        "or the two rule evaluators disagreeing). The worker log has the details.",
    ),
}


def problem_type(slug: str) -> str:
    return f"/problems/{slug}"


class Problem(Exception):
    """Raise anywhere in a request to answer with this problem."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail
        self.type = problem_type(slug) if slug else ABOUT_BLANK
        self.title = title or (PROBLEM_TYPES[slug][0] if slug else HTTPStatus(status).phrase)
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions

    @classmethod
    def from_body(cls, body: dict[str, Any], headers: dict[str, str] | None = None) -> Problem:
        """The problem a stored body describes (e.g. a failed evaluation, raised again)."""
        known = {"type", "title", "status", "detail", "instance", "errors"}
        problem = cls(int(body["status"]), body.get("detail"), title=body.get("title"),
                      errors=body.get("errors"), headers=headers,
                      **{k: v for k, v in body.items() if k not in known})
        problem.type = str(body.get("type", ABOUT_BLANK))
        return problem

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        body["instance"] = request.path
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extensions)
        return body

    def response(self) -> Response:
        # A problem may quote what the client sent (an unknown field's name): text with a lone
        # surrogate, from a JSON `\ud800` escape, is sent as U+FFFD, since it has no UTF-8.
        text = current_app.json.dumps(self.body())
        body = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        response = current_app.response_class(body, status=self.status, mimetype=MEDIA_TYPE)
        response.headers.update(self.headers)
        return response


# webargs names locations after its loaders; clients think in parts of the request
_LOCATIONS = {"json": "body", "query": "query", "querystring": "query", "headers": "header"}


def _from_http_exception(error: HTTPException) -> Problem:
    status = error.code or 500
    data: dict[str, Any] = getattr(error, "data", None) or {}
    messages = data.get("messages")
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})

    if status == 422 and isinstance(messages, dict):
        errors = [e for location, found in messages.items()
                  for e in field_errors(found, _LOCATIONS.get(location, location))]
        in_body = all(e.get("location") == "body" for e in errors)
        count = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}"
        return Problem(422, f"{count} found; each entry of `errors` names a field.",
                       slug="invalid-proposal" if in_body else "invalid-parameter",
                       errors=errors, headers=headers)
    if status == 400 and isinstance(messages, dict) and "json" in messages:
        return invalid_json(getattr(error, "exc", None))
    if status == 413:
        limit = request.max_content_length
        return Problem(413, f"The request body is larger than the limit of {limit} bytes.",
                       errors=[{"field": ROOT, "message": f"Larger than {limit} bytes.",
                                "location": "body"}], headers=headers)
    if status == 405:
        allowed = headers.get("Allow", "")
        return Problem(405, f"{request.method} is not allowed on {request.path}; "
                            f"allowed: {allowed}.", headers=headers)
    if status == 404:
        return Problem(404, f"Nothing at {request.path}. The API is described at /openapi.json "
                            "(browsable at /docs).",
                       headers=headers)
    return Problem(status, error.description, headers=headers)


def invalid_json(error: BaseException | None) -> Problem:
    where = ""
    if isinstance(error, json.JSONDecodeError):
        where = f" (line {error.lineno}, column {error.colno}: {error.msg})"
    elif isinstance(error, UnicodeDecodeError):
        where = " (not UTF-8)"
    elif isinstance(error, RecursionError):
        where = " (nested too deeply)"
    elif isinstance(error, ValueError):  # e.g. an integer past Python's 4,300-digit limit
        where = f" ({error})"
    return Problem(400, f"The request body is not valid JSON{where}.", slug="invalid-json",
                   errors=[{"field": ROOT, "message": f"Not valid JSON{where}.",
                            "location": "body"}])


def _handle_problem(problem: Problem) -> Response:
    return problem.response()


def _handle_http_exception(error: HTTPException) -> Response:
    return _from_http_exception(error).response()


def _handle_unavailable(error: Exception) -> Response:
    log.warning("broker unavailable: %s: %s", type(error).__name__, error)
    return Problem(503, "The task queue (Redis) cannot be reached; try again shortly.",
                   slug="broker-unavailable", headers={"Retry-After": "5"}).response()


def caused_by_outage(error: BaseException) -> bool:
    """Whether Redis being unreachable is behind ``error``: Celery wraps some connection
    failures in its own exceptions (a ``RuntimeError`` when the result consumer gives up)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, UNAVAILABLE):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _handle_unexpected(error: Exception) -> Response:
    if caused_by_outage(error):
        return _handle_unavailable(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return Problem(500, "The server could not complete the request. The error was logged; "
                        "no details are given here.").response()



def register(app: Flask) -> None:
    """Install the handlers; Flask picks the most specific one for each exception."""
    app.register_error_handler(Problem, _handle_problem)
    app.register_error_handler(HTTPException, _handle_http_exception)
    for exception in UNAVAILABLE:
        app.register_error_handler(exception, _handle_unavailable)
    app.register_error_handler(Exception, _handle_unexpected)


blp = Blueprint("problems", __name__, url_prefix="/problems",
                description="What the `type` of a problem response means.")


@blp.route("/<string:slug>")
class ProblemTypeDoc(MethodView):
    @blp.response(200, ProblemTypeSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, slug: str) -> dict[str, str]:
        """Describe one problem type."""
        if slug not in PROBLEM_TYPES:
            raise Problem(404, f"No problem type {slug!r}.")
        title, description = PROBLEM_TYPES[slug]
        return {"type": problem_type(slug), "title": title, "description": description}
