"""Analysis jobs: work an analyst starts, polls and may cancel, run on the workers for as long
as it takes (the impact of a ruleset version on a stored batch; the robustness of a ranking).

A job is an id in the ledger with its kind, its owner (the caller who started it), when it was
submitted and, once its owner cancels it, when. The worker runs it as a Celery task that
reports its progress (steps done out of a total) and checks, at each report, whether it was
cancelled; its result is the task's. The API reads the three (``service.api.analyses``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from schemas.job import JOB_KINDS
from service.jobs.ledger import Ledger

KINDS = JOB_KINDS
REPORT_SECONDS = 0.5  # progress is reported (and cancellation checked) at most this often


class Cancelled(Exception):
    """The job's owner cancelled it: the worker stops at its next report."""


def record(kind: str, owner: str, submitted_at: str, **details: Any) -> dict[str, Any]:
    """The ledger entry of a new job."""
    return {"kind": kind, "caller": owner, "submitted_at": submitted_at, **details}


def cancelled(ledger: Ledger, job_id: str) -> bool:
    entry = ledger.lookup(job_id)
    return entry is not None and bool(entry.get("cancelled_at"))


class Progress:
    """Told the steps done as a job runs (``progress(done)``); reports them with ``report``
    and checks ``is_cancelled`` at the first step, the last, and at most every
    ``REPORT_SECONDS`` in between: one round trip to Redis a half-second, however fast the
    steps. Raises ``Cancelled`` once the job is cancelled."""

    def __init__(self, total: int, report: Callable[[int, int], None],
                 is_cancelled: Callable[[], bool], clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.total = total
        self._report = report
        self._is_cancelled = is_cancelled
        self._clock = clock
        self._last: float | None = None

    def __call__(self, done: int) -> None:
        now = self._clock()
        if self._last is not None and done < self.total and now - self._last < REPORT_SECONDS:
            return
        self._last = now
        if self._is_cancelled():
            raise Cancelled
        self._report(done, self.total)
