"""The API's one way into the workers: submit an evaluation, queue a batch's chunks, start an
analysis job, wait for a job, read where it is, ping the workers.

It is the only module of ``service.api`` that imports ``service.worker``: the views speak of
jobs and batches, never of Celery tasks, queues or result backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celery import Celery, states

from service.backends import Backends
from service.config import soft_limit
from service.worker.app import create_celery
from service.worker.embedded import EmbeddedWorker
from service.worker.tasks import EVALUATE, IMPACT, PROGRESS, ROBUSTNESS, SCORE_CHUNK

_RUNNING = {states.STARTED, PROGRESS}
# the task each kind of analysis job runs (service.jobs.analysis.KINDS)
ANALYSIS_TASKS = {"impact": IMPACT, "robustness": ROBUSTNESS}
_FAILED = {states.FAILURE, states.REVOKED, states.REJECTED, states.IGNORED}


@dataclass(frozen=True)
class TaskState:
    """Where a job is: ``queued``, ``running`` (with the ``progress`` it last reported, if
    any: ``{"done", "total"}``), ``done`` (with the task's ``result``) or ``failed`` (with the
    name of the exception the worker reported, and when)."""

    status: str
    result: Any = None
    failure: str | None = None
    finished_at: Any = None
    progress: dict[str, int] | None = None


class Workers:
    """The workers of a deployment as the API reaches them; embedded, it runs them too."""

    def __init__(self, backends: Backends) -> None:
        self.backends = backends
        self.celery: Celery = create_celery(backends.settings, backends)
        self.embedded: EmbeddedWorker | None = None

    def start(self) -> Workers:
        """Embedded: start the in-process worker thread (returns once it consumes)."""
        if self.backends.embedded:
            self.embedded = EmbeddedWorker(self.celery).start()
        return self

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()

    def submit_evaluation(self, task_id: str, proposal: Any, explain: str, version: str,
                          caller: str, *, waiting: bool) -> None:
        """Queue one evaluation. Raises the broker's error if it is unreachable.

        Embedded, an evaluation someone is ``waiting`` for runs at once in the calling thread,
        through Celery's eager ``apply`` (the same task, its result stored the same way): in
        one process a hop to the single worker thread only queued every request behind it.
        The worker thread keeps what nobody waits for (``respond-async``) and batches.
        """
        task = self.celery.tasks[EVALUATE]
        args, kwargs = (proposal, explain, version), {"caller": caller}
        if waiting and self.embedded is not None:
            task.apply(args, kwargs, task_id=task_id)
            return
        # argsrepr: Celery would otherwise repr the whole proposal into the message headers
        # for its logs and Flower (0.8 ms under cProfile); a proposal does not belong in logs
        task.apply_async(args, kwargs, task_id=task_id,
                         argsrepr=f"(<proposal>, {explain!r}, {version!r})")

    def publish_chunks(self, batch_id: str, numbers: list[int]) -> None:
        """Queue the chunk tasks of a batch (call only once the chunks are stored). Task ids are
        deterministic, ``<batch>-<chunk>``, so a chunk can be found in Flower or the log."""
        with self.celery.producer_or_acquire() as producer:
            for number in numbers:
                self.celery.send_task(SCORE_CHUNK, (batch_id, number),
                                      task_id=f"{batch_id}-{number}", producer=producer)

    def start_analysis(self, job_id: str, kind: str, args: tuple[Any, ...]) -> None:
        """Queue an analysis job, with its own time limit (``Settings.analysis_time_limit``)."""
        limit = self.backends.settings.analysis_time_limit
        self.celery.tasks[ANALYSIS_TASKS[kind]].apply_async(
            args, task_id=job_id, time_limit=limit, soft_time_limit=soft_limit(limit),
            argsrepr=f"<{kind} job>")  # not the proposals: they do not belong in logs

    def wait(self, task_id: str, timeout: float) -> bool:
        """Block until the job finishes or ``timeout`` seconds pass: the worker wakes us when
        it has stored the result (``service.jobs.replies``)."""
        return self.backends.replies.wait(task_id, timeout)

    def state(self, task_id: str) -> TaskState:
        meta = self.celery.backend.get_task_meta(task_id)
        status = meta.get("status")
        if status == states.SUCCESS:
            return TaskState("done", result=meta["result"])
        if status in _RUNNING:
            progress = meta.get("result") if status == PROGRESS else None
            if status == PROGRESS:  # a job shared out in units: the sum of their steps
                shared = self.backends.job_parts.progress(task_id)
                if shared is not None:
                    progress = {"done": shared[0], "total": shared[1]}
            return TaskState("running", progress=progress if isinstance(progress, dict) else None)
        if status in _FAILED:
            return TaskState("failed", failure=_exception_name(meta),
                             finished_at=meta.get("date_done"))
        return TaskState("queued")

    def ping(self, timeout: float) -> list[str]:
        """The names of the workers that answered a ping within ``timeout`` (at most one is
        waited for: a ready service answers as soon as the first worker does)."""
        replies = self.celery.control.ping(timeout=timeout, limit=1)
        return sorted(name for reply in replies or () for name in reply)


def _exception_name(meta: dict[str, Any]) -> str:
    result = meta.get("result")
    if isinstance(result, BaseException):  # Celery's backend rebuilds the exception it stored
        return type(result).__name__
    if isinstance(result, dict) and result.get("exc_type"):
        return str(result["exc_type"])
    return str(meta.get("status", "unknown")).lower()
