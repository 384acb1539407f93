"""Celery signal handlers: logs, ids and metrics around every task, without touching the tasks.

Imported by ``service.worker.app``, so they are connected in every process that has the Celery
app: the API (which publishes) and the workers (which run), embedded or not.

- ``setup_logging``: a worker logs through ``service.observability.logs`` (JSON by default), and
  Celery installs no handlers of its own.
- ``before_task_publish``: the request id of the HTTP request that enqueues a task travels in the
  task's message headers, whatever the call site (evaluations, batches, impact reports).
- ``task_prerun`` / ``task_postrun``: the task id and that request id are set for every record
  logged during the task; its run time goes to the task-duration histogram.
- ``task_success``: an evaluation is counted by rating and ruleset version, its decision id is
  set for the records that follow (Celery's own "succeeded" line included), and one line says
  what was decided.
- ``worker_init`` / ``worker_process_shutdown``: the metric files of stopped processes are
  folded into the host's archive at start, and a pool process's live gauges are dropped when it
  exits.
"""

from __future__ import annotations

import logging
import os
import time
from contextvars import Token
from typing import Any

from celery.signals import (
    before_task_publish,
    setup_logging,
    task_postrun,
    task_prerun,
    task_success,
    worker_init,
    worker_process_shutdown,
)

from service.observability import logs, metrics, multiproc
from service.worker.tasks import TASK_NAME

REQUEST_ID_HEADER = "request_id"  # a message header, read back as ``task.request.request_id``

log = logging.getLogger("service.worker.evaluations")
_started: dict[str, float] = {}  # task id -> perf_counter at prerun, per process
_context_tokens: dict[str, list[Token[str | None]]] = {}  # task id -> its log context's tokens


@setup_logging.connect
def _setup_logging(loglevel: Any = None, **_: Any) -> None:
    # LOG_LEVEL wins over the worker's --loglevel, so API and workers take one setting.
    logs.configure("json", level=loglevel or None)


@before_task_publish.connect
def _carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = logs.request_id.get()
    if request_id is not None and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@task_prerun.connect
def _task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    # A task run eagerly in an HTTP request's thread (embedded mode) has no message headers
    # but runs within the request's own context, whose request id it keeps.
    header = getattr(task.request, REQUEST_ID_HEADER, None) if task else None
    tokens = [logs.task_id.set(task_id), logs.request_id.set(header or logs.request_id.get()),
              logs.decision_id.set(None)]
    if task_id is not None:
        _started[task_id] = time.perf_counter()
        _context_tokens[task_id] = tokens


@task_success.connect
def _task_succeeded(sender: Any = None, result: Any = None, **_: Any) -> None:
    if getattr(sender, "name", None) != TASK_NAME or not isinstance(result, dict):
        return
    if result.get("outcome") != "done":
        metrics.observe_invalid_proposal()
        log.info("proposal refused by the engine", extra={"outcome": result.get("outcome")})
        return
    evaluation = result.get("evaluation") or {}
    logs.decision_id.set(evaluation.get("decision_id"))
    metrics.observe_evaluation(evaluation)
    ruleset = evaluation.get("ruleset") or {}
    log.info("evaluated %s: %s, %s", evaluation.get("proposal_id"), evaluation.get("rating"),
             evaluation.get("recommendation"),
             extra={"rating": evaluation.get("rating"),
                    "recommendation": evaluation.get("recommendation"),
                    "overall_score": evaluation.get("overall_score"),
                    "ruleset_version": ruleset.get("version"),
                    "input_hash": evaluation.get("input_hash")})


@task_postrun.connect
def _task_finished(task_id: str | None = None, task: Any = None, state: str | None = None,
                   **_: Any) -> None:
    started = _started.pop(task_id, None) if task_id is not None else None
    if started is not None:
        metrics.observe_task(getattr(task, "name", "unknown"), state or "UNKNOWN",
                             time.perf_counter() - started)
    # back to what they were before the task: nothing in a worker, the request's in eager mode
    for token in reversed(_context_tokens.pop(task_id, []) if task_id is not None else []):
        token.var.reset(token)


@worker_init.connect
def _fold_metric_files(**_: Any) -> None:
    multiproc.compact()


@worker_process_shutdown.connect
def _forget_process(**_: Any) -> None:
    multiproc.process_exited(os.getpid())
