"""What a worker's tasks need besides their arguments: the engines by ruleset version and the
decision log of the deployment their Celery app was configured for.

Celery's configuration must stay plain data, so it carries an id and the objects live here, one
set per app: the embedded API and its in-process worker share theirs (the in-memory store and
log), while each prefork child reaches the same Redis through its own connections.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from service.decisions.log import DecisionLog
from service.registry.engines import EngineCache

CONTEXT_KEY = "policy_context"


@dataclass(frozen=True)
class WorkerContext:
    engines: EngineCache
    decisions: DecisionLog
    log_mask: tuple[str, ...]  # input fields the decision log keeps as "***"


_contexts: dict[str, WorkerContext] = {}


def register(context: WorkerContext) -> str:
    context_id = uuid.uuid4().hex
    _contexts[context_id] = context
    return context_id


def context_of(conf: Any) -> WorkerContext:
    """The context of the Celery app whose configuration is ``conf``."""
    return _contexts[conf[CONTEXT_KEY]]
