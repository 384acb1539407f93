"""Submitting evaluations to the workers and reading back where they are.

Kept apart from the HTTP views so the views only translate between HTTP and these calls.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from celery import states

from service.api.auth import current_caller
from service.api.problems import Problem
from service.api.runtime import Runtime
from service.worker.replies import replies_for
from service.worker.tasks import TASK_NAME

_RUNNING = {states.STARTED}
_FAILED = {states.FAILURE, states.REVOKED, states.REJECTED, states.IGNORED}


@dataclass(frozen=True)
class Job:
    id: str
    status: str  # queued | running | done | failed
    explain: str
    submitted_at: datetime
    completed_at: datetime | None = None
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


def submit(runtime: Runtime, proposal: Any, explain: str, *, waiting: bool = False) -> Job:
    """Enqueue one evaluation; returns it queued. Raises the broker's error if it is
    unreachable.

    Embedded mode runs an evaluation someone is ``waiting`` for at once, in the request
    thread, through Celery's eager ``apply`` (the same task, its result stored the same way):
    in one process a hop to the single worker thread only queued every request behind it. The
    worker thread keeps what nobody waits for (``respond-async``) and batches.
    """
    evaluation_id = str(uuid.uuid4())
    submitted_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    # pinned now: activating another version later does not change this evaluation
    version = runtime.active_version()
    task = runtime.celery.tasks[TASK_NAME]
    args = (proposal, explain, version)
    kwargs = {"caller": current_caller().name}
    if waiting and runtime.worker is not None:
        task.apply(args, kwargs, task_id=evaluation_id)
    else:
        # argsrepr: Celery would otherwise repr the whole proposal into the message headers
        # for its logs and Flower (0.8 ms under cProfile); a proposal does not belong in logs
        task.apply_async(args, kwargs, task_id=evaluation_id,
                         argsrepr=f"(<proposal>, {explain!r}, {version!r})")
    # Recorded after publishing: a recorded id is always one a worker will see. The client
    # only learns the id from our response, so it cannot ask before this is written.
    runtime.ledger.record(evaluation_id, {"submitted_at": submitted_at, "explain": explain})
    return Job(evaluation_id, "queued", explain, datetime.fromisoformat(submitted_at))


def wait(runtime: Runtime, evaluation_id: str, timeout: float) -> None:
    """Block until the evaluation completes or ``timeout`` seconds pass, whichever is first:
    the worker wakes us when it has stored the result (``service.worker.replies``)."""
    replies_for(runtime.celery.conf).wait(evaluation_id, timeout)


def lookup(runtime: Runtime, evaluation_id: str) -> Job | None:
    """Where the evaluation is now; ``None`` for an id this service never issued (or expired)."""
    entry = runtime.ledger.lookup(evaluation_id)
    if entry is None:
        return None
    return progress(runtime, Job(evaluation_id, "queued", entry["explain"],
                                 datetime.fromisoformat(entry["submitted_at"])))


def progress(runtime: Runtime, job: Job) -> Job:
    """``job`` as its worker has left it so far (the caller knows the job exists)."""
    meta = runtime.celery.backend.get_task_meta(job.id)
    state = meta.get("status")
    if state == states.SUCCESS:
        return _finished(job, meta["result"])
    if state in _RUNNING:
        return Job(job.id, "running", job.explain, job.submitted_at)
    if state in _FAILED:
        failure = Problem(500, f"The worker could not evaluate this proposal "
                               f"({_exception_name(meta)}); the worker log has the details.",
                          slug="evaluation-failed", evaluation_id=job.id)
        return Job(job.id, "failed", job.explain, job.submitted_at, _date(meta.get("date_done")),
                   error=failure.body())
    return job


def _finished(job: Job, result: dict[str, Any]) -> Job:
    completed_at = _date(result.get("completed_at"))
    if result.get("outcome") == "done":
        return Job(job.id, "done", job.explain, job.submitted_at, completed_at,
                   evaluation=result["evaluation"])
    # The API validates before enqueueing, so this means the worker runs a newer schema.
    invalid = Problem(422, "The worker refused the proposal.", slug="invalid-proposal",
                      errors=result.get("errors", []), evaluation_id=job.id)
    return Job(job.id, "failed", job.explain, job.submitted_at, completed_at,
               error=invalid.body())


def _exception_name(meta: dict[str, Any]) -> str:
    result = meta.get("result")
    if isinstance(result, BaseException):  # Celery's backend rebuilds the exception it stored
        return type(result).__name__
    if isinstance(result, dict) and result.get("exc_type"):
        return str(result["exc_type"])
    return str(meta.get("status", "unknown")).lower()


def _date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None
