"""Batches end to end: gunicorn API → Redis → ``celery worker`` (prefork, 2 processes) → Redis,
over HTTP, on a Redis database of this module's own (a cancel or a killed worker here must not
disturb the other modules' stacks)."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from bench import synthetic
from bench.synthetic import header_for, proposal_to_row
from service.cli.main import main
from service.engine import Engine, counterfactuals
from tests.keys import KEYS, bearer

from .checks import problem
from .proposals import ISOLATED_RADAR, TOMAHAWK
from .servers import MINI_RULESET, LoggedProcess, celery_worker, flushed_redis, gunicorn_api

pytestmark = pytest.mark.integration
BATCH_DB = 13
MAX_ITEMS = 6000
MAX_BYTES = 6 * 1024 * 1024
AUTH = bearer("evaluator")
JSON, NDJSON, CSV = "application/json", "application/x-ndjson", "text/csv"


@pytest.fixture(scope="module")
def stack(logs: Path) -> Iterator[tuple[str, LoggedProcess]]:
    redis_url = flushed_redis(BATCH_DB)
    worker = celery_worker(redis_url, logs, name="batch-worker")
    api, url = gunicorn_api(redis_url, logs, BATCH_MAX_ITEMS=str(MAX_ITEMS),
                            BATCH_MAX_BYTES=str(MAX_BYTES), BATCH_CHUNK_SIZE="250",
                            RATE_LIMIT="100000/minute")
    yield url, worker
    api.stop()
    worker.stop()


@pytest.fixture(scope="module")
def url(stack: tuple[str, LoggedProcess]) -> str:
    return stack[0]


@pytest.fixture(scope="module")
def engine() -> Engine:
    # the stack's only ruleset version is this file's (its database is fresh)
    return Engine.from_path(MINI_RULESET, mode="native")


def submit(url: str, body: bytes, content_type: str, **kwargs: Any) -> requests.Response:
    headers = {"Content-Type": content_type, **AUTH, **kwargs.pop("headers", {})}
    return requests.post(f"{url}/v1/batches", data=body, headers=headers, timeout=120,
                         **kwargs)


def get(url: str, path: str, **params: Any) -> requests.Response:
    return requests.get(urljoin(url, path), params=params, headers=AUTH, timeout=120)


def finish(url: str, location: str, timeout: float = 120) -> tuple[dict[str, Any],
                                                                    list[dict[str, Any]]]:
    """Poll until the batch ends; returns the last status and every status seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        status = get(url, location).json()
        seen.append(status)
        if status["status"] in ("done", "cancelled") or time.monotonic() > deadline:
            return status, seen
        time.sleep(0.05)


def jsonl(items: list[Any]) -> bytes:
    return "\n".join(json.dumps(item) for item in items).encode()


