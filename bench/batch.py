"""Batch throughput end to end: generated proposals POSTed to the API under gunicorn, scored by a
real ``celery worker`` (prefork, 2 processes) through Redis, measured against the
single-process in-memory engine rate in the same run.

Run (it starts a Redis server of its own):
    python -m bench.batch                         # both engines, 10,000 and 100,000 proposals
    python -m bench.batch --engines native --sizes 10000

For each engine mode and batch size it starts a fresh worker and API (so peak memory is the
batch's own), uploads a JSON Lines file, polls until the batch is done, downloads the ranked CSV
and reports: proposals/s from the POST to the last result, the ratio to the engine alone, peak
RSS (VmHWM) of the API process and of the largest worker process, and the latency of single
evaluations sent while the batch runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import redis
import requests

from bench import synthetic
from bench.processes import (
    ROOT,
    celery_worker,
    children,
    cpu_seconds,
    gunicorn,
    own_redis,
    peak_mb,
    stop,
)
from service.api.auth import digest
from service.config import Settings
from service.registry.engines import file_engines

KEY = "bench-evaluator-key-0123456789abcdef"


@dataclass
class Run:
    engine: str
    size: int
    engine_rate: float
    seconds: float
    submit_seconds: float
    download_seconds: float
    api_peak_mb: float
    worker_peak_mb: float
    single_p50_ms: float
    single_max_ms: float
    cpu_ms: dict[str, float]  # CPU milliseconds per proposal, by process
    local_rate: float = 0.0  # `policy-eval score FILE -o out.jsonl --workers 2`, no service

    @property
    def rate(self) -> float:
        return self.size / self.seconds


def engine_rate(mode: str, proposals: list[dict[str, object]], seconds: float) -> float:
    """The engine alone, one process, in memory: ``evaluate_many`` on the same proposals."""
    engine = file_engines(Settings.from_env().ruleset, mode).engine()  # type: ignore[arg-type]
    engine.evaluate_many(proposals[:50])  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        engine.evaluate_many(proposals)
        count += len(proposals)
    return count / (time.perf_counter() - start)


def single_latencies(url: str, proposal: dict[str, object], stop_flag: threading.Event,
                     found: list[float]) -> None:
    while not stop_flag.wait(0.5):
        started = time.perf_counter()
        response = requests.post(f"{url}/v1/evaluations", json=proposal, timeout=60,
                                 headers={"Authorization": f"Bearer {KEY}"})
        if response.status_code == 200:
            found.append(time.perf_counter() - started)


def run(mode: str, size: int, path: Path, chunk_size: int, rate: float, logs: Path,
        redis_url: str, redis_process: int) -> Run:
    redis.Redis.from_url(redis_url).flushdb()
    env = {**os.environ, "REDIS_URL": redis_url, "POLICY_ENGINE": mode,
           "API_KEYS": f"bench:evaluator:{digest(KEY)}", "RATE_LIMIT": "1000000/minute",
           "BATCH_CHUNK_SIZE": str(chunk_size), "PYTHONUNBUFFERED": "1"}
    worker = celery_worker("service.worker.app", env, logs / f"worker-{mode}-{size}.log")
    api, url = gunicorn("service.api.wsgi:app", env, logs / f"api-{mode}-{size}.log",
                        "--worker-class", "gthread", "--workers", "1", "--threads", "8")
    auth = {"Authorization": f"Bearer {KEY}"}
    try:
        time.sleep(2)  # the pool processes build their engines after the fork
        latencies: list[float] = []
        stop_flag = threading.Event()
        sampler = threading.Thread(target=single_latencies, daemon=True, args=(
            url, synthetic.proposal(random.Random(0), 0), stop_flag, latencies))
        t0 = time.time()
        with path.open("rb") as body:
            response = requests.post(f"{url}/v1/batches", data=body, timeout=600, headers={
                **auth, "Content-Type": "application/x-ndjson"})
        submitted = time.time() - t0
        if response.status_code != 202:
            raise SystemExit(f"bench: {response.status_code} {response.text[:300]}")
        sampler.start()
        location = url + response.headers["Location"]
        pool = children(worker.pid)
        watched = {"worker pool": pool, "worker main": [worker.pid], "API": children(api.pid),
                   "Redis": [redis_process]}
        before = {name: sum(cpu_seconds(p) for p in pids) for name, pids in watched.items()}
        while True:
            status = requests.get(location, headers=auth, timeout=60).json()
            if status["status"] == "done":
                break
            time.sleep(0.2)
        stop_flag.set()
        cpu = {name: (sum(cpu_seconds(p) for p in pids) - before[name]) * 1000 / size
               for name, pids in watched.items()}
        finished = datetime.fromisoformat(status["finished_at"]).timestamp()
        assert status["done"] == size, status
        t1 = time.perf_counter()
        with requests.get(f"{location}/results?format=csv", headers=auth, stream=True,
                          timeout=600) as download:
            rows = sum(block.count(b"\n") for block in download.iter_content(1 << 16))
        assert rows == size + 1, rows
        downloaded = time.perf_counter() - t1
        api_peak = max(peak_mb(pid) for pid in children(api.pid))
        worker_peak = max(peak_mb(pid) for pid in [worker.pid, *children(worker.pid)])
        sampler.join(5)
        ordered = sorted(latencies) or [float("nan")]
        return Run(mode, size, rate, finished - t0, submitted, downloaded, api_peak,
                   worker_peak, statistics.median(ordered) * 1000, ordered[-1] * 1000, cpu)
    finally:
        stop(api)
        stop(worker)


def scored_locally(mode: str, size: int, path: Path, logs: Path) -> float:
    """Proposals/s of ``policy-eval score FILE -o out.jsonl --workers 2`` from start to exit:
    the same intake and chunk scoring in a local process pool, with no Redis or Celery."""
    output = logs / f"scored-{mode}-{size}.jsonl"
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("policy-eval")), "score", str(path),
                    "-o", str(output), "--workers", "2", "--engine", mode],
                   check=True, capture_output=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    with output.open("rb") as lines:
        assert sum(1 for _ in lines) == size, f"{output}: not every proposal scored"
    return size / seconds


def alone_in_a_fresh_process(mode: str, seconds: float) -> float:
    """The engine-alone rate, measured in a new interpreter: durable-rules is slower in a
    process that already registered other rulesets (measured ~7%), and the baseline should be
    what a worker process starts from."""
    found = subprocess.run([sys.executable, "-m", "bench.batch", "--engine-alone", mode,
                            "--engine-seconds", str(seconds)], capture_output=True, text=True,
                           check=True, cwd=ROOT)
    return float(found.stdout.strip().splitlines()[-1])


def measure(modes: list[str], sizes: list[int], chunk_size: int = 250,
            engine_seconds: float = 10.0) -> list[Run]:
    """One run per engine mode and batch size, each on a fresh worker and API."""
    logs = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    path = logs / "proposals.jsonl"
    rng = random.Random(2026)
    proposals = [synthetic.proposal(rng, i) for i in range(max(sizes))]
    runs = []
    redis_url, server = own_redis(logs)
    try:
        for mode in modes:
            rate = alone_in_a_fresh_process(mode, engine_seconds)
            print(f"{mode}: engine alone {rate:,.0f} proposals/s (1 process)", flush=True)
            for size in sizes:
                path.write_text("\n".join(json.dumps(p) for p in proposals[:size]) + "\n")
                result = run(mode, size, path, chunk_size, rate, logs, redis_url, server.pid)
                result.local_rate = scored_locally(mode, size, path, logs)
                runs.append(result)
                print(f"  {size:,}: {result.rate:,.0f}/s end to end "
                      f"({result.rate / rate:.2f}× the engine alone), API peak "
                      f"{result.api_peak_mb:.0f} MB, worker peak {result.worker_peak_mb:.0f} MB; "
                      f"`policy-eval score --workers 2` {result.local_rate:,.0f}/s "
                      f"({result.local_rate / rate:.2f}×)", flush=True)
    finally:
        stop(server)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine-alone", metavar="MODE", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--engines", default="native,durable")
    parser.add_argument("--chunk-size", type=int, default=250)
    parser.add_argument("--engine-seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.engine_alone:
        sample = [synthetic.proposal(random.Random(2026), i) for i in range(2000)]
        print(engine_rate(args.engine_alone, sample, args.engine_seconds))
        return
    load = os.getloadavg()[0]
    runs = measure(args.engines.split(","), [int(s) for s in args.sizes.split(",")],
                   args.chunk_size, args.engine_seconds)
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {date.today()}; chunk {args.chunk_size}; load "
          f"average {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    print("| engine | proposals | engine alone (1 process) | end to end | ratio | "
          "`policy-eval score --workers 2` | POST → 202 | "
          "CSV download | API peak RSS | worker peak RSS | single eval during batch "
          "(p50 / max) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        print(f"| {r.engine} | {r.size:,} | {r.engine_rate:,.0f}/s | {r.rate:,.0f}/s | "
              f"{r.rate / r.engine_rate:.2f}× | {r.local_rate:,.0f}/s | {r.submit_seconds:.1f} s | "
              f"{r.download_seconds:.1f} s | {r.api_peak_mb:.0f} MB | {r.worker_peak_mb:.0f} MB "
              f"| {r.single_p50_ms:.0f} / {r.single_max_ms:.0f} ms |")
    print("\nCPU per proposal while scoring (ms; the POST's parsing is before this):")
    for r in runs:
        print(f"- {r.engine} {r.size:,}: {cpu_parts(r)}; engine alone "
              f"{1000 / r.engine_rate:.3f}")


def cpu_parts(run: Run) -> str:
    return ", ".join(f"{name} {ms:.3f}" for name, ms in run.cpu_ms.items())


if __name__ == "__main__":
    main()
