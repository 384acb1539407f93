"""The README's Redis sections, run as written against a real Redis: "Running with Redis and
separate workers" (a key made with `policy-eval keys new`, a worker, gunicorn, an evaluation
with the key) followed by the metrics check of "Operating it", which must find the evaluation;
then "Operating it" itself (two Celery workers, gunicorn, readiness).

Each section's commands up to the last one sent to the background run in one bash session,
kept alive while the commands after it run one by one (with the section's exported variables),
as a reader's terminal would. Substituted: the Redis URL (this module's databases), the port
(a free one), the metrics directory (a scratch one) and the `<…>` placeholders the README asks
the reader to fill in.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.api.auth import digest
from tests import readme

from .servers import flushed_redis, free_port

pytestmark = pytest.mark.integration

QUICK_DB, OPERATING_DB = 3, 4  # this module's own databases, flushed at start
WRITTEN_REDIS = "redis://127.0.0.1:6379/0"


def _split(commands: list[str]) -> tuple[list[str], list[str]]:
    """(the commands up to the last one sent to the background, the rest)."""
    last = max(i for i, command in enumerate(commands) if command.split("#")[0].rstrip()
               .endswith("&"))
    return commands[:last + 1], commands[last + 1:]


def _exports(commands: list[str]) -> str:
    return "\n".join(c for c in commands if c.startswith("export "))


@contextmanager
def background(commands: list[str], cwd: Path, address: str) -> Iterator[subprocess.Popen[str]]:
    script = "\n".join(commands) + "\nwait\n"
    for written in readme.ADDRESSES:
        script = script.replace(written, address)
    log = (cwd / "background.log").open("w")
    process = subprocess.Popen(
        ["bash", "-c", readme.PRELUDE + script], cwd=cwd, text=True, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(readme.ROOT)})
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()


def until_ok(command: str, cwd: Path, address: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while True:
        done = readme.shell(command, cwd, address, timeout=timeout)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout
        assert time.monotonic() < deadline, (
            f"{command!r}: {done.stdout}{done.stderr}\n"
            f"{(cwd / 'background.log').read_text()[-3000:]}")
        time.sleep(1)


def test_running_with_redis_and_separate_workers(tmp_path: Path) -> None:
    work = readme.scratch(tmp_path)
    redis_url = flushed_redis(QUICK_DB)
    address = f"127.0.0.1:{free_port()}"
    commands = readme.commands("Running with Redis and separate workers")
    made = readme.shell(commands[1], work)
    assert made.returncode == 0, made.stderr
    key = re.search(r"it is not stored\): (\S+)", made.stdout)
    entry = re.search(r"API_KEYS entry: (\S+)", made.stdout)
    assert key and entry, made.stdout
    metrics = tmp_path / "metrics"
    filled = [c.replace("<the key it printed>", key.group(1))
               .replace("<the API_KEYS entry it printed>", entry.group(1))
               .replace(WRITTEN_REDIS, redis_url)
               .replace("/tmp/policy-eval-metrics", str(metrics)) for c in commands]
    setup, checks = _split(filled)

    with background(setup, work, address):
        ready, evaluate = checks
        waited = readme.shell(ready, work, address, timeout=90)  # it loops until ready
        assert waited.returncode == 0, (work / "background.log").read_text()[-3000:]
        answer = json.loads(until_ok(f"{_exports(setup)}\n{evaluate}", work, address))
        assert answer["status"] == "done" and answer["evaluation"]["proposal_id"] == "sm6-2025"
        # the next section's metrics check finds the workers' count
        grep = next(c for c in readme.commands("Operating it") if "/metrics" in c)
        counted = until_ok(grep, work, address)
        assert re.search(r'^policy_eval_evaluations_total\{.*outcome="done".*\} 1\.0$', counted,
                         re.M), counted


def test_operating_it(tmp_path: Path) -> None:
    work = readme.scratch(tmp_path)
    redis_url = flushed_redis(OPERATING_DB)
    address = f"127.0.0.1:{free_port()}"
    ops_key, caller_key = "readme-ops-key-0123456789abcdef", "readme-caller-key-0123456789ab"
    commands = [c.replace(WRITTEN_REDIS, redis_url)
                 .replace("ops:admin:<sha256>", f"ops:admin:{digest(ops_key)}")
                 .replace("integrator-a:evaluator:<sha256>",
                          f"integrator-a:evaluator:{digest(caller_key)}")
                 .replace("/var/tmp/policy-eval-metrics", str(tmp_path / "metrics"))
                for c in readme.commands("Operating it")
                if "/metrics" not in c or "curl" in c]
    setup, checks = _split(commands)
    ready, metrics = checks

    with background(setup, work, address):
        deadline = time.monotonic() + 90
        while json.loads(until_ok(ready, work, address)).get("status") != "ready":
            assert time.monotonic() < deadline, (work / "background.log").read_text()[-3000:]
            time.sleep(1)
        evaluation = readme.shell(
            f"curl -s -H 'Authorization: Bearer {caller_key}' -H 'Content-Type: "
            f"application/json' -d @examples/e2d-2023.json {address}/v1/evaluations", work)
        assert json.loads(evaluation.stdout)["status"] == "done", evaluation.stdout
        counted = until_ok(metrics, work, address)
        assert 'outcome="done"' in counted
