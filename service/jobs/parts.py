"""The parts of an analysis job shared out over the workers: how far each unit has got, and
what each finished unit found, until the last one to finish combines them.

A job cut into units (``service.robustness.job``) is one Celery task per unit, run by whichever
worker process is free. Each unit reports its own steps (``advance``); the job's progress is
their sum (``progress``), read by the API, so two units reporting at once cannot make it run
backwards. A finished unit stores its output (``finish``), and the store says whether that was
the last one missing: that unit reads every output (``outputs``) and combines them. A unit
delivered twice (``acks_late`` after a lost worker) stores the same output again: outputs are
keyed by unit, never appended, so it cannot count twice; should it be the last, the job is
combined twice, to the same result.

Kept as long as results (``RESULT_TTL``), in Redis for a deployment and in memory embedded.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis


class JobParts(Protocol):
    def open(self, job_id: str, units: int, steps: int) -> None:
        """A job of ``units`` units, ``steps`` steps in all; call before queueing them."""

    def advance(self, job_id: str, unit: int, done: int) -> None:
        """Unit ``unit`` has done ``done`` of its steps."""

    def progress(self, job_id: str) -> tuple[int, int] | None:
        """``(steps done, steps in all)``; None for a job that was not cut into units."""

    def finish(self, job_id: str, unit: int, output: bytes) -> bool:
        """Store what unit ``unit`` found; True when every unit's output is stored."""

    def outputs(self, job_id: str) -> list[bytes]:
        """Every unit's output, in unit order."""


class RedisJobParts:
    PREFIX = "policy-eval:job-parts:"

    def __init__(self, url: str, ttl: int) -> None:
        self.ttl = ttl
        self._client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)

    def _keys(self, job_id: str) -> tuple[str, str, str]:
        base = self.PREFIX + job_id
        return f"{base}:plan", f"{base}:progress", f"{base}:outputs"

    def open(self, job_id: str, units: int, steps: int) -> None:
        plan, _, _ = self._keys(job_id)
        self._client.hset(plan, mapping={"units": units, "steps": steps})
        self._client.expire(plan, self.ttl)

    def advance(self, job_id: str, unit: int, done: int) -> None:
        _, progress, _ = self._keys(job_id)
        with self._client.pipeline() as pipe:
            pipe.hset(progress, str(unit), done)
            pipe.expire(progress, self.ttl)
            pipe.execute()

    def progress(self, job_id: str) -> tuple[int, int] | None:
        plan, progress, _ = self._keys(job_id)
        with self._client.pipeline() as pipe:
            pipe.hget(plan, "steps")
            pipe.hvals(progress)
            steps, done = pipe.execute()
        if steps is None:
            return None
        return sum(int(d) for d in done), int(steps)

    def finish(self, job_id: str, unit: int, output: bytes) -> bool:
        plan, _, outputs = self._keys(job_id)
        # one transaction: of two units finishing at once, only the later sees every output
        with self._client.pipeline() as pipe:
            pipe.hset(outputs, str(unit), output)
            pipe.expire(outputs, self.ttl)
            pipe.hlen(outputs)
            pipe.hget(plan, "units")
            _, _, stored, units = pipe.execute()
        return units is not None and int(stored) == int(units)

    def outputs(self, job_id: str) -> list[bytes]:
        _, _, outputs = self._keys(job_id)
        found: dict[bytes, bytes] = self._client.hgetall(outputs)  # type: ignore[assignment]
        return [found[key] for key in sorted(found, key=int)]


class MemoryJobParts:
    """Embedded mode: this process's memory, shared by the API and its worker thread."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._jobs: dict[str, tuple[float, int, int, dict[int, int], dict[int, bytes]]] = {}
        self._lock = threading.Lock()

    def open(self, job_id: str, units: int, steps: int) -> None:
        now = time.monotonic()
        with self._lock:
            for old in [j for j, entry in self._jobs.items() if entry[0] <= now]:
                del self._jobs[old]
            self._jobs[job_id] = (now + self.ttl, units, steps, {}, {})

    def advance(self, job_id: str, unit: int, done: int) -> None:
        with self._lock:
            if job_id in self._jobs:
                self._jobs[job_id][3][unit] = done

    def progress(self, job_id: str) -> tuple[int, int] | None:
        with self._lock:
            found = self._jobs.get(job_id)
            return None if found is None else (sum(found[3].values()), found[2])

    def finish(self, job_id: str, unit: int, output: bytes) -> bool:
        with self._lock:
            found = self._jobs.get(job_id)
            if found is None:
                return False
            found[4][unit] = output
            return len(found[4]) == found[1]

    def outputs(self, job_id: str) -> list[bytes]:
        with self._lock:
            found = self._jobs.get(job_id)
            return [] if found is None else [found[4][u] for u in sorted(found[4])]
