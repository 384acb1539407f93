"""``/v1/jobs``: analysis jobs, which run on the workers for as long as they take.

An endpoint that starts one (``POST /v1/rulesets/{version}/impact``,
``POST /v1/batches/{id}/robustness``) answers 202 at once with the job and a ``Location``
here; the job's owner polls it for its status and progress, reads its result once it is
``done`` (and its charts, for a kind that draws some), or cancels it (``DELETE``). Another
caller's job is 404, as an unknown one is; admins see every job; a job needs the role that
starts its kind (``permissions.job_role``). ``service.jobs.analysis`` says what a job is.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.job import JobSchema
from service.api import permissions
from service.api.auth import current_caller
from service.api.jobs import when
from service.api.problems import PROBLEM_TYPES, Problem
from service.api.runtime import Runtime
from service.clock import utc_now
from service.jobs import analysis

blp = Blueprint("jobs", __name__, url_prefix="/v1/jobs",
                description="Analysis jobs: status, progress, result, cancellation.")

PROBLEM_TYPES.update({
    "job-failed": (
        "Analysis job failed",
        "A worker ran the job and could not finish it: it took longer than its time limit, or "
        "the worker failed. The worker log has the details. Start it again on less data.",
    ),
    "job-finished": (
        "Job already finished",
        "A finished job cannot be cancelled; its result stays readable until it expires.",
    ),
    "job-not-finished": (
        "Job not finished",
        "What was asked for exists once the job is `done`: poll the job until it is.",
    ),
})
SVG = "image/svg+xml"
POLL_SECONDS = "1"  # the Retry-After of a job still queued or running
ACCEPTED_HEADERS = {
    "Location": {"description": "The job: poll it.", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before polling.",
                    "schema": {"type": "integer"}},
}
UNFINISHED = ("queued", "running")


def _runtime() -> Runtime:
    found: Runtime = current_app.extensions["policy_eval"]
    return found


def location(job_id: str) -> str:
    return url_for("jobs.JobById", job_id=job_id)


def chart_location(job_id: str, name: str) -> str:
    return url_for("jobs.JobChart", job_id=job_id, name=name)


def start(runtime: Runtime, kind: str, args: tuple[Any, ...], **details: Any
          ) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Queue a job of ``kind`` for the caller; the 202 answer that says where to poll it."""
    job_id = str(uuid.uuid4())
    entry = analysis.record(kind, current_caller().name, utc_now(), **details)
    runtime.workers.start_analysis(job_id, kind, args)
    # recorded after queueing, as evaluations are: a recorded id is one a worker will see
    runtime.backends.ledger.record(job_id, entry)
    return (describe(runtime, job_id, entry), 202,
            {"Location": location(job_id), "Retry-After": POLL_SECONDS})


def _entry(runtime: Runtime, job_id: str) -> dict[str, Any]:
    """The ledger entry of a job the caller may see; 404 for any other id, alike."""
    entry = runtime.backends.ledger.lookup(job_id) if len(job_id) <= 64 else None
    caller = current_caller()
    if (entry is None or entry.get("kind") not in analysis.KINDS
            or not caller.may_see(entry.get("caller"))):
        raise Problem(404, f"No job {job_id!r}: never started here, or expired.")
    needed = permissions.job_role(entry["kind"])
    if not permissions.allows(caller.role, needed):  # a key whose role was lowered since
        article = "an" if entry["kind"][0] in "aeiou" else "a"
        raise Problem(403, f"Key {caller.name!r} has the role {caller.role}; {article} "
                           f"{entry['kind']} job needs {needed}.")
    return entry


