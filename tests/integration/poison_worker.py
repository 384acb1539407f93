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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from celery.__main__ import main

from service.engine import Engine

POISON_TITLE = "POISON: crashes the engine's process"
CRASH_LINE = "poison_worker: crashing process"  # in the worker's log, once per crash


def _crash_if_poisoned(proposals: Sequence[Any]) -> None:
    if any(isinstance(p, Mapping) and p.get("title") == POISON_TITLE for p in proposals):
        print(f"{CRASH_LINE} {os.getpid()} at {time.time():.3f}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSEGV)


def _poisoned(method: Callable[..., Any], many: bool) -> Callable[..., Any]:
    @functools.wraps(method)
    def evaluate(self: Engine, raw: Any, *args: Any, **kwargs: Any) -> Any:
        _crash_if_poisoned(raw if many else [raw])
        return method(self, raw, *args, **kwargs)

    return evaluate


if __name__ == "__main__":
    Engine.evaluate = _poisoned(Engine.evaluate, many=False)  # type: ignore[method-assign]
    Engine.evaluate_many = _poisoned(Engine.evaluate_many,  # type: ignore[method-assign]
                                     many=True)
    main()
