"""The processes a benchmark runs (Redis, celery workers, gunicorn) and what it reads off them.

Every benchmark starts its own servers on free ports, so a run never touches the Redis the tests
or a developer use, and measures a stack started the way docker-compose.yml starts it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.ConnectionError, redis.RedisError, OSError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"bench: {what} within {timeout:.0f} s")


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True,
                           check=False).stdout.split()
    return [int(p) for p in found]


def peak_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and of its children that already exited)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(v) for v in fields[11:15]) / ticks


def own_redis(logs: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """A Redis server of the benchmark's own, without persistence: ``(url, process)``."""
    port = free_port()
    server = start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", str(logs)], dict(os.environ),
                   logs / "redis.log")
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: redis.Redis.from_url(url).ping(), 30, "no Redis")
    return url, server


def celery_worker(app: str, env: dict[str, str], log: Path,
                  concurrency: int = 2) -> subprocess.Popen[bytes]:
    """A celery worker as deployed: prefork pool, one process per core by default here."""
    worker = start([sys.executable, "-m", "celery", "-A", app, "worker",
                    f"--concurrency={concurrency}", "--pool=prefork", "--loglevel=WARNING",
                    "--without-gossip", "--without-mingle", "--without-heartbeat"], env, log)
    wait_until(lambda: len(children(worker.pid)) >= concurrency, 60, "no worker pool")
    return worker


def gunicorn(app: str, env: dict[str, str], log: Path, *options: str) -> tuple[
        subprocess.Popen[bytes], str]:
    """gunicorn serving ``app`` on a free port: ``(process, url)``, once /healthz answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                     "--timeout", "300", *options, app], env, log)
    wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 60, "no API")
    return process, url
