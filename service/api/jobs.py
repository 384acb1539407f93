"""Submitting evaluations to the workers and reading back where they are.

Kept apart from the HTTP views so the views only translate between HTTP and these calls. Each
evaluation is recorded in the ledger with its caller: another caller's id is looked up as an
unknown one, so whether it exists cannot be learnt.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.api.auth import current_caller
from service.api.problems import Problem
from service.api.runtime import Runtime
from service.clock import iso, utc_now

KIND = "evaluation"  # the ledger's kind of these jobs (see service.api.analyses for the others)


@dataclass(frozen=True)
class Job:
    id: str
    status: str  # queued | running | done | failed
    explain: str
    submitted_at: str  # service.clock's form, as every time the API shows
    completed_at: str | None = None
    evaluation: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id, "status": self.status, "explain": self.explain,
            "submitted_at": self.submitted_at, "completed_at": self.completed_at,
        }
        if self.evaluation is not None:
            body["evaluation"] = self.evaluation
        if self.error is not None:
            body["error"] = self.error
        return body


def submit(runtime: Runtime, proposal: Any, explain: str, *, waiting: bool = False,
           version: str | None = None) -> Job:
    """Enqueue one evaluation under ``version`` (else the active one); returns it queued.
    Raises the broker's error if it is unreachable."""
    evaluation_id = str(uuid.uuid4())
    submitted_at = utc_now()
    caller = current_caller().name
    # pinned now: activating another version later does not change this evaluation
    version = version or runtime.active_version()
    runtime.workers.submit_evaluation(evaluation_id, proposal, explain, version, caller,
                                      waiting=waiting)
    # Recorded after publishing: a recorded id is always one a worker will see. The client
    # only learns the id from our response, so it cannot ask before this is written.
    runtime.backends.ledger.record(evaluation_id, {"kind": KIND, "caller": caller,
                                                   "submitted_at": submitted_at,
                                                   "explain": explain})
    return Job(evaluation_id, "queued", explain, submitted_at)


def evaluate_all(runtime: Runtime, proposals: list[Any], explain: str,
                 version: str | None) -> list[Job]:
    """Evaluate (validated) proposals and wait for them, up to ``SYNC_TIMEOUT`` in all: for
    the answers built from evaluations (a what-if, a comparison). A failure is raised as its
    problem; a wait that runs out is a 503 to retry, the evaluations left to finish."""
    submitted = [submit(runtime, proposal, explain, waiting=True, version=version)
                 for proposal in proposals]
    deadline = time.monotonic() + runtime.settings.sync_timeout
    done = []
    for job in submitted:
        wait(runtime, job.id, max(0.0, deadline - time.monotonic()))
        job = progress(runtime, job)
        if job.status == "failed" and job.error is not None:
            raise Problem.from_body(job.error)
        if job.status != "done":
            raise Problem(503, f"The workers did not evaluate within "
                               f"{runtime.settings.sync_timeout:g} s; retry later.",
                          headers={"Retry-After": "5"})
        done.append(job)
    return done


def submitted_proposal(runtime: Runtime, job: Job) -> Any:
    """The proposal of a done evaluation as it was submitted (its worker keeps it with the
    result); None for a result stored before it did."""
    result = runtime.workers.state(job.id).result
    return result.get("proposal") if isinstance(result, dict) else None


def wait(runtime: Runtime, evaluation_id: str, timeout: float) -> None:
    """Block until the evaluation completes or ``timeout`` seconds pass, whichever is first."""
    runtime.workers.wait(evaluation_id, timeout)


def lookup(runtime: Runtime, evaluation_id: str) -> Job | None:
    """Where the evaluation is now; ``None`` for an id this service never issued (or expired),
    and for another caller's (unless the caller is an admin)."""
    entry = runtime.backends.ledger.lookup(evaluation_id)
    if (entry is None or entry.get("kind", KIND) != KIND
            or not current_caller().may_see(entry.get("caller"))):
        return None
    return progress(runtime, Job(evaluation_id, "queued", entry["explain"],
                                 entry["submitted_at"]))


def progress(runtime: Runtime, job: Job) -> Job:
    """``job`` as its worker has left it so far (the caller knows the job exists)."""
    state = runtime.workers.state(job.id)
    if state.status == "done":
        return _finished(job, state.result)
    if state.status == "running":
        return Job(job.id, "running", job.explain, job.submitted_at)
    if state.status == "failed":
        failure = Problem(500, f"The worker could not evaluate this proposal "
                               f"({state.failure}); the worker log has the details.",
                          slug="evaluation-failed", evaluation_id=job.id)
        return Job(job.id, "failed", job.explain, job.submitted_at, when(state.finished_at),
                   error=failure.body())
    return job


def _finished(job: Job, result: dict[str, Any]) -> Job:
    completed_at = when(result.get("completed_at"))
    if result.get("outcome") == "done":
        return Job(job.id, "done", job.explain, job.submitted_at, completed_at,
                   evaluation=result["evaluation"])
    # The API validates before enqueueing, so this means the worker runs a newer schema.
    invalid = Problem(422, "The worker refused the proposal.", slug="invalid-proposal",
                      errors=result.get("errors", []), evaluation_id=job.id)
    return Job(job.id, "failed", job.explain, job.submitted_at, completed_at,
               error=invalid.body())


def when(value: Any) -> str | None:
    """A time a worker or Celery recorded (a ``datetime`` or ISO text), in the clock's form."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, str) and value:
        return iso(datetime.fromisoformat(value))
    return None
