"""Celery signal handlers: logs, ids, metrics and wake-ups around every task, and the checks a
worker makes as it starts, without touching the tasks.

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
- ``task_postrun`` / ``task_failure``: the request waiting for the task is woken
  (``service.jobs.replies``).
- ``worker_init``: a worker whose ruleset does not load refuses to start, and the metric files
  of stopped processes are folded into the host's archive.
- ``worker_process_init`` / ``worker_process_shutdown``: a pool process builds its engine right
  after the fork, and its live gauges are dropped when it exits.
"""

from __future__ import annotations

import logging
import os
import time
from contextvars import Token
from typing import Any

import redis
from celery import current_app
from celery.signals import (
    before_task_publish,
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    task_success,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)

from service.decisions.entry import Mask
from service.engine import RulesetError, load_ruleset
from service.observability import logs, metrics, multiproc
from service.registry.engines import seed
from service.registry.store import VersionConflict
from service.worker.tasks import EVALUATE, backends_of

REQUEST_ID_HEADER = "request_id"  # a message header, read back as ``task.request.request_id``

log = logging.getLogger("service.worker.evaluations")
startup_log = logging.getLogger(__name__)
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
    if getattr(sender, "name", None) != EVALUATE or not isinstance(result, dict):
        return
    if result.get("outcome") != "done":
        metrics.observe_invalid_proposal()
        log.info("proposal refused by the engine", extra={"outcome": result.get("outcome")})
        return
    evaluation = result.get("evaluation") or {}
    # as the decision log keeps them: with DECISION_LOG_MASK, the id masked, the hashes keyed
    shown = Mask.of(backends_of(sender.app).settings).identifiers(evaluation)
    logs.decision_id.set(shown["decision_id"])
    metrics.observe_evaluation(evaluation)
    ruleset = evaluation.get("ruleset") or {}
    log.info("evaluated %s: %s, %s", shown["proposal_id"], evaluation.get("rating"),
             evaluation.get("recommendation"),
             extra={"rating": evaluation.get("rating"),
                    "recommendation": evaluation.get("recommendation"),
                    "overall_score": evaluation.get("overall_score"),
                    "ruleset_version": ruleset.get("version"),
                    "input_hash": shown["input_hash"]})


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


@task_postrun.connect
def _wake_waiter(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """After the result is stored (Celery stores it before ``task_postrun``), for tasks whose
    result someone may wait for. A failed wake-up only costs that request its wait."""
    if task_id is None or task is None or task.ignore_result:
        return
    try:
        backends_of(task.app).replies.notify(task_id)
    except redis.RedisError as error:
        startup_log.warning("could not wake the request waiting for %s: %s", task_id, error)


@task_failure.connect
def _wake_waiter_on_failure(sender: Any = None, task_id: str | None = None, **_: Any) -> None:
    """A task whose pool process died (a crash in the engine, a hard time limit) is failed by
    the worker's main process, after storing the failure, where ``task_postrun`` never runs.
    (A task that raises wakes twice, which costs nothing.)"""
    _wake_waiter(task_id=task_id, task=sender)


@worker_init.connect
def _check_ruleset(sender: Any = None, **_: Any) -> None:
    """Refuse to start a worker whose ruleset does not load: it would fail every task it took.

    Runs in the parent before the pool forks, and only parses (no durable-rules).
    """
    backends = getattr(getattr(sender, "app", None), "backends", None)
    if backends is None:
        return
    path = backends.settings.ruleset
    try:
        load_ruleset(path)
        seed(backends.rulesets, path)
    except (RulesetError, OSError, VersionConflict) as error:
        # SystemExit: Celery logs and swallows ordinary exceptions raised by signal handlers.
        raise SystemExit(f"policy-eval worker: cannot load ruleset {path}: {error}") from None
    except redis.RedisError as error:  # the API seeds it too; tasks will tell if Redis stays down
        startup_log.warning("could not publish %s to the ruleset store yet: %s", path, error)


@worker_init.connect
def _fold_metric_files(**_: Any) -> None:
    multiproc.compact()


@worker_process_init.connect
def _build_engine(**_: Any) -> None:
    """Build the engine in each pool process, right after the fork, so the first task does
    not pay for it."""
    backends = getattr(current_app, "backends", None)
    if backends is None:
        return
    try:
        backends.engines.engine()
    except Exception:  # the task builds it again and fails visibly; do not kill the child
        startup_log.exception("could not build the engine in worker process %d", os.getpid())


@worker_process_shutdown.connect
def _forget_process(**_: Any) -> None:
    multiproc.process_exited(os.getpid())
