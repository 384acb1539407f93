"""Observability without servers: log records and their ids, request ids, metric files shared by
processes and summed by a scrape, scrape-time collectors, and readiness decisions.

The real-process versions (gunicorn, a Celery worker, Redis) are in
tests/integration/test_observability.py.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from flask import Flask

from service.api import close_app, create_app
from service.config import ConfigError, Settings
from service.observability import logs, metrics, multiproc, settings
from service.observability.http import accepted_request_id
from service.observability.readiness import Readiness
from service.worker.app import celery_config
from tests.unit.conftest import MINI, ROOT, load_json

TOMAHAWK = load_json(ROOT / "examples" / "tomahawk-2023.json")


def record(message: str = "hello", **extra: Any) -> logging.LogRecord:
    found = logging.LogRecord("service.test", logging.INFO, __file__, 1, message, None, None)
    found.__dict__.update(extra)
    return found


def formatted(log_format: settings.LogFormat, item: logging.LogRecord) -> str:
    handler = logs.handler(log_format)
    for check in handler.filters:
        assert not isinstance(check, logging.Filter) or check.filter(item)
    return handler.format(item)


# --- logs ---------------------------------------------------------------------------------------


def test_json_lines_carry_the_context_ids() -> None:
    request_token = logs.request_id.set("req-1")
    decision_token = logs.decision_id.set("dec_1")
    try:
        line = json.loads(formatted("json", record("evaluated", rating="good")))
    finally:
        logs.request_id.reset(request_token)
        logs.decision_id.reset(decision_token)
    assert line["message"] == "evaluated" and line["level"] == "INFO"
    assert line["logger"] == "service.test" and line["pid"] == os.getpid()
    assert line["time"].endswith("+00:00")
    assert (line["request_id"], line["decision_id"], line["rating"]) == ("req-1", "dec_1", "good")
    assert "task_id" not in line  # unset ids are left out, not null


def test_json_lines_leave_out_celerys_data_field() -> None:
    """Celery attaches the task's arguments (a whole proposal) to its records as ``data``."""
    line = json.loads(formatted("json", record("Task received", data={"args": "secret"})))
    assert "data" not in line and "secret" not in json.dumps(line)


def test_an_id_the_record_brings_is_kept() -> None:
    token = logs.task_id.set("from-context")
    try:
        line = json.loads(formatted("json", record(task_id="explicit")))
    finally:
        logs.task_id.reset(token)
    assert line["task_id"] == "explicit"


def test_text_lines_put_the_ids_before_a_traceback() -> None:
    token = logs.request_id.set("req-2")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            item = record("failed")
            item.exc_info = sys.exc_info()
        text = formatted("text", item)
    finally:
        logs.request_id.reset(token)
    first = text.splitlines()[0]
    assert first.endswith("service.test: failed [request_id=req-2]"), first
    assert "Traceback" in text and "ValueError: boom" in text


@pytest.mark.parametrize("forged", ["id\n2026-11-30T00:00:00.000+00:00 INFO [1] auth: ok",
                                    "id\r\nX", "id\u2028X", "id\x1b[2Jcleared", "id\u202eX"])
def test_a_text_line_stays_one_line_whatever_a_client_sent(forged: str) -> None:
    """An id or a path with a line break used to start a forged line of its own."""
    token = logs.request_id.set(forged)
    try:
        text = formatted("text", record(f"GET /v1/evaluations/{forged} 404"))
    finally:
        logs.request_id.reset(token)
    assert len(text.splitlines()) == 1 and "\x1b" not in text and "\u202e" not in text
    assert text.count("\\") >= 2  # each shown as its escape, in the message and the id


@pytest.mark.parametrize(("env", "expected"), [
    ({}, ("json", logging.INFO)),
    ({"LOG_FORMAT": "TEXT", "LOG_LEVEL": "debug"}, ("text", logging.DEBUG)),
])
def test_log_settings(env: dict[str, str], expected: tuple[str, int]) -> None:
    assert (settings.log_format("json", env), settings.log_level("INFO", env)) == expected


@pytest.mark.parametrize("env", [{"LOG_FORMAT": "xml"}, {"LOG_LEVEL": "loud"}])
def test_bad_log_settings_name_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=next(iter(env))):
        settings.log_format("json", env)
        settings.log_level("INFO", env)


