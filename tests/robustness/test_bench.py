"""The robustness benchmark still measures what its table says: every part beside the plain
ranking of the same batch, the pool giving what one process gives (checked inside)."""

from __future__ import annotations

import pytest

from bench import robustness


def test_the_benchmark_times_each_part_beside_the_plain_ranking() -> None:
    parts = robustness.measure(size=150, samples=1200, portfolio_samples=4, processes=1)
    names = [part.name for part in parts]
    assert names[0].startswith("plain ranking") and parts[0].samples == 1
    assert any(name.startswith("rank acceptability, 1 process") for name in names)
    assert any(name.startswith("portfolio core indices") for name in names)
    assert all(part.seconds > 0 for part in parts)
    table = robustness.table(parts)
    assert table.count("\n") == len(parts) + 1 and "1.00×" in table


@pytest.mark.integration
def test_the_service_benchmark_times_the_job_beside_the_plain_portfolio() -> None:
    """Its own Redis, a 2-process worker and gunicorn: the job ran to its result, and every
    process of the stack is counted."""
    run = robustness.through_the_service(size=120, samples=300, processes=2)
    assert (run.proposals, run.samples, run.portfolio_samples) == (120, 300, 300)
    assert run.seconds > 0 and run.portfolio_seconds > 0 and run.polls >= 1
    assert set(run.cpu) == {"worker pool", "worker main", "API", "Redis"}
    assert run.cpu["worker pool"] > 0
    assert "robustness job: 300 samples (300 portfolio) of 120 proposals" in (
        robustness.service_table(run))
