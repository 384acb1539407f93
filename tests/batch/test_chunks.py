"""Scoring a chunk, and the chunk task's bookkeeping on the in-memory store: results equal the
single evaluation, invalid items are reported, redelivery is harmless, cancel stops work, and a
chunk that keeps failing still lets the batch finish."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from bench import synthetic
from bench.synthetic import header_for, proposal_to_row
from service.batch import intake, report
from service.batch.chunks import Chunk, Failed, Outcome, Scored, score_chunk, word
from service.batch.formats import RawItem
from service.batch.memory_store import MemoryBatchStore
from service.batch.processing import MAX_ATTEMPTS, process_chunk
from service.batch.settings import BatchSettings
from service.batch.store import ACTIVE, CANCELLED, DONE, RECEIVING, pack_proposal
from service.engine import Engine

from .conftest import SHIPPED


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_path(SHIPPED, mode="native")


def json_chunk(proposals: list[Any], explain: str = "summary") -> Chunk:
    return Chunk("json", explain,  # type: ignore[arg-type]
                 [RawItem(i, i + 1, p if isinstance(p, str) else json.dumps(p))
                  for i, p in enumerate(proposals)])


@pytest.mark.parametrize("explain", ["summary", "full"])
def test_results_equal_single_evaluations(engine: Engine, examples: list[dict[str, Any]],
                                          explain: str) -> None:
    outcomes = score_chunk(engine, json_chunk(examples, explain))

    assert all(isinstance(o, Scored) for o in outcomes)
    for example, outcome in zip(examples, outcomes, strict=True):
        assert isinstance(outcome, Scored)
        single = engine.evaluate(example, explain)  # type: ignore[arg-type]
        # as the store keeps it (the proposal) and the API words it when it is read
        stored = word(engine, explain, [pack_proposal(outcome.proposal)])  # type: ignore[arg-type]
        assert stored == [orjson.dumps(single)]
        assert engine.result(outcome.assessment) == single


def test_csv_rows_score_as_their_json_proposals(engine: Engine,
                                                examples: list[dict[str, Any]]) -> None:
    header = header_for(examples)
    chunk = Chunk("csv", "summary", [RawItem(i, i + 2, proposal_to_row(p, header))
                                     for i, p in enumerate(examples)], header)

    for example, outcome in zip(examples, score_chunk(engine, chunk), strict=True):
        assert isinstance(outcome, Scored)
        assert engine.result(outcome.assessment) == engine.evaluate(example)


def test_summaries_keep_what_cost_uncertainty_depends_on(engine: Engine,
                                                         examples: list[dict[str, Any]]) -> None:
    """The path (an FMS notification is a ceiling) and the currency the cost was stated in
    (a dollar cost moves with the rate), from JSON and CSV alike."""
    header = header_for(examples)
    chunks = (json_chunk(examples), Chunk("csv", "summary", [
        RawItem(i, i + 2, proposal_to_row(p, header)) for i, p in enumerate(examples)], header))
    for chunk in chunks:
        for example, outcome in zip(examples, score_chunk(engine, chunk), strict=True):
            assert isinstance(outcome, Scored)
            acquisition = example["acquisition"]
            stated = acquisition.get("total_cost") or acquisition["unit_cost"]
            assert (outcome.summary["acquisition_path"], outcome.summary["cost_currency"]) == (
                acquisition["path"], stated["currency"])
    assert {s["cost_currency"] for s in (o.summary for o in score_chunk(
        engine, json_chunk(examples)) if isinstance(o, Scored))} == {"USD", "JPY"}


def test_invalid_items_are_reported_and_the_rest_scored(engine: Engine,
                                                        examples: list[dict[str, Any]]) -> None:
    bad_quantity = copy.deepcopy(examples[0]) | {"id": "bad"}
    bad_quantity["acquisition"]["quantity"] = "12"
    outcomes = score_chunk(engine, json_chunk([examples[1], "{not json", [1, 2], bad_quantity,
                                               examples[2]]))

    assert [type(o).__name__ for o in outcomes] == ["Scored", "Failed", "Failed", "Failed",
                                                    "Scored"]
    failed = [o for o in outcomes if isinstance(o, Failed)]
    assert [(f.index, f.kind, f.errors[0]["field"]) for f in failed] == [
        (1, "invalid", "$"), (2, "invalid", "$"), (3, "invalid", "acquisition.quantity")]
    assert failed[2].proposal_id == "bad"


class _Flaky(Engine):
    """Fails on one proposal, as an evaluator disagreement would."""

    def assess(self, raw: Any, explain: Any = "summary", *, cross_check: bool = True) -> Any:
        if raw.get("id") == "boom":
            raise RuntimeError("evaluators disagree")
        return super().assess(raw, explain, cross_check=cross_check)


def test_an_engine_failure_costs_only_its_item(examples: list[dict[str, Any]]) -> None:
    flaky = _Flaky.from_path(SHIPPED, mode="native")
    outcomes = score_chunk(flaky, json_chunk([examples[0], examples[1] | {"id": "boom"},
                                              examples[2]]))

    assert [type(o).__name__ for o in outcomes] == ["Scored", "Failed", "Scored"]
    assert isinstance(outcomes[1], Failed) and outcomes[1].kind == "failed"


class Hooks:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.logged: list[str] = []

    def engine(self, version: str | None) -> Engine:
        return self._engine

    def log_decisions(self, batch_id: str, caller: str, engine: Engine, scored: list[Scored]
                      ) -> None:
        self.logged.extend(f"{batch_id}/{s.index}" for s in scored)

    def observe(self, ruleset_version: str, outcomes: list[Outcome]) -> None:
        return None


def make_batch(store: MemoryBatchStore, proposals: list[Any], chunk_size: int) -> str:
    store.create("b1", {"id": "b1", "state": RECEIVING, "ttl": "60", "format": "json",
                        "explain": "summary", "submitted_at": "now"}, 60)
    chunks = [json_chunk(proposals).items[i:i + chunk_size]
              for i in range(0, len(proposals), chunk_size)]
    store.put_chunks("b1", [(n, Chunk("json", "summary", items).encode())
                            for n, items in enumerate(chunks)], 60)
    store.finalize("b1", {"total": str(len(proposals)), "chunks": str(len(chunks))})
    return "b1"


def test_a_redelivered_chunk_neither_loses_nor_doubles(engine: Engine,
                                                       examples: list[dict[str, Any]]) -> None:
    store, hooks = MemoryBatchStore(), Hooks(engine)
    batch = make_batch(store, [*examples, "oops"], chunk_size=10)
    process_chunk(store, hooks, batch, 0)
    # a worker lost after recording chunk 0 gives the message back: chunk 0 runs again
    store.put_chunks(batch, [(0, Chunk("json", "summary",
                                       json_chunk([*examples, "oops"]).items[:10]).encode())], 60)
    assert process_chunk(store, hooks, batch, 0) == "scored 0 of 10"
    process_chunk(store, hooks, batch, 1)

    assert store.counts(batch) == (len(examples), 1)
    assert store.meta(batch)["state"] == DONE  # type: ignore[index]
    assert sorted(hooks.logged) == sorted(f"b1/{i}" for i in range(len(examples)))
    ranked = store.ranked(batch, "overall_score", 0, 100, False)
    assert sorted(ranked) == list(range(len(examples)))


def test_cancel_stops_chunks_not_started(engine: Engine, examples: list[dict[str, Any]]) -> None:
    store = MemoryBatchStore()
    batch = make_batch(store, examples, chunk_size=5)
    process_chunk(store, Hooks(engine), batch, 0)
    assert store.cancel(batch, "later") == CANCELLED

    assert process_chunk(store, Hooks(engine), batch, 1).startswith("skipped")
    assert store.counts(batch) == (5, 0)
    assert store.meta(batch)["state"] == CANCELLED  # type: ignore[index]


def test_a_chunk_that_keeps_failing_fails_its_items_so_the_batch_ends(
        engine: Engine, examples: list[dict[str, Any]]) -> None:
    store = MemoryBatchStore()
    batch = make_batch(store, examples[:3], chunk_size=3)
    for _ in range(MAX_ATTEMPTS):  # each start counts, as if the worker died mid-chunk
        store.begin_chunk(batch, 0, "now")

    process_chunk(store, Hooks(engine), batch, 0)

    assert store.counts(batch) == (0, 3)
    assert store.failures(batch, 0, 10)[0]["status"] == "failed"
    assert store.meta(batch)["state"] == DONE  # type: ignore[index]


def test_finishing_waits_for_the_upload_to_end(engine: Engine,
                                               examples: list[dict[str, Any]]) -> None:
    """Workers may finish every chunk while the upload is still being read."""
    store = MemoryBatchStore()
    store.create("b2", {"id": "b2", "state": RECEIVING, "ttl": "60"}, 60)
    store.put_chunks("b2", [(0, json_chunk(examples[:2]).encode())], 60)
    process_chunk(store, Hooks(engine), "b2", 0)
    assert store.meta("b2")["state"] == RECEIVING  # type: ignore[index]

    store.finalize("b2", {"total": "2"})
    assert store.meta("b2")["state"] == ACTIVE  # type: ignore[index]
    assert store.try_finish("b2", "end")
    assert store.meta("b2")["state"] == DONE  # type: ignore[index]


def test_each_queue_gets_only_its_own_messages() -> None:
    """Bare queue names would bind both queues to Celery's default exchange and key, so every
    message would reach both and run twice."""
    from service.config import Settings
    from service.worker.app import BATCH_QUEUE, celery_config
    from service.worker.tasks import SCORE_CHUNK as CHUNK_TASK

    config = celery_config(Settings())
    bindings = [(q.exchange.name, q.routing_key) for q in config["task_queues"]]
    assert len(set(bindings)) == len(bindings) == 2
    assert config["task_routes"][CHUNK_TASK] == {"queue": BATCH_QUEUE}


def test_batch_progress_reaches_metrics_until_the_batch_ends(
        engine: Engine, examples: list[dict[str, Any]]) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from service.observability import metrics

    store = MemoryBatchStore()
    batch = make_batch(store, [*examples, "oops"], chunk_size=10)
    process_chunk(store, Hooks(engine), batch, 0)
    assert [batch_id for batch_id, _ in store.unfinished()] == [batch]

    def progress() -> list[metrics.BatchProgress]:
        return [metrics.BatchProgress(int(meta["total"]), sum(store.counts(b)),
                                      store.counts(b)[1]) for b, meta in store.unfinished()]

    registry = CollectorRegistry()
    registry.register(metrics.BatchProgressCollector())
    metrics.set_batch_progress_source(progress)
    try:
        text = generate_latest(registry).decode()
        assert 'policy_eval_batch_progress_items{state="done"} 10.0' in text
        assert f'policy_eval_batch_progress_items{{state="total"}} {len(examples) + 1}.0' in text
        assert "b1" not in text  # no batch id: they are their owners' to know
        process_chunk(store, Hooks(engine), batch, 1)
        assert store.unfinished() == []
        assert 'policy_eval_batch_progress_items{state="total"} 0.0' in (
            generate_latest(registry).decode())
    finally:
        metrics.set_batch_progress_source(None)


def test_a_spreadsheet_scores_as_its_json_proposals(engine: Engine, tmp_path: Path,
                                                    examples: list[dict[str, Any]]) -> None:
    """Numbers typed into a spreadsheet are floats there (2350000000.0); they read as the
    integers the JSON proposals hold, so every result is the single evaluation's."""
    sheet = tmp_path / "examples.xlsx"
    synthetic.write(sheet, examples)

    with sheet.open("rb") as upload:
        chunks = list(intake.chunks("xlsx", "summary", upload, BatchSettings()))
    outcomes = [o for chunk in chunks for o in score_chunk(engine, chunk)]

    assert [o.line for o in outcomes] == list(range(2, len(examples) + 2))
    for example, outcome in zip(examples, outcomes, strict=True):
        assert isinstance(outcome, Scored)
        assert engine.result(outcome.assessment) == engine.evaluate(example)


def test_an_invalid_row_keeps_its_id_and_title(engine: Engine,
                                               examples: list[dict[str, Any]]) -> None:
    header = header_for(examples)
    row = proposal_to_row(examples[0], header)
    row[header.index("acquisition.quantity")] = "four hundred"
    missing_category = proposal_to_row(examples[1], header)
    missing_category[header.index("system.category")] = ""
    chunk = Chunk("csv", "summary", [RawItem(0, 2, row), RawItem(1, 3, missing_category)],
                  header)

    failures = [o.as_dict() for o in score_chunk(engine, chunk) if isinstance(o, Failed)]

    assert [(f["proposal_id"], f["title"], f["errors"][0]["field"]) for f in failures] == [
        (examples[0]["id"], examples[0]["title"], "acquisition.quantity"),
        (examples[1]["id"], examples[1]["title"], "system.category")]
    ranked = report.csv_bytes([report.csv_header([]),
                               *(report.failed_row(f, []) for f in failures)]).decode()
    rows = list(csv.DictReader(io.StringIO(ranked)))
    assert [(r["proposal_id"], r["title"]) for r in rows] == [
        (examples[0]["id"], examples[0]["title"]), (examples[1]["id"], examples[1]["title"])]