def describe(runtime: Runtime, job_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The job resource: its record, and where its worker has got to."""
    body: dict[str, Any] = {
        "id": job_id, "kind": entry["kind"], "status": "queued", "progress": None,
        "submitted_at": entry["submitted_at"], "finished_at": None,
        "cancelled_at": entry.get("cancelled_at"), "links": {"self": location(job_id)},
    }
    if body["cancelled_at"]:
        return {**body, "status": "cancelled"}
    state = runtime.workers.state(job_id)
    if state.status == "running":
        body.update(status="running", progress=_progress(state.progress))
    elif state.status == "done" and state.result.get("outcome") == "done":
        result = state.result["result"]
        if "charts" in state.result:
            result = {**result, "charts": {name: chart_location(job_id, name)
                                           for name in state.result["charts"]}}
        body.update(status="done", finished_at=when(state.result.get("completed_at")),
                    progress=_progress(state.result.get("progress")), result=result)
    elif state.status in ("done", "failed"):  # a cancelled outcome is cancelled above
        failure = Problem(500, _failure_detail(runtime, state.failure or "unknown"),
                          slug="job-failed", job_id=job_id)
        body.update(status="failed", finished_at=when(state.finished_at),
                    error=failure.body())
    return body


def _progress(reported: dict[str, int] | None) -> dict[str, Any] | None:
    if not reported:
        return None
    done, total = int(reported["done"]), int(reported["total"])
    return {"done": done, "total": total,
            "percent": round(100 * done / total, 1) if total else 100.0}


def _failure_detail(runtime: Runtime, failure: str) -> str:
    if "TimeLimitExceeded" in failure:
        limit = runtime.settings.analysis_time_limit
        return (f"The job took longer than its limit of {limit:g} s (half "
                "BROKER_VISIBILITY_TIMEOUT); start it on fewer proposals.")
    return f"The worker could not finish the job ({failure}); the worker log has the details."


def _answer(runtime: Runtime, job_id: str, entry: dict[str, Any]
            ) -> tuple[dict[str, Any], int, dict[str, str]]:
    body = describe(runtime, job_id, entry)
    if body["status"] in UNFINISHED:
        return body, 202, {"Retry-After": POLL_SECONDS}
    return body, 200, {}


@blp.route("/<string:job_id>")
class JobById(MethodView):
    @blp.response(200, JobSchema, description="Finished: `done` (with its `result`), "
                                              "`failed` (with its `error`) or `cancelled`.")
    @blp.alt_response(202, schema=JobSchema, headers={"Retry-After": ACCEPTED_HEADERS[
        "Retry-After"]}, description="Still queued or running: `progress` says how far.")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self, job_id: str) -> Any:
        """A job: its status, progress, and result once done.

        Jobs are kept as long as results (`RESULT_TTL`); after that, or for an id this service
        never issued (or another caller's), the answer is 404.
        """
        runtime = _runtime()
        return _answer(runtime, job_id, _entry(runtime, job_id))

    @blp.response(200, JobSchema, description="Cancelled (or already cancelled).")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def delete(self, job_id: str) -> Any:
        """Cancel a job: a queued one never starts, a running one stops within a second."""
        runtime = _runtime()
        entry = _entry(runtime, job_id)
        body = describe(runtime, job_id, entry)
        if body["status"] in ("done", "failed"):
            raise Problem(409, f"The job has already finished ({body['status']}): there is "
                               "nothing to cancel.", slug="job-finished")
        if body["status"] != "cancelled":
            entry = {**entry, "cancelled_at": utc_now()}
            runtime.backends.ledger.record(job_id, entry)
        return describe(runtime, job_id, entry)


@blp.route("/<string:job_id>/charts/<string:name>.svg")
class JobChart(MethodView):
    @blp.response(200, description="The chart, an SVG document with its figures also as text "
                                   "(`<title>`, `<desc>`) for screen readers.",
                  content_type=SVG)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self, job_id: str, name: str) -> Any:
        """A chart of a finished job, as its result's `charts` name it.

        Drawn for a brief: black on white, greys with outlines, every figure also as text; no
        script, font or file to fetch.
        """
        runtime = _runtime()
        entry = _entry(runtime, job_id)
        state = runtime.workers.state(job_id)
        if state.status in UNFINISHED and not entry.get("cancelled_at"):
            raise Problem(409, "The job is still running: its charts exist once it is done.",
                          slug="job-not-finished", headers={"Retry-After": POLL_SECONDS})
        done = (state.status == "done" and not entry.get("cancelled_at")
                and state.result.get("outcome") == "done")
        drawn = state.result.get("charts", {}) if done else {}
        if name not in drawn:
            raise Problem(404, f"Job {job_id!r} has no chart {name!r}"
                               f"{'' if drawn else ' (it drew none)'}.")
        return Response(drawn[name], mimetype=SVG,
                        headers={"Content-Disposition": f'inline; filename="{name}.svg"'})
