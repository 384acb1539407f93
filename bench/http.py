"""HTTP throughput against the transport and server floors of this stack.

- **Synchronous evaluation through Celery**: ``POST /v1/evaluations`` at 16 concurrent clients
  against gunicorn (the production settings of ``service.api.gunicorn_conf``), a celery worker
  with 2 processes and Redis, beside a no-op task's round trip through the same stack and
  request pipeline (``POST /v1/bench/noop``, see ``bench.stack``): the floor of any
  synchronous evaluation.
- **Embedded mode**: ``POST /v1/evaluations`` on ``policy-eval serve`` as ``scripts/serve`` runs
  it (its defaults: waitress, the in-process worker, no keys), beside a Flask JSON echo of the
  same payload served by one gunicorn gthread process.

Run: ``python -m bench.http [--seconds 10] [--clients 16]``. It starts its own Redis.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.clients import Load, closed_loop
from bench.processes import (
    ROOT,
    celery_worker,
    children,
    cpu_seconds,
    free_port,
    gunicorn,
    own_redis,
    start,
    stop,
    wait_until,
)
from service.api.auth import digest

KEY = "bench-evaluator-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


@dataclass(frozen=True)
class Comparison:
    """One figure beside its baseline, measured in the same run."""

    figure: str
    measured: Load
    baseline_name: str
    baseline: Load
    target: float
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per request, by process role
    baseline_cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.measured.rate / self.baseline.rate


def example_bodies() -> list[bytes]:
    return [path.read_bytes() for path in sorted((ROOT / "examples").glob("*.json"))]


def service_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "API_KEYS")}
    env.update({"POLICY_RULESET": str(ROOT / "rules" / "japan-fy2026.yaml"),
                "API_KEYS": f"bench:evaluator:{digest(KEY)}", "RATE_LIMIT": "10000000/minute",
                "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING", **extra})
    return env


@dataclass(frozen=True)
class Stack:
    url: str
    processes: dict[str, list[int]]  # pids by role, for CPU accounting

    def cpu(self) -> dict[str, float]:
        return {role: sum(cpu_seconds(pid) for pid in pids)
                for role, pids in self.processes.items()}


def measured_with_cpu(stack: Stack, run: Callable[[], Load]) -> tuple[Load, dict[str, float]]:
    """``run``'s load and the CPU milliseconds each role of ``stack`` spent per request."""
    before = stack.cpu()
    load = run()
    after = stack.cpu()
    count = max(load.requests, 1)
    return load, {role: (after[role] - before[role]) * 1000 / count for role in after}


@contextmanager
def redis_stack(logs: Path, *gunicorn_options: str) -> Iterator[Stack]:
    """Redis, a worker (2 processes) and gunicorn on ``bench.stack``."""
    redis_url, redis_server = own_redis(logs)
    env = service_env(REDIS_URL=redis_url)
    worker = celery_worker("bench.stack:celery", env, logs / "worker.log")
    try:
        api, url = gunicorn("bench.stack:app", env, logs / "gunicorn.log",
                            "-c", "python:service.api.gunicorn_conf", *gunicorn_options)
        try:
            yield Stack(url, {"API": [api.pid, *children(api.pid)],
                              "worker": [worker.pid, *children(worker.pid)],
                              "Redis": [redis_server.pid]})
        finally:
            stop(api)
    finally:
        stop(worker)
        stop(redis_server)


@contextmanager
def embedded_server(logs: Path) -> Iterator[Stack]:
    """``policy-eval serve`` with the defaults of ``scripts/serve``: nothing set but the port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "API_KEYS", "API_KEYS_FILE", "RATE_LIMIT")}
    server = start([str(Path(sys.executable).with_name("policy-eval")), "serve", "--port",
                    str(port)], env, logs / "embedded.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 60, "no embedded API")
        yield Stack(url, {"API": [server.pid]})
    finally:
        stop(server)


@contextmanager
def echo_server(logs: Path) -> Iterator[Stack]:
    """The floor: a Flask JSON echo on one gunicorn gthread process."""
    api, url = gunicorn("bench.stack:echo", service_env(), logs / "echo.log",
                        "--worker-class", "gthread", "--workers", "1", "--threads", "8")
    try:
        yield Stack(url, {"API": [api.pid, *children(api.pid)]})
    finally:
        stop(api)


def through_celery(logs: Path, seconds: float, clients: int) -> Comparison:
    bodies = example_bodies()
    with redis_stack(logs) as stack:
        floor, floor_cpu = measured_with_cpu(stack, lambda: closed_loop(
            f"{stack.url}/v1/bench/noop", bodies, AUTH, clients, seconds))
        measured, cpu = measured_with_cpu(stack, lambda: closed_loop(
            f"{stack.url}/v1/evaluations", bodies, AUTH, clients, seconds))
    return Comparison(f"sync `POST /v1/evaluations` through Celery, {clients} clients",
                      measured, "no-op Celery task round trip, same stack", floor, 0.8,
                      cpu, floor_cpu)


def embedded(logs: Path, seconds: float, clients: int) -> Comparison:
    bodies = example_bodies()
    with echo_server(logs) as stack:
        echo, echo_cpu = measured_with_cpu(stack, lambda: closed_loop(
            f"{stack.url}/echo", bodies, {}, clients, seconds))
    with embedded_server(logs) as stack:
        measured, cpu = measured_with_cpu(stack, lambda: closed_loop(
            f"{stack.url}/v1/evaluations", bodies, {}, clients, seconds))
    return Comparison(f"embedded `POST /v1/evaluations` (`scripts/serve`), {clients} clients",
                      measured, "Flask JSON echo, one gunicorn gthread process", echo, 0.5,
                      cpu, echo_cpu)


def row(comparison: Comparison) -> str:
    m, b = comparison.measured, comparison.baseline
    return (f"| {comparison.figure} | {m.rate:,.0f}/s (p50 {m.p50:.1f} ms, p99 {m.p99:.1f} ms, "
            f"{m.errors} errors) | {comparison.baseline_name}: {b.rate:,.0f}/s (p50 "
            f"{b.p50:.1f} ms, p99 {b.p99:.1f} ms) | {comparison.ratio:.2f}× | "
            f"≥ {comparison.target}× |")


def cpu_line(cpu_ms: dict[str, float]) -> str:
    return ", ".join(f"{role} {ms:.2f}" for role, ms in cpu_ms.items()) + (
        f" (total {sum(cpu_ms.values()):.2f})")


def measure(seconds: float, clients: int) -> list[Comparison]:
    logs = Path(tempfile.mkdtemp(prefix="bench-http-"))
    return [through_celery(logs, seconds, clients), embedded(logs, seconds, clients)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    print("| figure | measured | baseline | ratio | target |\n|---|---|---|---|---|")
    comparisons = measure(args.seconds, args.clients)
    for comparison in comparisons:
        print(row(comparison), flush=True)
    for comparison in comparisons:
        if comparison.cpu_ms:
            print(f"\nCPU ms per request, {comparison.figure}: " + cpu_line(comparison.cpu_ms)
                  + f"; baseline: {cpu_line(comparison.baseline_cpu_ms)}")


if __name__ == "__main__":
    main()