def test_gunicorn_gets_the_same_handler() -> None:
    config = logs.dict_config("json")
    assert config["root"]["handlers"] == [logs.HANDLER_NAME]
    assert config["loggers"]["gunicorn.error"]["propagate"] is True
    formatter = config["formatters"]["policy-eval"]["()"]()
    assert isinstance(formatter, logs.JsonLogFormatter)


# --- request ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "kept"), [
    ("req-42", True), ("3f2a9c1e-aaaa-bbbb-cccc-0123456789ab", True), ("a" * 128, True),
    ("a" * 129, False), ("two words", False), ('quote"d', False), ("new\nline", False),
    ("", False),
])
def test_a_client_request_id_is_kept_only_when_safe(header: str, kept: bool) -> None:
    assert accepted_request_id(header) == (header if kept else None)


@pytest.fixture(scope="module")
def embedded() -> Iterator[Flask]:
    app = create_app(Settings(redis_url=None, ruleset=MINI))
    yield app
    close_app(app)


def test_request_id_is_echoed_or_made_up(embedded: Flask) -> None:
    client = embedded.test_client()
    assert client.get("/healthz", headers={"X-Request-ID": "req-7"}).headers[
        "X-Request-ID"] == "req-7"
    made_up = client.get("/healthz", headers={"X-Request-ID": "no good"}).headers["X-Request-ID"]
    assert made_up != "no good" and accepted_request_id(made_up) == made_up
    assert client.get("/nowhere").headers["X-Request-ID"]  # on errors too


def test_the_embedded_worker_logs_the_request_and_decision_ids(embedded: Flask) -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, item: logging.LogRecord) -> None:
            seen.append(item)

    keep = Keep()
    keep.addFilter(logs.ContextFilter())  # as the configured handler has
    worker_log = logging.getLogger("service.worker.evaluations")
    worker_log.addHandler(keep)
    worker_log.setLevel(logging.INFO)

    def lines() -> list[logging.LogRecord]:
        return [r for r in seen if getattr(r, "request_id", None) == "req-embedded"]

    try:
        response = embedded.test_client().post("/v1/evaluations", json=TOMAHAWK,
                                               headers={"X-Request-ID": "req-embedded"})
        # the worker logs after storing the result, so possibly after the answer
        eventually(lambda: bool(lines()))
    finally:
        worker_log.removeHandler(keep)
    assert response.status_code == 200, response.json
    [line] = lines()
    assert line.decision_id == response.json["evaluation"]["decision_id"]  # type: ignore[attr-defined]
    assert line.task_id == response.json["id"]  # type: ignore[attr-defined]


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.01)


def _samples(text: str, name: str) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith(name)}


def test_metrics_count_requests_by_route_and_evaluations_by_rating(embedded: Flask) -> None:
    client = embedded.test_client()
    before = client.get("/metrics").text
    client.post("/v1/evaluations", json=TOMAHAWK)
    client.get("/v1/evaluations/not-an-id")
    client.get("/nowhere")
    evaluated = ('policy_eval_evaluations_total{outcome="done",rating="good",'
                 'ruleset_version="1.0.0"}')
    text = ""

    def delta(sample: str) -> float:
        return _samples(text, sample).get(sample, 0.0) - _samples(before, sample).get(sample, 0.0)

    def counted() -> bool:
        nonlocal text
        after = client.get("/metrics")
        assert after.headers["Content-Type"].startswith("text/plain")
        text = after.text
        # the worker counts after storing the result, so possibly after the answer
        return delta(evaluated) == 1

    eventually(counted)

    duration = "policy_eval_http_request_duration_seconds_count"
    assert delta(f'{duration}{{method="POST",route="/v1/evaluations",status="200"}}') == 1
    assert delta(f'{duration}{{method="GET",route="/v1/evaluations/<string:evaluation_id>",'
                 'status="404"}') == 1
    assert delta(f'{duration}{{method="GET",route="<unmatched>",status="404"}}') == 1
    assert delta('policy_eval_task_duration_seconds_count{state="SUCCESS",'
                 'task="policy.evaluate"}') == 1
    assert 'policy_eval_queue_depth{queue="policy-evaluations",transport="memory"} 0.0' in text


def test_openmetrics_when_asked(embedded: Flask) -> None:
    response = embedded.test_client().get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


def test_readyz_embedded_is_the_worker_thread(embedded: Flask) -> None:
    body = embedded.test_client().get("/readyz").json
    assert body == {"status": "ready", "checks": [
        {"name": "worker", "ok": True, "detail": "in-process worker thread running"}]}


