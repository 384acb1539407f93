"""The evaluation task: a thin shell around the engine (DESIGN §1).

The task is idempotent: the engine is deterministic, so a redelivered message (``acks_late``
after a lost worker) computes the same evaluation again and overwrites the stored result with
identical content. It is registered with ``shared_task`` so the Redis app and the embedded app
run this very function.

The engine is built once per worker process, after the fork: durable-rules keeps per-process
state that must not be inherited, so nothing here builds an engine at import time.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from datetime import datetime, timezone
from typing import Any

import redis
from celery import Task, shared_task
from celery.signals import worker_init, worker_process_init

from schemas.errors import field_errors
from service.batch.chunks import stored_proposals
from service.batch.store import store_for
from service.decisions.entry import decision_entry
from service.decisions.log import keyed
from service.engine import Engine, ProposalInvalid, RulesetError, impact, load_ruleset
from service.registry.engines import seed
from service.registry.store import VersionConflict
from service.worker.context import context_of

TASK_NAME = "policy.evaluate"
IMPACT_TASK_NAME = "policy.impact"
# custom keys in the Celery configuration, set by service.worker.app
RULESET_KEY = "policy_ruleset"
ENGINE_KEY = "policy_engine"

log = logging.getLogger(__name__)

def engine_for(conf: Any, version: str | None = None) -> Engine:
    """This process's engine for ``version`` (default: the active version), built on first use.

    The API pins each evaluation to the version active when it was submitted, so an evaluation
    in flight finishes on that version even if another is activated meanwhile.
    """
    return context_of(conf).engines.engine(version)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# A proposal that crashes the engine's process (durable-rules can segfault) would come back
# forever with acks_late and reject-on-worker-lost; after this many retries its evaluation
# fails (WorkerLostError), so the caller gets an answer.
WORKER_LOST_RETRIES = 2


# resultrepr_maxsize: Celery reprs every result for its "succeeded" log line; 1,024 characters
# of a 14 KB evaluation cost ~150 µs a task, 200 cost ~40
@shared_task(name=TASK_NAME, bind=True, retry_on_worker_lost=True,
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
    if explain not in ("summary", "full"):
        return {"outcome": "invalid", "completed_at": utc_now(),
                "errors": [{"field": "explain", "message": "Must be one of: summary, full."}]}
    context = context_of(self.app.conf)
    engine = context.engines.engine(ruleset_version)
    try:
        evaluation = engine.evaluate(proposal, explain="full" if explain == "full" else "summary")
    except ProposalInvalid as error:
        return {"outcome": "invalid", "completed_at": utc_now(),
                "errors": field_errors(error.messages, "body")}
    entry = decision_entry(str(self.request.id), evaluation, proposal, caller, context.log_mask)
    context.decisions.append(keyed([entry]))
    return {"outcome": "done", "completed_at": utc_now(), "evaluation": evaluation}


@shared_task(name=IMPACT_TASK_NAME, bind=True)
def impact_of(self: Task, old_version: str, new_version: str,
              proposals: list[dict[str, Any]] | None = None,
              batch_id: str | None = None) -> dict[str, Any]:
    """What publishing ``new_version`` in place of ``old_version`` would change for
    ``proposals`` (already validated by the API), or for the proposals of a stored batch: run
    on a worker, as evaluations are."""
    if batch_id is not None:
        proposals = stored_proposals(store_for(self.app.conf).inputs(batch_id))
    report = impact(engine_for(self.app.conf, old_version),
                    engine_for(self.app.conf, new_version), proposals or [])
    changes = [{**dataclasses.asdict(change), "changed": change.what}
               for change in report.changes]
    return {"old_version": old_version, "new_version": new_version, "total": report.total,
            "changes": changes}


@worker_init.connect
def _check_ruleset(sender: Any = None, **_: Any) -> None:
    """Refuse to start a worker whose ruleset does not load: it would fail every task it took.

    Runs in the parent before the pool forks, and only parses (no durable-rules).
    """
    conf = sender.app.conf if sender is not None else None
    if conf is None or conf.get(RULESET_KEY) is None:
        return
    path = conf[RULESET_KEY]
    try:
        load_ruleset(path)
        seed(context_of(conf).engines.store, path)
    except (RulesetError, OSError, VersionConflict) as error:
        # SystemExit: Celery logs and swallows ordinary exceptions raised by signal handlers.
        raise SystemExit(f"policy-eval worker: cannot load ruleset {path}: {error}") from None
    except redis.RedisError as error:  # the API seeds it too; tasks will tell if Redis stays down
        log.warning("could not publish %s to the ruleset store yet: %s", path, error)


@worker_process_init.connect
def _build_engine(**_: Any) -> None:
    """Build the engine in each pool process, right after the fork, so the first task does
    not pay for it."""
    from celery import current_app

    if current_app.conf.get(RULESET_KEY) is None:
        return
    try:
        engine_for(current_app.conf)
    except Exception:  # the task builds it again and fails visibly; do not kill the child
        log.exception("could not build the engine in worker process %d", os.getpid())
