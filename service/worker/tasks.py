"""The evaluation task: a thin shell around the engine (DESIGN §1).

The task is idempotent: the engine is deterministic, so a redelivered message (``acks_late``
after a lost worker) computes the same evaluation again and overwrites the stored result with
identical content. It is registered with ``shared_task`` so the Redis app and the embedded app
run this very function.

The engine is built once per worker process, after the fork: durable-rules keeps per-process
state that must not be inherited, so nothing here builds an engine at import time.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

from celery import Task, shared_task
from celery.signals import worker_init, worker_process_init

from schemas.errors import field_errors
from service.config import EngineMode
from service.engine import Engine, ProposalInvalid, RulesetError, load_ruleset

TASK_NAME = "policy.evaluate"
# custom keys in the Celery configuration, set by service.worker.app.celery_config
RULESET_KEY = "policy_ruleset"
ENGINE_KEY = "policy_engine"

log = logging.getLogger(__name__)

_engine: Engine | None = None
_engine_key: tuple[int, str, str] | None = None
_engine_lock = threading.Lock()


def engine_for(conf: Any) -> Engine:
    """This process's engine for the configured ruleset, built on first use.

    Keyed by pid as well, so a process forked from one that already built an engine builds
    its own rather than using durable-rules state it inherited.
    """
    global _engine, _engine_key
    key = (os.getpid(), str(conf[RULESET_KEY]), str(conf[ENGINE_KEY]))
    with _engine_lock:
        if _engine is None or _engine_key != key:
            _engine = Engine.from_path(Path(key[1]), cast(EngineMode, key[2]))
            _engine_key = key
        return _engine


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@shared_task(name=TASK_NAME, bind=True)
def evaluate(self: Task, proposal: dict[str, Any], explain: str = "summary") -> dict[str, Any]:
    """Evaluate one proposal; returns ``{"outcome": "done", "evaluation": ...}``.

    A proposal the engine refuses comes back as ``{"outcome": "invalid", "errors": [...]}``:
    it is an answer, not a crash, and retrying it could never succeed. Anything else raises,
    so Celery records a failure and the worker log has the traceback.
    """
    if explain not in ("summary", "full"):
        return {"outcome": "invalid", "completed_at": utc_now(),
                "errors": [{"field": "explain", "message": "Must be one of: summary, full."}]}
    engine = engine_for(self.app.conf)
    try:
        evaluation = engine.evaluate(proposal, explain="full" if explain == "full" else "summary")
    except ProposalInvalid as error:
        return {"outcome": "invalid", "completed_at": utc_now(),
                "errors": field_errors(error.messages, "body")}
    return {"outcome": "done", "completed_at": utc_now(), "evaluation": evaluation}


@worker_init.connect
def _check_ruleset(sender: Any = None, **_: Any) -> None:
    """Refuse to start a worker whose ruleset does not load: it would fail every task it took.

    Runs in the parent before the pool forks, and only parses (no durable-rules).
    """
    path = sender.app.conf.get(RULESET_KEY) if sender is not None else None
    if path is None:
        return
    try:
        load_ruleset(path)
    except (RulesetError, OSError) as error:
        # SystemExit: Celery logs and swallows ordinary exceptions raised by signal handlers.
        raise SystemExit(f"policy-eval worker: cannot load ruleset {path}: {error}") from None


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
