"""The same proposal evaluated 10,000 times by two worker processes gives the same bytes.

A batch of 10,000 copies of the Tomahawk example is scored under the shipped ruleset, with the
default engine (durable-rules deciding, the compiled evaluator cross-checking and explaining), by
a real ``celery worker`` with two prefork processes. Its results are downloaded as JSON Lines
and compared byte for byte, the decision id set aside (the task allows it to differ; today it
is derived from the input and ruleset hashes and never does); a batch result holds no time.
Which process scored how many items is read from the workers' own metric files (one per
process, ``PROMETHEUS_MULTIPROC_DIR``): the test fails unless both scored some.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.mmap_dict import MmapedDict

from service.engine import Engine
from service.observability.multiproc import host

from .checks import http
from .servers import ROOT, LoggedProcess, celery_worker, flushed_redis, gunicorn_api, wait_for

pytestmark = pytest.mark.integration

DETERMINISM_DB = 2  # this module's own database, flushed at start
COPIES = 10_000
SHIPPED = ROOT / "rules" / "japan-fy2026.yaml"
PROPOSAL = ROOT / "examples" / "tomahawk-2023.json"
ITEMS_METRIC = "policy_eval_batch_items_processed_total"
DECISION_ID = re.compile(rb'"decision_id":"[^"]*"')
SET_ASIDE = b'"decision_id":"*"'


@pytest.fixture(scope="module")
def shipped_stack(tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[tuple[str, LoggedProcess, Path]]:
    """API and a two-process worker on the shipped ruleset: (url, worker, metrics directory)."""
    redis_url = flushed_redis(DETERMINISM_DB)
    logs = tmp_path_factory.mktemp("determinism")
    metrics = logs / "metrics"
    env = {"POLICY_RULESET": str(SHIPPED), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    worker = celery_worker(redis_url, logs, name="determinism", **env)
    api, url = gunicorn_api(redis_url, logs, **env)
    yield url, worker, metrics
    api.stop()
    worker.stop()


def items_by_process(metrics: Path, worker: LoggedProcess) -> dict[int, float]:
    """Batch items each live pool process counted, read from its own metric file."""
    found: dict[int, float] = {}
    for path in metrics.glob(f"counter_{host()}-*.db"):
        pid = int(path.stem.rsplit("-", 1)[1])
        if pid == worker.process.pid:
            continue  # the main process only hands out tasks
        found[pid] = sum(value for key, value, *_ in MmapedDict.read_all_values_from_file(
            str(path)) if json.loads(key)[1] == ITEMS_METRIC)
    return found


def finished(url: str, batch_id: str) -> dict[str, Any]:
    status: dict[str, Any] = {}

    def done() -> bool:
        status.update(http.get(f"{url}/v1/batches/{batch_id}", timeout=10).json())
        return status["status"] in ("done", "cancelled")

    wait_for(done, 120, f"batch {batch_id} did not finish", lambda: json.dumps(status))
    return status


def test_ten_thousand_evaluations_on_two_processes_are_byte_identical(
    shipped_stack: tuple[str, LoggedProcess, Path]
) -> None:
    url, worker, metrics = shipped_stack
    proposal = json.loads(PROPOSAL.read_text())
    started = time.monotonic()
    upload = (json.dumps(proposal) + "\n").encode() * COPIES
    response = http.post(f"{url}/v1/batches", data=upload,
                         headers={"Content-Type": "application/x-ndjson"}, timeout=60)
    assert response.status_code == 202, response.text[:500]
    status = finished(url, response.json()["id"])
    assert (status["status"], status["done"], status["failed"]) == ("done", COPIES, 0)
    download = http.get(f"{url}/v1/batches/{status['id']}/results", params={"format": "jsonl"},
                        timeout=60)
    assert download.status_code == 200
    lines = download.content.splitlines()
    seconds = time.monotonic() - started

    # every result, as stored and served, with only its decision id set aside
    results = Counter(DECISION_ID.sub(SET_ASIDE, line.split(b',"evaluation":', 1)[1])
                      for line in lines)
    assert sum(results.values()) == COPIES
    (result, _), *others = results.most_common()
    differing = sum(count for _, count in others)
    assert not others, f"{differing} of {COPIES} results differ from the first"
    # and they are what a third process, this one, computes with a fresh engine
    expected = Engine.from_path(SHIPPED).evaluate(proposal)
    assert json.loads(result[:-1]) == {**expected, "decision_id": "*"}

    split = items_by_process(metrics, worker)
    assert sum(split.values()) == COPIES, split
    assert len([n for n in split.values() if n > 0]) == 2, split
    print(f"\n{COPIES:,} evaluations in {seconds:.1f} s; items per process {split}; "
          f"distinct results: {len(results)}")
