"""``/v1/evaluations``: submit a proposal, get a scored recommendation.

A POST validates the proposal first (a 422 names every bad field before anything is queued),
enqueues it for a worker and waits up to ``SYNC_TIMEOUT`` seconds: most evaluations take
milliseconds, so most clients get their answer in one round trip. ``Prefer: respond-async``
(or a wait that runs out) answers 202 with a ``Location`` to poll instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import current_app, g, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from webargs.core import is_json

from schemas.errors import ROOT, ProblemSchema
from schemas.evaluation import EvaluateQuerySchema, EvaluationJobSchema, PreferHeaderSchema
from schemas.proposal import ProposalSchema
from service.api import jobs
from service.api.problems import MEDIA_TYPE, Problem, invalid_json
from service.api.runtime import Runtime
from service.observability.http import readiness

blp = Blueprint(
    "evaluations", __name__, url_prefix="/v1/evaluations",
    description="Evaluate procurement proposals against the active ruleset.",
)

_WAIT = re.compile(r"^\s*wait\s*=\s*\"?(\d+(?:\.\d+)?)\"?\s*$", re.IGNORECASE)
_ACCEPTED_HEADERS = {
    "Location": {"description": "Where to poll for the result.", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before polling.",
                    "schema": {"type": "integer"}},
}


def runtime() -> Runtime:
    found: Runtime = current_app.extensions["policy_eval"]
    return found


def preferences(header: str | None) -> tuple[bool, float | None]:
    """``(respond_async, wait)`` from an RFC 7240 ``Prefer`` header; unknown or malformed
    preferences are ignored, as the RFC requires."""
    respond_async, wait = False, None
    for token in (header or "").split(","):
        if token.split(";")[0].strip().lower() == "respond-async":
            respond_async = True
        elif match := _WAIT.match(token.split(";")[0]):
            wait = float(match.group(1))
    return respond_async, wait


@blp.before_request
def require_json_object() -> None:
    """Check the body before webargs sees it: webargs reads a non-JSON content type as an empty
    body, and lets ``RecursionError`` from deeply nested JSON escape as a 500."""
    if request.method != "POST":
        return
    if not is_json(request.mimetype):
        raise Problem(415, f"Send the proposal as application/json, not "
                           f"{request.mimetype or 'a body without Content-Type'}.",
                      errors=[{"field": "Content-Type", "location": "header",
                               "message": "Must be application/json."}])
    data = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not data.strip():
        raise Problem(400, "The request body is empty; send a proposal as a JSON object.",
                      errors=[{"field": ROOT, "location": "body", "message": "Empty body."}])
    try:
        g.proposal_json = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise invalid_json(error) from None


def _require_a_worker() -> None:
    """A synchronous evaluation needs a worker now: with none ready, waiting out SYNC_TIMEOUT
    could only end in a 202 for work that may not start for a long time. So it is refused at
    once, and nothing is queued: the client retries (or asks `respond-async`, which queues
    for whenever a worker comes). Readiness checks at most once a second (``/readyz``'s
    check, shared); Redis itself unreachable is left to the broker's own 503."""
    report = readiness(current_app).check()
    checks = {check.name: check for check in report.checks}
    redis_ok, workers = checks.get("redis"), checks.get("workers")
    if redis_ok is not None and redis_ok.ok and workers is not None and not workers.ok:
        raise Problem(503, f"No worker is ready to evaluate ({workers.detail}); nothing was "
                           "queued. Retry later, or send `Prefer: respond-async` to queue it "
                           "for when a worker starts.", slug="not-ready",
                      headers={"Retry-After": "5"}, checks=report.as_list())


def _location(evaluation_id: str) -> str:
    return url_for("evaluations.EvaluationById", evaluation_id=evaluation_id)


def _accepted(job: jobs.Job, **headers: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    return job.as_dict(), 202, {"Location": _location(job.id), "Retry-After": "1", **headers}


@blp.route("")
class Evaluations(MethodView):
    # Schema instances, not classes: given a class, webargs builds a new schema (and all its
    # nested ones) for every request: 0.9 ms of each request under cProfile.
    @blp.arguments(EvaluateQuerySchema(), location="query")
    @blp.arguments(PreferHeaderSchema(), location="headers")
    @blp.arguments(ProposalSchema(), location="json", description="The proposal to evaluate.")
    @blp.response(200, EvaluationJobSchema, description="Evaluated within the wait.",
                  headers={"Content-Location": {"description": "Where this result stays "
                                                               "available.",
                                                "schema": {"type": "string"}}})
    @blp.alt_response(202, schema=EvaluationJobSchema, headers=_ACCEPTED_HEADERS,
                      description="Queued: `Prefer: respond-async`, or not done within the "
                                  "wait. Poll `Location`.")
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(500, response="INTERNAL_SERVER_ERROR")
    @blp.alt_response(503, schema=ProblemSchema, content_type=MEDIA_TYPE, headers={
        "Retry-After": _ACCEPTED_HEADERS["Retry-After"]},
        description="Nothing was queued: Redis cannot be reached (`/problems/broker-"
                    "unavailable`), or, for a request that would wait, no worker is ready "
                    "(`/problems/not-ready`, with the readiness `checks`). Retry after "
                    "`Retry-After`, or send `Prefer: respond-async` to queue it for when a "
                    "worker starts.")
    def post(self, query: dict[str, Any], _headers: dict[str, Any],
             _proposal: dict[str, Any]) -> Any:
        """Evaluate a proposal.

        Answers 200 with the evaluation when a worker finishes within the wait (at most the
        server's `SYNC_TIMEOUT`, less with `Prefer: wait=N`), else 202 with `Location`.
        With no worker ready, a request that would wait is refused at once (503
        `/problems/not-ready`, nothing queued); `Prefer: respond-async` is queued anyway.
        """
        state = runtime()
        respond_async, preferred_wait = preferences(request.headers.get("Prefer"))
        explain = query["explain"]
        limit = state.settings.sync_timeout
        wait = 0.0 if respond_async else min(limit, preferred_wait if preferred_wait is not None
                                             else limit)
        if wait > 0 and not state.settings.embedded:
            _require_a_worker()
        # The worker gets the document as the client sent it and validates it again, exactly
        # as `policy-eval evaluate` does with a file: one input, one result.
        job = jobs.submit(state, g.proposal_json, explain, waiting=wait > 0)
        jobs.wait(state, job.id, wait)
        job = jobs.progress(state, job)
        if respond_async:
            return _accepted(job, **{"Preference-Applied": "respond-async"})
        if job.status == "done":
            return job.as_dict(), 200, {"Content-Location": _location(job.id)}
        if job.status == "failed" and job.error is not None:
            raise Problem.from_body(job.error, headers={"Content-Location": _location(job.id)})
        return _accepted(job)


@blp.route("/<string:evaluation_id>")
class EvaluationById(MethodView):
    @blp.response(200, EvaluationJobSchema, description="Done, or failed (see `error`).")
    @blp.alt_response(202, schema=EvaluationJobSchema, headers=_ACCEPTED_HEADERS,
                      description="Still queued or running.")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self, evaluation_id: str) -> Any:
        """Get an evaluation by id.

        Ids are kept as long as results (`RESULT_TTL`); after that, or for an id this service
        never issued, the answer is 404.
        """
        job = jobs.lookup(runtime(), evaluation_id) if len(evaluation_id) <= 64 else None
        if job is None:
            raise Problem(404, f"No evaluation {evaluation_id!r}: never submitted here, or its "
                               "result has expired.")
        if job.status in ("queued", "running"):
            return _accepted(job)
        return job.as_dict()
