"""The parts of a job shared out over the workers (in memory; the Redis store is the same
contract, run by the integration tests): progress is the units' sum, the last unit to finish
is told so once every output is in, and a unit delivered twice counts once."""

from __future__ import annotations

from service.jobs.parts import MemoryJobParts


def test_the_last_unit_to_finish_is_told_and_reads_every_output_in_unit_order() -> None:
    parts = MemoryJobParts(ttl=60)
    parts.open("job", units=3, steps=30)
    assert parts.progress("job") == (0, 30)
    parts.advance("job", 2, 10)
    parts.advance("job", 0, 4)
    assert parts.progress("job") == (14, 30)
    assert not parts.finish("job", 2, b"two")
    assert not parts.finish("job", 0, b"zero")
    assert not parts.finish("job", 2, b"two")  # delivered again: still one of three
    assert parts.finish("job", 1, b"one")
    assert parts.outputs("job") == [b"zero", b"one", b"two"]


def test_a_job_not_cut_into_units_has_no_parts() -> None:
    parts = MemoryJobParts(ttl=60)
    assert parts.progress("impact") is None
    assert not parts.finish("impact", 0, b"x")
    assert parts.outputs("impact") == []
