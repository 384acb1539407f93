"""The tasks: thin shells that take a message, call the engine or the batch pipeline through the
app's backends, and return what is stored.

Every task is idempotent. The engine is deterministic, so a redelivered evaluation
(``acks_late`` after a lost worker) computes the same result and overwrites it with identical
content; a redelivered chunk skips what is recorded. They are registered with ``shared_task`` so
the Redis app and the embedded app run these very functions.

Nothing here builds an engine at import time: durable-rules keeps per-process state, so each
worker process builds its engines after the fork (``service.backends``).
"""

from __future__ import annotations

import logging
from typing import Any, cast

import redis
from celery import Celery, Task, shared_task, states
from celery.exceptions import Reject

from schemas.errors import field_errors
from schemas.proposal import ProposalSchema
from schemas.vocabulary import EXPLAIN_LEVELS
from service.backends import Backends
from service.batch.chunks import Failed, Outcome, Scored, stored_proposals
from service.batch.processing import MAX_ATTEMPTS, process_chunk
from service.clock import utc_now
from service.config import soft_limit
from service.decisions.entry import Mask, assessed_entry, decision_entry
from service.decisions.log import keyed
from service.engine import Engine, Explain, ProposalInvalid, counterfactuals, impact
from service.jobs import analysis
from service.observability import metrics
from service.robustness import job as robustness_job
from service.robustness.analysis import Inputs, Unit, combine, run_unit

EVALUATE = "policy.evaluate"
PROGRESS = "PROGRESS"  # the Celery state of an analysis job that reports how far it got
IMPACT = "policy.impact"
ROBUSTNESS = "policy.robustness"
ROBUSTNESS_UNIT = "policy.robustness_unit"
SCORE_CHUNK = "policy.score_batch_chunk"
# A proposal that crashes the engine's process (durable-rules can segfault) would come back
# forever with acks_late and reject-on-worker-lost; after this many retries its evaluation
# fails (WorkerLostError), so the caller gets an answer.
WORKER_LOST_RETRIES = 2

_PROPOSALS = ProposalSchema()

log = logging.getLogger(__name__)


def backends_of(app: Celery) -> Backends:
    """The backends of the app a task runs in (``service.worker.app.create_celery`` sets them)."""
    return cast(Backends, app.backends)


# resultrepr_maxsize: Celery reprs every result for its "succeeded" log line; 1,024 characters
# of a 14 KB evaluation cost ~150 µs a task, 200 cost ~40
@shared_task(name=EVALUATE, bind=True, retry_on_worker_lost=True,
             max_retries=WORKER_LOST_RETRIES, default_retry_delay=1, resultrepr_maxsize=200)
def evaluate(self: Task, proposal: dict[str, Any], explain: str = "summary",
             ruleset_version: str | None = None, caller: str = "anonymous") -> dict[str, Any]:
    """Evaluate one proposal; returns ``{"outcome": "done", "evaluation": ...}``.

    The decision is appended to the decision log before the task returns, so before it is
    acknowledged: a worker lost in between leaves the task to be redelivered, and the log's
    once-per-evaluation key keeps the redelivery from logging it twice.

    A proposal the engine refuses comes back as ``{"outcome": "invalid", "errors": [...]}``:
    it is an answer, not a crash, and retrying it could never succeed. Anything else raises,
    so Celery records a failure and the worker log has the traceback.
    """
    if explain not in EXPLAIN_LEVELS:
        return {"outcome": "invalid", "completed_at": utc_now(),
                "errors": [{"field": "explain",
                            "message": f"Must be one of: {', '.join(EXPLAIN_LEVELS)}."}]}
    backends = backends_of(self.app)
    engine = backends.engines.engine(ruleset_version)
    try:
        evaluation = engine.evaluate(proposal, cast(Explain, explain))
    except ProposalInvalid as error:
        return {"outcome": "invalid", "completed_at": utc_now(),
                "errors": field_errors(error.messages, "body")}
    entry = decision_entry(str(self.request.id), evaluation, proposal, caller,
                           Mask.of(backends.settings), ruleset=engine.ruleset)
    backends.decisions.append(keyed([entry]))
    if explain == "full":  # what would it take: verified changes, searched on the worker
        evaluation["counterfactuals"] = counterfactuals(engine, proposal)
    # the proposal as submitted, for a what-if of this evaluation (``service.api.whatif``)
    return {"outcome": "done", "completed_at": utc_now(), "evaluation": evaluation,
            "proposal": proposal}


