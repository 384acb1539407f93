"""What analysts do all day, at a steady pace: score a proposal and read the result back, and
now and then score a small batch and read its ranking.

Each simulated analyst runs one iteration at a time, paced by locust's ``constant_throughput``
at ``--per-user-rate`` iterations a second, so the whole run asks for ``users × rate``
synchronous evaluations a second whatever the answer times are (up to the point the service
falls behind, which the rate achieved then shows). An iteration is:

1. ``POST /v1/evaluations`` (synchronous): 200 with the evaluation, anything else is a failure
   (a 202 means the answer took longer than ``SYNC_TIMEOUT``);
2. ``GET /v1/evaluations/{id}`` of that evaluation: 200 and the same decision;
3. every ``--batch-every`` iterations, ``POST /v1/batches`` of ``--batch-size`` proposals
   (JSON Lines), ``GET /v1/batches/{id}`` until it is done, then its first page of results.

Proposals are the examples shipped in ``examples/``, in turn. Run headless by
``bench/load/run.py``, which starts the stack and reads the figures off locust's CSV files.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

from locust import HttpUser, constant_throughput, events, task
from locust.argument_parser import LocustArgumentParser

EXAMPLES = sorted(p for p in (Path(__file__).resolve().parents[2] / "examples").glob("*.json"))
PROPOSALS = [json.loads(p.read_text()) for p in EXAMPLES]
BATCH_DEADLINE = 30.0  # seconds for a small batch to finish before its wait counts as failed
POLL_EVERY = 0.2
FINISHED = ("done", "cancelled")  # a batch in any other status is still being scored


@events.init_command_line_parser.add_listener
def _options(parser: LocustArgumentParser) -> None:
    parser.add_argument("--api-key", default="", env_var="LOAD_API_KEY",
                        help="Bearer key with the evaluator role")
    parser.add_argument("--per-user-rate", type=float, default=2.0,
                        help="iterations a second each user runs")
    parser.add_argument("--batch-every", type=int, default=25,
                        help="a small batch every this many iterations of a user")
    parser.add_argument("--batch-size", type=int, default=10)


class Analyst(HttpUser):
    def wait_time(self) -> float:
        pace: float = constant_throughput(self.environment.parsed_options.per_user_rate)(self)
        return pace

    def on_start(self) -> None:
        options = self.environment.parsed_options
        if options.api_key:
            self.client.headers["Authorization"] = f"Bearer {options.api_key}"
        self.proposals = itertools.cycle(PROPOSALS)
        self.iterations = 0

    @task
    def iteration(self) -> None:
        self.evaluate_and_read()
        self.iterations += 1
        if self.iterations % self.environment.parsed_options.batch_every == 0:
            self.small_batch()

    def evaluate_and_read(self) -> None:
        with self.client.post("/v1/evaluations", json=next(self.proposals),
                              name="POST /v1/evaluations", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            job = response.json()
        with self.client.get(f"/v1/evaluations/{job['id']}", name="GET /v1/evaluations/[id]",
                             catch_response=True) as read:
            if read.status_code != 200:
                read.failure(f"{read.status_code}: {read.text[:200]}")
            elif read.json()["evaluation"]["decision_id"] != job["evaluation"]["decision_id"]:
                read.failure("the stored evaluation is not the one answered")

    def small_batch(self) -> None:
        size = self.environment.parsed_options.batch_size
        upload = "".join(json.dumps(next(self.proposals)) + "\n" for _ in range(size))
        with self.client.post("/v1/batches", data=upload, name="POST /v1/batches",
                              headers={"Content-Type": "application/x-ndjson"},
                              catch_response=True) as response:
            if response.status_code != 202:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            batch_id = response.json()["id"]
        if self.batch_finished(batch_id, size):
            with self.client.get(f"/v1/batches/{batch_id}/results", name="GET /v1/batches/[id]"
                                 "/results", catch_response=True) as results:
                if results.status_code != 200 or len(results.json()["items"]) != size:
                    results.failure(f"{results.status_code}: {results.text[:200]}")

    def batch_finished(self, batch_id: str, size: int) -> bool:
        deadline = time.monotonic() + BATCH_DEADLINE
        while True:
            with self.client.get(f"/v1/batches/{batch_id}", name="GET /v1/batches/[id]",
                                 catch_response=True) as response:
                status: dict[str, Any] = response.json() if response.status_code == 200 else {}
                if status.get("status") == "done" and status.get("done") == size:
                    return True
                if response.status_code != 200 or status.get("status") in FINISHED \
                        or time.monotonic() > deadline:
                    response.failure(f"{response.status_code}: {response.text[:200]}")
                    return False
            time.sleep(POLL_EVERY)
