"""Hold a steady rate of evaluations against the service as deployed and print what it did.

    python bench/load/run.py                       # 60 s, 10 users × 2 iterations/s
    python bench/load/run.py --seconds 20 --users 20 --per-user-rate 2

Starts a Redis server of its own, a ``celery worker`` with two prefork processes and the API
under gunicorn (``service.api.gunicorn_conf``, two processes), all on the shipped ruleset with
the default engine, then runs ``bench/load/locustfile.py`` headless against them (install the
``load`` extra: ``pip install -e '.[load]'``). Prints the rate of synchronous evaluations held,
their p50 and p99, and the errors; exits non-zero on any error or if the rate was not held.
``tests/integration/test_load.py`` runs the same for 20 s (60 s with ``POLICY_SOAK=1``).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `service` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.processes import ROOT, celery_worker, gunicorn, own_redis, stop
from service.api.auth import digest

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SHIPPED = ROOT / "rules" / "japan-fy2026.yaml"
KEY = "load-evaluator-key-0123456789abcdef0123456789"
EVALUATIONS = "POST /v1/evaluations"
RAMP_SECONDS = 3  # users start in the first second; the first windows are not steady yet
WINDOW_SECONDS = 5
HELD = 0.9  # the rate achieved must be at least this share of the rate asked


@dataclass(frozen=True)
class Plan:
    seconds: int = 60
    users: int = 10
    per_user_rate: float = 2.0  # iterations (one synchronous evaluation each) a second a user
    batch_every: int = 25
    batch_size: int = 10

    @property
    def target(self) -> float:
        """Synchronous evaluations a second the run asks for."""
        return self.users * self.per_user_rate


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    evaluations: int  # synchronous evaluations answered
    requests: int  # every request, reads and batches included
    failures: int
    rate: float  # synchronous evaluations a second, over the whole run
    slowest_window: float  # the lowest rate over a 5-s window once the users are all running
    p50_ms: float  # of the synchronous evaluations
    p99_ms: float
    all_p50_ms: float  # of every request
    all_p99_ms: float
    failure_lines: tuple[str, ...]

    @property
    def held(self) -> bool:
        return self.failures == 0 and self.rate >= HELD * self.plan.target

    def report(self) -> str:
        plan = self.plan
        lines = [
            f"asked: {plan.target:g} synchronous evaluations/s ({plan.users} users × "
            f"{plan.per_user_rate:g}/s), each read back, a batch of {plan.batch_size} every "
            f"{plan.batch_every} iterations of a user, for {plan.seconds} s",
            f"held: {self.rate:.1f} evaluations/s (slowest {WINDOW_SECONDS}-s window "
            f"{self.slowest_window:.1f}/s), {self.evaluations:,} evaluations, "
            f"{self.requests:,} requests in all",
            f"synchronous evaluation: p50 {self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms; "
            f"every request: p50 {self.all_p50_ms:.0f} ms, p99 {self.all_p99_ms:.0f} ms",
            f"errors: {self.failures}",
            *self.failure_lines,
        ]
        return "\n".join(lines)


@contextmanager
def deployed_stack(logs: Path) -> Iterator[str]:
    """Redis, a two-process worker and gunicorn on the shipped ruleset: the API's URL."""
    redis_url, redis_server = own_redis(logs)
    env = {**os.environ, "REDIS_URL": redis_url, "POLICY_RULESET": str(SHIPPED),
           "API_KEYS": f"load:evaluator:{digest(KEY)}",
           "RATE_LIMIT": "1000000/minute",  # the run measures the service, not the limiter
           "PROMETHEUS_MULTIPROC_DIR": str(logs / "metrics"), "LOG_LEVEL": "WARNING"}
    for name in ("POLICY_ENGINE", "SYNC_TIMEOUT"):
        env.pop(name, None)  # the defaults, as deployed
    worker = celery_worker("service.worker.app", env, logs / "worker.log")
    api = None
    try:
        api, url = gunicorn("service.api.wsgi:app", {**env, "WEB_CONCURRENCY": "2"},
                            logs / "gunicorn.log", "-c", "python:service.api.gunicorn_conf")
        yield url
    finally:
        for process in (api, worker, redis_server):
            if process is not None:
                stop(process)


def run_locust(url: str, plan: Plan, out: Path) -> Outcome:
    """Run the scenario headless for ``plan.seconds`` and read its CSV files."""
    prefix = out / "locust"
    subprocess.run([
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
        "--users", str(plan.users), "--spawn-rate", str(plan.users),
        "--run-time", f"{plan.seconds}s", "--stop-timeout", "10",
        "--csv", str(prefix), "--csv-full-history", "--only-summary", "--loglevel", "WARNING",
        "--api-key", KEY, "--per-user-rate", str(plan.per_user_rate),
        "--batch-every", str(plan.batch_every), "--batch-size", str(plan.batch_size),
    ], cwd=ROOT, check=False, stdout=(out / "locust.log").open("wb"), stderr=subprocess.STDOUT)
    if not Path(f"{prefix}_stats.csv").exists():  # locust did not run: not installed, bad option
        raise RuntimeError("locust wrote no statistics (is the `load` extra installed?):\n"
                           + (out / "locust.log").read_text(errors="replace")[-3000:])
    return read_outcome(plan, prefix)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def read_outcome(plan: Plan, prefix: Path) -> Outcome:
    stats = {row["Name"]: row for row in _rows(Path(f"{prefix}_stats.csv"))}
    evaluations, every = stats[EVALUATIONS], stats["Aggregated"]
    failures = _rows(Path(f"{prefix}_failures.csv"))
    return Outcome(
        plan=plan,
        evaluations=int(evaluations["Request Count"]),
        requests=int(every["Request Count"]),
        failures=int(every["Failure Count"]),
        rate=int(evaluations["Request Count"]) / plan.seconds,
        slowest_window=slowest_window(Path(f"{prefix}_stats_history.csv")),
        p50_ms=float(evaluations["50%"]),
        p99_ms=float(evaluations["99%"]),
        all_p50_ms=float(every["50%"]),
        all_p99_ms=float(every["99%"]),
        failure_lines=tuple(f"  {row['Occurrences']}× {row['Method']} {row['Name']}: "
                            f"{row['Error'][:200]}" for row in failures),
    )


def slowest_window(history: Path) -> float:
    """The lowest evaluation rate over consecutive 5-s windows after the ramp: a run that
    stalls for a while and catches up later has the right total but not a steady rate."""
    counts = [(int(row["Timestamp"]), int(row["Total Request Count"]))
              for row in _rows(history) if row["Name"] == EVALUATIONS]
    start = counts[0][0] + RAMP_SECONDS if counts else 0
    steady = [(t, n) for t, n in counts if t >= start]
    rates = []
    for (t0, n0), (t1, n1) in zip(steady, steady[WINDOW_SECONDS:], strict=False):
        if t1 > t0:
            rates.append((n1 - n0) / (t1 - t0))
    return min(rates, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=Plan.seconds)
    parser.add_argument("--users", type=int, default=Plan.users)
    parser.add_argument("--per-user-rate", type=float, default=Plan.per_user_rate)
    args = parser.parse_args()
    plan = Plan(args.seconds, args.users, args.per_user_rate)
    with tempfile.TemporaryDirectory(prefix="policy-load-") as tmp:
        logs = Path(tmp)
        with deployed_stack(logs) as url:
            outcome = run_locust(url, plan, logs)
        print(outcome.report())
    sys.exit(0 if outcome.held else 1)


if __name__ == "__main__":
    main()