# --- batch progress -----------------------------------------------------------------------------


def test_batch_progress_comes_from_the_registered_source_summed_without_ids() -> None:
    metrics.set_batch_progress_source(lambda: [
        metrics.BatchProgress(total=10, done=4, failed=1),
        metrics.BatchProgress(total=5, done=5, failed=0)])
    try:
        families = {f.name: f for f in metrics.BatchProgressCollector().collect()}
    finally:
        metrics.set_batch_progress_source(None)
    assert [s.value for s in families["policy_eval_batches_in_progress"].samples] == [2]
    samples = families["policy_eval_batch_progress_items"].samples
    assert {s.labels["state"]: s.value for s in samples} == {
        "total": 15, "done": 9, "failed": 1, "pending": 6}
    assert all(set(s.labels) == {"state"} for s in samples)


def test_a_failing_batch_source_does_not_fail_the_scrape() -> None:
    def broken() -> list[metrics.BatchProgress]:
        raise redis.ConnectionError("gone")

    metrics.set_batch_progress_source(broken)
    try:
        assert list(metrics.BatchProgressCollector().collect()) == []
    finally:
        metrics.set_batch_progress_source(None)


def test_queue_depth_reports_an_unreachable_broker() -> None:
    celery = SimpleNamespace(conf=SimpleNamespace(task_queues=None,
                                                  task_default_queue="policy-evaluations"))
    collector = metrics.QueueDepthCollector(celery, "redis://127.0.0.1:1/0")  # type: ignore[arg-type]
    families = {f.name: f for f in collector.collect()}
    assert "policy_eval_queue_depth" not in families
    assert [s.value for s in families["policy_eval_broker_reachable"].samples] == [0]


# --- files shared between processes -------------------------------------------------------------


def test_metric_files_are_named_by_host_and_pid() -> None:
    assert multiproc.identity(123) == f"{multiproc.host()}-123"
    assert "_" not in multiproc.host()


def test_only_this_hosts_stopped_processes_are_folded(tmp_path: Path) -> None:
    stopped = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                             capture_output=True, text=True, check=True)
    dead = int(stopped.stdout)
    files = {
        "dead": tmp_path / f"counter_{multiproc.identity(dead)}.db",
        "dead_gauge": tmp_path / f"gauge_livesum_{multiproc.identity(dead)}.db",
        "alive": tmp_path / f"histogram_{multiproc.identity(os.getpid())}.db",
        "other_host": tmp_path / f"counter_elsewhere-{dead}.db",
        "plain_pid": tmp_path / f"counter_{dead}.db",
        "archive": tmp_path / f"counter_{multiproc.host()}-archive.db",
    }
    for file in files.values():
        file.write_bytes(b"")
    assert multiproc.stopped_files(tmp_path) == sorted([files["dead"], files["dead_gauge"]])


def test_an_exited_process_loses_its_live_gauges_only(tmp_path: Path) -> None:
    me = multiproc.identity(4242)
    for name in (f"gauge_livesum_{me}.db", f"gauge_all_{me}.db", f"counter_{me}.db"):
        (tmp_path / name).write_bytes(b"")
    multiproc.process_exited(4242, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"counter_{me}.db",
                                                          f"gauge_all_{me}.db"]


SCRIPT = textwrap.dedent("""
    import multiprocessing, sys
    from service.observability import metrics, multiproc

    def count(n):
        for _ in range(n):
            metrics.observe_evaluation({"rating": "good", "ruleset": {"version": "9.9.9"}})
        metrics.observe_request("GET", "/x", 200, 0.02)

    if __name__ == "__main__":
        multiprocessing.set_start_method("fork")
        workers = [multiprocessing.Process(target=count, args=(n,)) for n in (3, 4, 5)]
        for w in workers: w.start()
        for w in workers: w.join()
        body, _ = metrics.exposition(None)
        sys.stdout.write(body.decode())
        if sys.argv[1:] == ["fold"]:
            sys.stderr.write(f"folded {len(multiproc.compact())}\\n")
            body, _ = metrics.exposition(None)
            sys.stdout.write("=== folded\\n" + body.decode())
""")