def download(url: str, location: str, fmt: str, **params: Any) -> list[Any]:
    response = get(url, f"{location}/results", format=fmt, **params)
    assert response.status_code == 200, response.text[:500]
    if fmt == "csv":
        assert response.headers["Content-Type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(response.text)))
    return [json.loads(line) for line in response.text.splitlines()]


def mixed(count: int, seed: int) -> tuple[list[Any], dict[int, str]]:
    """``count`` generated proposals, every 20th broken: 5% invalid, each with its bad field."""
    rng = random.Random(seed)
    items, bad = [], {}
    for index in range(count):
        if index % 20 == 7:
            item, field = synthetic.invalid(rng, index)
            bad[index] = field
        else:
            item = synthetic.proposal(rng, index)
        items.append(item)
    return items, bad


def test_mixed_batch_scores_every_valid_item_and_reports_every_invalid_one(
        url: str, engine: Engine) -> None:
    items, bad = mixed(5000, seed=1)

    response = submit(url, json.dumps(items).encode(), JSON)

    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    assert response.json()["total"] == 5000
    status, seen = finish(url, location)
    assert status["status"] == "done"
    assert (status["total"], status["done"], status["failed"], status["pending"]) == (
        5000, 4750, 250, 0)
    assert status["percent"] == 100.0 and status["started_at"] <= status["finished_at"]
    percents = [s["percent"] for s in seen]
    assert percents == sorted(percents)  # progress never goes back

    failures = get(url, f"{location}/failures", page_size=1000).json()
    assert failures["total"] == 250
    assert {f["index"]: f["errors"][0]["field"] for f in failures["items"]} == bad
    assert all(f["status"] == "invalid" and f["line"] == 1 for f in failures["items"])

    lines = download(url, location, "jsonl")
    scored = [line for line in lines if line["status"] == "done"]
    assert len(lines) == 5000 and len(scored) == 4750
    assert sorted(line["index"] for line in scored) == sorted(set(range(5000)) - set(bad))
    assert [line["rank"] for line in scored] == list(range(1, 4751))
    overall = [line["evaluation"]["overall_score"] for line in scored]
    assert overall == sorted(overall, reverse=True)
    for line in scored:  # every batch result is the single evaluation of its proposal
        assert line["evaluation"] == json.loads(json.dumps(engine.evaluate(items[line["index"]])))


def test_batch_results_equal_single_evaluations_over_http(url: str) -> None:
    items = [synthetic.proposal(random.Random(5), i) for i in range(40)]
    response = submit(url, jsonl(items), NDJSON, params={"explain": "full"})
    location = response.headers["Location"]
    finish(url, location)
    results = {line["index"]: line["evaluation"] for line in download(url, location, "jsonl")}

    def single(proposal: Any) -> Any:
        answer = requests.post(f"{url}/v1/evaluations", json=proposal, headers=AUTH,
                               params={"explain": "full"}, timeout=30)
        assert answer.status_code == 200, answer.text
        evaluation = answer.json()["evaluation"]
        # searched on the worker for a single evaluation only; a batch asks for its summary
        # (`counterfactuals=true`: next_band_gap and best_option)
        assert evaluation.pop("counterfactuals")["searched"]["single_field"] > 0
        return evaluation

    with ThreadPoolExecutor(8) as pool:
        singles = list(pool.map(single, items))
    assert [results[i] for i in range(len(items))] == singles


def test_csv_upload_as_a_multipart_file_round_trips_and_ranks(url: str, engine: Engine) -> None:
    rng = random.Random(2)
    items = [synthetic.proposal(rng, i) for i in range(300)]
    items[3]["title"] = "=HYPERLINK(\"http://example.invalid\")"  # a formula, to neutralize
    header = header_for(items)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(proposal_to_row(p, header) for p in items)

    response = requests.post(f"{url}/v1/batches", headers=AUTH, timeout=60, files={
        "file": ("programmes.csv", buffer.getvalue().encode(), "application/octet-stream")})

    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    assert finish(url, location)[0]["done"] == 300
    rows = download(url, location, "csv")
    assert [int(r["rank"]) for r in rows] == list(range(1, 301))
    assert [int(r["line"]) for r in sorted(rows, key=lambda r: int(r["index"]))] == list(
        range(2, 302))
    for row in rows:
        expected = engine.evaluate(items[int(row["index"])])
        assert float(row["overall_score"]) == expected["overall_score"]
        assert row["decision_id"] == expected["decision_id"]
        for criterion in expected["criteria"]:
            assert float(row[criterion["criterion"]]) == criterion["score"]
    formula = next(r for r in rows if r["index"] == "3")
    assert formula["title"] == "'" + items[3]["title"]


def test_jsonl_round_trip_sorted_by_a_criterion_in_pages(url: str) -> None:
    items = [synthetic.proposal(random.Random(3), i) for i in range(120)]
    location = submit(url, jsonl(items), NDJSON).headers["Location"]
    finish(url, location)

    pages = [get(url, f"{location}/results", sort="budget_fit", page=page, page_size=50).json()
             for page in (1, 2, 3)]
    assert [p["total"] for p in pages] == [120] * 3 and pages[0]["pages"] == 3
    ranked = [item for page in pages for item in page["items"]]
    assert [item["rank"] for item in ranked] == list(range(1, 121))
    keys = [(-item["scores"]["budget_fit"], item["index"]) for item in ranked]
    assert keys == sorted(keys)  # ties keep upload order
    ascending = get(url, f"{location}/results", sort="budget_fit", order="asc",
                    page_size=120).json()["items"]
    assert [i["index"] for i in ascending] == [i["index"] for i in reversed(ranked)]
    assert ascending[0]["rank"] == 120
    problem(get(url, f"{location}/results", sort="colour"), 422)


def test_a_retried_submission_with_the_same_idempotency_key_is_one_batch(url: str) -> None:
    body = jsonl([TOMAHAWK, ISOLATED_RADAR] * 10)
    key = {"Idempotency-Key": f"import-{time.time_ns()}"}

    first = submit(url, body, NDJSON, headers=key)
    again = submit(url, body, NDJSON, headers=key)
    other = submit(url, body + b"\n" + json.dumps(TOMAHAWK).encode(), NDJSON, headers=key)

    assert first.status_code == again.status_code == 202
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert problem(other, 422)["type"] == "/problems/idempotency-key-reused"
    fresh = submit(url, body, NDJSON, headers={"Idempotency-Key": f"other-{time.time_ns()}"})
    assert fresh.headers["Location"] != first.headers["Location"]


def test_cancel_stops_pending_chunks_while_single_evaluations_keep_flowing(url: str) -> None:
    items = [copy.deepcopy(TOMAHAWK if i % 2 else ISOLATED_RADAR) for i in range(MAX_ITEMS)]
    response = submit(url, jsonl(items), NDJSON, params={"explain": "full"})
    location = response.headers["Location"]

    # a single evaluation does not queue behind the batch's chunks
    started = time.monotonic()
    single = requests.post(f"{url}/v1/evaluations", json=TOMAHAWK, headers=AUTH, timeout=30)
    assert single.status_code == 200 and time.monotonic() - started < 5

    cancelled = requests.delete(urljoin(url, location), headers=AUTH, timeout=30)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancelled_at"]
    time.sleep(1.5)  # chunks in progress stop at their next checkpoint
    settled = get(url, location).json()
    time.sleep(1.0)
    later = get(url, location).json()
    assert later["status"] == "cancelled"
    assert later["done"] + later["failed"] == settled["done"] + settled["failed"] < MAX_ITEMS
    again = requests.delete(urljoin(url, location), headers=AUTH, timeout=30)
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    # what was scored before the cancel stays readable
    assert get(url, f"{location}/results").json()["total"] == later["done"]


def test_a_finished_batch_cannot_be_cancelled(url: str) -> None:
    location = submit(url, jsonl([TOMAHAWK]), NDJSON).headers["Location"]
    finish(url, location)
    body = problem(requests.delete(urljoin(url, location), headers=AUTH, timeout=30), 409)
    # the title and the detail say the same thing: finished, so nothing to cancel
    assert body["title"] == "Batch already finished"
    assert body["type"] == "/problems/batch-finished"
    assert body["detail"].startswith("The batch has already finished")


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(
        stack: tuple[str, LoggedProcess], engine: Engine) -> None:
    url, worker = stack
    items = [synthetic.proposal(random.Random(9), i) for i in range(4000)]
    location = submit(url, jsonl(items), NDJSON, params={"explain": "full"}).headers["Location"]
    deadline = time.monotonic() + 30
    while get(url, location).json()["done"] < 300 and time.monotonic() < deadline:
        time.sleep(0.02)
    children = subprocess.run(["pgrep", "-P", str(worker.process.pid)], capture_output=True,
                              text=True, check=False).stdout.split()
    assert children, "the worker has no pool processes"
    os.kill(int(children[0]), signal.SIGKILL)  # mid-chunk: acks_late gives its message back

    status, _ = finish(url, location, timeout=180)

    assert (status["status"], status["done"], status["failed"]) == ("done", 4000, 0)
    lines = download(url, location, "jsonl")
    assert sorted(line["index"] for line in lines) == list(range(4000))


@pytest.mark.parametrize(("body", "content_type", "status", "says"), [
    (b"<proposals/>", "application/xml", 415, "Send the batch as one of"),
    (b"", JSON, 400, "empty"),
    (b"", CSV, 400, "empty"),
    (b"title,fiscal_year\nA,2026\nB\n", CSV, 400, "line 3"),
    (b'title,fiscal_year\n"A,2026\n', CSV, 400, "not valid CSV"),
    (b"title,colour\nA,red\n", CSV, 400, "unknown column 'colour'"),
    (b"title,fiscal_year\n", CSV, 400, "no proposals"),
    (b'[{"title": "x"},', JSON, 400, "not closed"),
    (b'{"title": "x"}', JSON, 400, "expected a JSON array"),
    (b"{}\n" * (MAX_ITEMS + 1), NDJSON, 413, "More than 6,000 proposals"),
    (b"[" + b"{}," * (MAX_BYTES // 3) + b"{}]", JSON, 413, "larger than"),
], ids=["content-type", "empty-json", "empty-csv", "ragged-csv", "open-quote-csv",
        "unknown-column", "header-only", "unclosed-array", "not-an-array", "too-many-items",
        "too-many-bytes"])
def test_bad_uploads_are_refused_with_a_problem_and_store_nothing(
        url: str, body: bytes, content_type: str, status: int, says: str) -> None:
    found = problem(submit(url, body, content_type), status)
    assert says in found["detail"], found


def test_bad_multipart_uploads(url: str) -> None:
    no_file = requests.post(f"{url}/v1/batches", headers=AUTH, data={"note": "x"},
                            files={"other": ("", b"")}, timeout=30)
    assert problem(no_file, 400)["type"] == "/problems/invalid-upload"
    unknown = requests.post(f"{url}/v1/batches", headers=AUTH, timeout=30,
                            files={"file": ("list.txt", b"a,b\n", "text/plain")})
    problem(unknown, 415)
    empty = requests.post(f"{url}/v1/batches", headers=AUTH, timeout=30,
                          files={"file": ("list.csv", b"", "text/csv")})
    assert "empty" in problem(empty, 400)["detail"]


def test_unknown_batches_are_404(url: str) -> None:
    for path in ("/v1/batches/nope", "/v1/batches/nope/results", "/v1/batches/nope/portfolio"):
        problem(get(url, path), 404)


def test_portfolio_is_optimal_within_budget_with_a_reason_for_every_exclusion(url: str) -> None:
    rng = random.Random(11)
    items = [synthetic.proposal(rng, i) for i in range(14)] + [["not a proposal"]]
    location = submit(url, json.dumps(items).encode(), JSON).headers["Location"]
    finish(url, location)
    scored = [line for line in download(url, location, "jsonl") if line["status"] == "done"]
    costs = {line["index"]: line["evaluation"]["derived"]["total_cost_jpy"] for line in scored}
    budget = sum(costs.values()) / 3

    doc = get(url, f"{location}/portfolio", budget=budget).json()

    chosen = {entry["index"] for entry in doc["chosen"]}
    excluded = {entry["index"]: entry["reason"] for entry in doc["excluded"]}
    assert chosen.isdisjoint(excluded) and chosen | set(excluded) == set(range(15))
    assert excluded[14] == "invalid"
    assert sum(costs[i] for i in chosen) <= budget and doc["exact"]
    value = {line["index"]: line["evaluation"]["overall_score"] for line in scored}
    fundable = [i for i in value if not any(
        c["deficiencies"] for c in next(s for s in scored if s["index"] == i)["evaluation"][
            "criteria"])]
    best = max(sum(value[i] for i in subset) for subset in _subsets(fundable)
               if sum(costs[i] for i in subset) <= budget)
    assert doc["total_score"] == round(best, 2)
    for entry in doc["excluded"]:
        assert entry["detail"]
        if entry["reason"] == "deficiency":
            assert entry["index"] not in fundable
    envelopes = get(url, f"{location}/portfolio").json()
    assert envelopes["budget_basis"] == "capability_area_envelopes"
    for group in envelopes["groups"]:
        assert group["spent"] <= group["budget"]


def test_cli_against_the_service_writes_the_file_it_writes_locally(url: str,
                                                                   tmp_path: Path) -> None:
    items = [synthetic.proposal(random.Random(8), i) for i in range(250)]
    items[5]["title"] = "+cmd|' /C calc'!A0"  # neutralized alike on both sides
    source = tmp_path / "programmes.csv"
    header = header_for(items)
    with source.open("w", newline="") as out:
        csv.writer(out).writerows([header, *(proposal_to_row(p, header) for p in items)])
    local, remote = tmp_path / "local.csv", tmp_path / "remote.csv"

    assert main(["score", str(source), "-o", str(local), "--ruleset", str(MINI_RULESET),
                 "--workers", "2"]) == 0
    assert main(["score", str(source), "-o", str(remote), "--url", url, "--key",
                 KEYS["evaluator"], "--portfolio", "envelopes"]) == 0
    assert remote.read_bytes() == local.read_bytes()
    assert local.read_text().startswith("rank,index,line,status,proposal_id,title")


def _subsets(indexes: list[int]) -> Iterator[list[int]]:
    for mask in range(1 << len(indexes)):
        yield [i for bit, i in enumerate(indexes) if mask >> bit & 1]


def test_batch_items_reach_the_decision_log_with_their_whole_result(url: str,
                                                                    engine: Engine) -> None:
    """Batch items are logged as assessed and worded when the log is read: each entry's result
    is the single evaluation of its input, byte for byte, explanation included."""
    items = [synthetic.proposal(random.Random(21), i) for i in range(30)]
    response = submit(url, jsonl(items), NDJSON, params={"explain": "full"})
    assert response.status_code == 202, response.text
    batch_id = response.json()["id"]
    assert finish(url, response.headers["Location"])[0]["status"] == "done"

    logged, cursor = [], None
    while True:
        page = requests.get(f"{url}/v1/decisions", headers=bearer("admin"), timeout=60,
                            params={"caller": "evaluator", "limit": "1000",
                                    **({"cursor": cursor} if cursor else {})}).json()
        logged += [e for e in page["decisions"] if e.get("batch_id") == batch_id]
        if (cursor := page["next_cursor"]) is None:
            break
    assert sorted(e["evaluation_id"] for e in logged) == sorted(
        f"{batch_id}/{i}" for i in range(len(items)))
    for entry in logged:
        single = engine.evaluate(entry["input"], "full")
        assert json.dumps(entry["result"]) == json.dumps(single)
        assert entry["decision_id"] == single["decision_id"] == entry["result"]["decision_id"]
        assert "explain" not in entry


def _what_it_would_take(engine: Engine, item: dict[str, Any]) -> tuple[Any, str]:
    answer = counterfactuals(engine, item)
    gap = answer["next_band"]["gap"] if answer["next_band"] else None
    return gap, (answer["options"][0]["sentence"] if answer["options"] else answer["reason"])


def test_a_batch_with_counterfactuals_carries_each_gap_and_best_option(url: str,
                                                                      engine: Engine) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    items: list[Any] = [json.loads(p.read_text()) for p in sorted(examples.glob("*.json"))]
    items.append({"title": "broken"})
    response = submit(url, jsonl(items), NDJSON, params={"counterfactuals": "true"})
    assert response.status_code == 202, response.text
    status, _ = finish(url, response.headers["Location"])
    assert status["status"] == "done" and status["counterfactuals"] is True
    rows = download(url, response.headers["Location"], "csv")
    assert list(rows[0])[-2:] == ["next_band_gap", "best_option"]
    for row in rows:
        if row["status"] != "done":
            assert row["next_band_gap"] == row["best_option"] == ""
            continue
        gap, best = _what_it_would_take(engine, items[int(row["index"])])
        assert row["next_band_gap"] == ("" if gap is None else repr(gap))
        assert row["best_option"] == best
    for line in download(url, response.headers["Location"], "jsonl"):
        if line["status"] == "done":
            gap, best = _what_it_would_take(engine, items[line["index"]])
            assert (line["next_band_gap"], line["best_option"]) == (gap, best)


def test_a_batch_without_counterfactuals_keeps_its_columns(url: str) -> None:
    response = submit(url, jsonl([TOMAHAWK]), NDJSON)
    status, _ = finish(url, response.headers["Location"])
    assert status["counterfactuals"] is False
    [row] = download(url, response.headers["Location"], "csv")
    assert "next_band_gap" not in row and list(row)[-1] == "errors"
    [line] = download(url, response.headers["Location"], "jsonl")
    assert "next_band_gap" not in line