@shared_task(name=IMPACT, bind=True)
def impact_of(self: Task, old_version: str, new_version: str,
              proposals: list[dict[str, Any]] | None = None,
              batch_id: str | None = None) -> dict[str, Any]:
    """An analysis job (``service.jobs.analysis``): what publishing ``new_version`` in place of
    ``old_version`` would change for ``proposals`` (validated by the API), or for the
    proposals of a stored batch (those that are valid: the others have no evaluation). Reports
    its progress in evaluations, two per proposal, and stops when its owner cancels it.

    Returns ``{"outcome": "done", "completed_at", "progress", "result"}``, or
    ``{"outcome": "cancelled", "completed_at"}``.
    """
    backends = backends_of(self.app)
    if batch_id is not None:
        proposals = [p for p in stored_proposals(backends.batches.inputs(batch_id))
                     if not _PROPOSALS.validate(p)]
    proposals = proposals or []
    job_id = str(self.request.id)
    progress = analysis.Progress(
        2 * len(proposals),
        report=lambda done, total: self.update_state(state=PROGRESS,
                                                     meta={"done": done, "total": total}),
        is_cancelled=lambda: analysis.cancelled(backends.ledger, job_id))
    try:
        progress(0)
        report = impact(backends.engines.engine(old_version),
                        backends.engines.engine(new_version), proposals, progress)
    except analysis.Cancelled:
        return {"outcome": "cancelled", "completed_at": utc_now()}
    return {"outcome": "done", "completed_at": utc_now(),
            "progress": {"done": progress.total, "total": progress.total},
            "result": {"old_version": old_version, "new_version": new_version,
                       **report.as_dict()}}


# ignore_result: the job's result lives under the job's id, stored by whichever unit finishes
# last; the start task only queues the units. Its errors are still stored, so a start that
# fails fails the job.
@shared_task(name=ROBUSTNESS, bind=True, ignore_result=True, store_errors_even_if_ignored=True)
def robustness(self: Task, request: dict[str, Any]) -> None:
    """An analysis job (``service.jobs.analysis``): the robustness of a batch's ranking and
    portfolio (``service.robustness.job``), cut into units, one task each
    (``robustness_unit``), queued with the batches' chunks. Its progress is the units' steps
    (``service.jobs.parts``)."""
    backends = backends_of(self.app)
    job_id = str(self.request.id)
    if analysis.cancelled(backends.ledger, job_id):
        return
    units = robustness_job.Request.from_dict(request).plan.units()
    total = sum(unit.steps for unit in units)
    backends.job_parts.open(job_id, len(units), total)
    self.update_state(state=PROGRESS, meta={"done": 0, "total": total})
    limit = backends.settings.analysis_time_limit
    with self.app.producer_or_acquire() as producer:
        for number, unit in enumerate(units):
            self.app.send_task(ROBUSTNESS_UNIT, (job_id, request, number, unit.as_dict()),
                               task_id=f"{job_id}.{number}", producer=producer,
                               time_limit=limit, soft_time_limit=soft_limit(limit))


@shared_task(name=ROBUSTNESS_UNIT, bind=True, ignore_result=True)
def robustness_unit(self: Task, job_id: str, request: dict[str, Any], number: int,
                    unit: dict[str, Any]) -> None:
    """Unit ``number`` of robustness job ``job_id``; the last unit to finish combines them all
    and stores the job's result (``{"outcome": "done", "completed_at", "progress", "result",
    "charts"}``) under the job's id. A unit that fails fails the job with its reason; once
    the job is cancelled, units not started do nothing and running ones stop at their next
    report."""
    backends = backends_of(self.app)
    parts = backends.job_parts
    asked = robustness_job.Request.from_dict(request)
    work = Unit.from_dict(unit)
    progress = analysis.Progress(
        work.steps, report=lambda done, _: parts.advance(job_id, number, done),
        is_cancelled=lambda: analysis.cancelled(backends.ledger, job_id))
    try:
        progress(0)
        given = _inputs(backends, job_id, asked)
        output = run_unit(given, asked.plan, work, progress)
        progress(work.steps)
        if not parts.finish(job_id, number, output):
            return
        found, charts = robustness_job.result(combine(given, asked.plan,
                                                      parts.outputs(job_id)), asked)
        total = parts.progress(job_id) or (0, 0)
        self.backend.store_result(job_id, {
            "outcome": "done", "completed_at": utc_now(),
            "progress": {"done": total[1], "total": total[1]}, "result": found,
            "charts": charts}, states.SUCCESS)
    except analysis.Cancelled:
        return
    except Exception as error:
        self.backend.mark_as_failure(job_id, error)
        raise