def test_a_scrape_sums_the_counts_of_every_process(tmp_path: Path) -> None:
    """Three forked processes count; the parent, which counted nothing, serves the sum."""
    directory = tmp_path / "metrics"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert ('policy_eval_evaluations_total{outcome="done",rating="good",'
            'ruleset_version="9.9.9"} 12.0') in done.stdout
    assert ('policy_eval_http_request_duration_seconds_count{method="GET",route="/x",'
            'status="200"} 3.0') in done.stdout
    host = multiproc.host()
    names = sorted(p.name for p in directory.glob("*.db"))
    assert len(names) == 6 and all(n.split("_", 1)[1].startswith(f"{host}-") for n in names)


def _values(exposition: str) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in exposition.splitlines() if not line.startswith("#")}


def test_folding_stopped_processes_keeps_every_count(tmp_path: Path) -> None:
    """Twice: three processes count and exit, then their files are folded into the host's
    archive; the totals never go down and only the archives remain."""
    directory = tmp_path / "metrics"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    totals = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", SCRIPT, "fold"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        before, after = done.stdout.split("=== folded\n")
        assert _values(before) == pytest.approx(_values(after))
        assert "folded 6" in done.stderr
        totals.append(after)
    host = multiproc.host()
    assert sorted(p.name for p in directory.glob("*.db")) == [
        f"counter_{host}-archive.db", f"histogram_{host}-archive.db"]
    assert ('policy_eval_evaluations_total{outcome="done",rating="good",'
            'ruleset_version="9.9.9"} 24.0') in totals[1]
    assert ('policy_eval_http_request_duration_seconds_bucket{le="0.025",method="GET",'
            'route="/x",status="200"} 6.0') in totals[1]
    assert ('policy_eval_http_request_duration_seconds_count{method="GET",route="/x",'
            'status="200"} 6.0') in totals[1]


# --- readiness ----------------------------------------------------------------------------------


class FakeLedger:
    def __init__(self, up: bool) -> None:
        self.up = up

    def ping(self) -> None:
        if not self.up:
            raise redis.ConnectionError("refused")


class FakeControl:
    def __init__(self, replies: list[dict[str, Any]]) -> None:
        self.replies = replies
        self.calls = 0

    def ping(self, timeout: float, limit: int) -> list[dict[str, Any]]:
        self.calls += 1
        return self.replies


class FakeRuntime:
    """What readiness probes, with separate worker processes."""

    def __init__(self, redis_up: bool, replies: list[dict[str, Any]]) -> None:
        self.ledger = FakeLedger(redis_up)
        self.control = FakeControl(replies)

    def embedded_worker_alive(self) -> bool | None:
        return None

    def ping_redis(self) -> None:
        self.ledger.ping()

    def ping_workers(self, timeout: float) -> list[str]:
        return sorted(name for reply in self.control.ping(timeout, limit=1) for name in reply)


def runtime(redis_up: bool, replies: list[dict[str, Any]]) -> Any:
    return FakeRuntime(redis_up, replies)


def test_ready_with_redis_and_a_worker() -> None:
    report = Readiness(runtime(True, [{"w1@host": {"ok": "pong"}}])).check()
    assert report.ready
    assert [c.name for c in report.checks] == ["redis", "workers"]
    assert report.checks[1].detail.startswith("w1@host answered")


def test_not_ready_without_a_worker() -> None:
    report = Readiness(runtime(True, []), ping_timeout=0.5).check()
    assert not report.ready
    assert report.failures() == "workers: no worker answered a ping within 0.5 s"


def test_not_ready_without_redis_and_no_ping_sent() -> None:
    fake = runtime(False, [{"w1@host": {"ok": "pong"}}])
    report = Readiness(fake).check()
    assert [c.ok for c in report.checks] == [False, False]
    assert fake.control.calls == 0


def test_readiness_is_cached_briefly() -> None:
    fake = runtime(True, [{"w1@host": {"ok": "pong"}}])
    checker = Readiness(fake, cache_seconds=60)
    checker.check()
    checker.check()
    assert fake.control.calls == 1


# --- settings -----------------------------------------------------------------------------------


def test_worker_concurrency_reaches_celery() -> None:
    assert "worker_concurrency" not in celery_config(Settings.from_env({}))
    settings_ = Settings.from_env({"WORKER_CONCURRENCY": "3"})
    assert celery_config(settings_)["worker_concurrency"] == 3
    with pytest.raises(ConfigError, match="WORKER_CONCURRENCY"):
        Settings.from_env({"WORKER_CONCURRENCY": "-1"})
