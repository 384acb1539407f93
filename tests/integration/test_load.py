"""A steady rate of evaluations against gunicorn and a two-process worker, with no errors.

Runs ``bench/load/run.py``'s stack and scenario (locust, headless): 10 analysts each scoring a
proposal and reading it back twice a second, and a 10-proposal batch now and then, for 20 s;
60 s with ``POLICY_SOAK=1``. The stack has its own Redis server, so the shared one is untouched.
The figures are printed (``pytest -s``); ``python bench/load/run.py`` gives them for 60 s.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.load.run import HELD, Plan, deployed_stack, run_locust

pytestmark = pytest.mark.integration

PLAN = Plan(seconds=60 if os.environ.get("POLICY_SOAK") == "1" else 20)
STEADY = 0.8  # no 5-s window may fall below this share of the rate asked


def test_a_steady_rate_holds_with_no_errors(tmp_path: Path) -> None:
    with deployed_stack(tmp_path) as url:
        outcome = run_locust(url, PLAN, tmp_path)
    report = f"{outcome.report()}\n(logs in {tmp_path})"
    print("\n" + report)
    assert outcome.failures == 0, report
    assert outcome.rate >= HELD * PLAN.target, report
    assert outcome.slowest_window >= STEADY * PLAN.target, report