# per worker process, the inputs of the job it last worked on: its next unit is likely the
# same job's (a batch of 10,000 proposals takes ~0.3 s to read and arrange)
_loaded: dict[str, Inputs] = {}


def _inputs(backends: Backends, job_id: str, asked: robustness_job.Request) -> Inputs:
    if job_id not in _loaded:
        _loaded.clear()
        ruleset = backends.engines.ruleset(asked.ruleset_version)
        _loaded[job_id] = robustness_job.prepare(backends.batches.all_summaries(asked.batch_id),
                                                 ruleset, asked)
    return _loaded[job_id]


class _ChunkHooks:
    """The chunk pipeline's view of a worker: its engines, decision log and metrics, as single
    evaluations use them, so a batch result is the single evaluation of its proposal."""

    def __init__(self, backends: Backends) -> None:
        self._backends = backends

    def engine(self, version: str | None) -> Engine:
        return self._backends.engines.engine(version)

    def log_decisions(self, batch_id: str, caller: str, engine: Engine, scored: list[Scored]
                      ) -> None:
        """Every decision, batch items included, is logged before the task is acknowledged;
        the log's once-per-key append makes a redelivered chunk log once. Unmasked, an item
        is logged as assessed and worded when the log is read; a mask must see the worded
        result to hide every copy of a masked field, so masked items are worded here."""
        mask = Mask.of(self._backends.settings)
        entries = []
        for item in scored:
            key = f"{batch_id}/{item.index}"
            if mask.paths:
                entries.append(decision_entry(key, engine.result(item.assessment), item.proposal,
                                              caller, mask, batch_id=batch_id,
                                              ruleset=engine.ruleset))
            else:
                entries.append(assessed_entry(key, item.assessment, engine.ruleset,
                                              item.proposal, caller, batch_id))
        self._backends.decisions.append(keyed(entries))

    def observe(self, ruleset_version: str, outcomes: list[Outcome]) -> None:
        """Finished items by outcome, and evaluations by rating as single ones are counted."""
        scored = [o for o in outcomes if isinstance(o, Scored)]
        metrics.observe_batch_items(len(scored), outcome="scored")
        for kind in ("invalid", "failed"):
            metrics.observe_batch_items(sum(isinstance(o, Failed) and o.kind == kind
                                            for o in outcomes), outcome=kind)
        for item in scored:
            metrics.observe_decision(item.summary["rating"], ruleset_version)


@shared_task(name=SCORE_CHUNK, bind=True, ignore_result=True)
def score_batch_chunk(self: Task, batch_id: str, number: int) -> str:
    """Score chunk ``number`` of a batch (``service.batch.processing``)."""
    backends = backends_of(self.app)
    try:
        return process_chunk(backends.batches, _ChunkHooks(backends), batch_id, number)
    except (redis.ConnectionError, redis.TimeoutError) as error:
        # Redis away: a retry could not be published (Celery would then drop the message),
        # and trying to would hold this process past its time limit. Give the message back
        # instead: requeued at once if Redis answers again, else it stays unacknowledged in
        # Redis, on disk, and comes back after the visibility timeout.
        log.warning("batch %s chunk %d: Redis unreachable (%s); giving the chunk back",
                    batch_id, number, error)
        raise Reject(error, requeue=True) from None
    except Exception as error:  # a time limit, a bug: try again later
        log.warning("batch %s chunk %d: %s: %s; retrying", batch_id, number,
                    type(error).__name__, error)
        # every retry is a start: past MAX_ATTEMPTS, the chunk fails its items and ends
        delay = retry_delay(backends.settings.visibility_timeout, self.request.retries)
        raise self.retry(exc=error, countdown=delay, max_retries=MAX_ATTEMPTS) from None


def retry_delay(visibility_timeout: float, retries: int) -> float:
    """Back off 1, 2, 4 … 30 s, but stay well within the visibility timeout: a retry waits for
    its time unacknowledged in a worker, and past that timeout Redis would hand it to a second
    worker as well."""
    return float(min(2 ** retries, 30, visibility_timeout / 4))
