"""A Celery worker whose engine crashes its process on one marked proposal, as durable-rules can
segfault: for the fault-injection tests only (``test_faults.py``); production code has no hook.

Run as ``python -m tests.integration.poison_worker <celery arguments>``. The engine is patched in
the worker's main process, before the pool forks, so every pool process inherits the patch.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from celery.__main__ import main

from service.engine import Engine

POISON_TITLE = "POISON: crashes the engine's process"
CRASH_LINE = "poison_worker: crashing process"  # in the worker's log, once per crash


def _crash_if_poisoned(proposal: Any) -> None:
    if isinstance(proposal, Mapping) and proposal.get("title") == POISON_TITLE:
        print(f"{CRASH_LINE} {os.getpid()} at {time.time():.3f}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSEGV)


def _poisoned(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def assess(self: Engine, raw: Any, *args: Any, **kwargs: Any) -> Any:
        _crash_if_poisoned(raw)
        return method(self, raw, *args, **kwargs)

    return assess


if __name__ == "__main__":
    # every evaluation, single or a batch item, is assessed first
    Engine.assess = _poisoned(Engine.assess)  # type: ignore[method-assign]
    main()
