"""The API's contracts, checked without servers: response schemas mirror the engine's result,
validation messages flatten to field paths, settings parse, Celery is configured for its
delivery guarantees (JSON only, acknowledged late, time limits, result expiry), and an
unexpected error is a problem without a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from flask import Flask

from schemas.errors import field_errors
from schemas.evaluation import EvaluationSchema
from service.api import close_app, create_app, permissions
from service.api.evaluations import preferences
from service.config import DEFAULT_RULESET, ConfigError, Settings
from service.engine import Engine, RulesetError
from service.worker.app import celery_config
from tests.keys import ADMIN, API_KEYS

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "mini" / "ruleset.yaml"
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


@pytest.mark.parametrize("explain", ["summary", "full"])
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_evaluation_schema_passes_the_engine_result_through_unchanged(
        example: Path, explain: Literal["summary", "full"]) -> None:
    """A key the engine adds and the schema lacks would vanish from the API: this catches it."""
    engine = Engine.from_path(DEFAULT_RULESET, mode="native")
    result = json.loads(json.dumps(engine.evaluate(json.loads(example.read_text()),
                                                   explain=explain)))  # as it crosses Redis
    assert EvaluationSchema().dump(result) == result


@pytest.mark.parametrize(("messages", "expected"), [
    ({"title": ["Missing data for required field."]},
     [("title", "Missing data for required field.")]),
    ({"acquisition": {"quantity": ["Not an integer."]}}, [("acquisition.quantity",
                                                          "Not an integer.")]),
    ({"capabilities": {"datalinks": {1: ["Must be one of: link16."]}}},
     [("capabilities.datalinks.1", "Must be one of: link16.")]),
    ({"acquisition": {"_schema": ["Invalid input type."]}}, [("acquisition",
                                                             "Invalid input type.")]),
    ({"_schema": ["Invalid input type."]}, [("$", "Invalid input type.")]),
    ({"a": ["one", "two"], "b": {"c": ["three"]}}, [("a", "one"), ("a", "two"),
                                                     ("b.c", "three")]),
])
def test_field_errors_name_each_field_by_its_path(messages: Any,
                                                  expected: list[tuple[str, str]]) -> None:
    assert [(e["field"], e["message"]) for e in field_errors(messages)] == expected


@pytest.mark.parametrize(("header", "expected"), [
    (None, (False, None)),
    ("respond-async", (True, None)),
    ("respond-async, wait=5", (True, 5.0)),
    ("wait=2.5", (False, 2.5)),
    ("Wait = 3", (False, 3.0)),
    ("return=minimal, wait=soon, handling=strict", (False, None)),  # ignored, as RFC 7240 asks
])
def test_prefer_header(header: str | None, expected: tuple[bool, float | None]) -> None:
    assert preferences(header) == expected


def test_settings_defaults_are_embedded_and_the_shipped_ruleset() -> None:
    settings = Settings.from_env({})

    assert settings.embedded and settings.redis_url is None
    assert settings.ruleset == DEFAULT_RULESET
    assert (settings.engine, settings.sync_timeout, settings.result_ttl) == ("durable", 10.0,
                                                                             86400)
    assert settings.soft_time_limit < settings.task_time_limit


def test_settings_from_env() -> None:
    settings = Settings.from_env({
        "REDIS_URL": "redis://cache:6379/2", "POLICY_RULESET": "rules/other.yaml",
        "POLICY_ENGINE": "NATIVE", "SYNC_TIMEOUT": "2.5", "RESULT_TTL": "60",
        "TASK_TIME_LIMIT": "5", "MAX_CONTENT_LENGTH": "1000",
    })

    assert settings.redis_url == "redis://cache:6379/2"
    assert settings.ruleset == Path("rules/other.yaml")
    assert (settings.engine, settings.sync_timeout, settings.result_ttl,
            settings.task_time_limit, settings.max_content_length) == ("native", 2.5, 60, 5.0,
                                                                       1000)
    assert Settings.from_env({"REDIS_URL": "  "}).embedded


@pytest.mark.parametrize(("env", "named"), [
    ({"SYNC_TIMEOUT": "ten"}, "SYNC_TIMEOUT"),
    ({"SYNC_TIMEOUT": "nan"}, "SYNC_TIMEOUT"),
    ({"RESULT_TTL": "1.5"}, "RESULT_TTL"),
    ({"TASK_TIME_LIMIT": "0"}, "TASK_TIME_LIMIT"),
    ({"MAX_CONTENT_LENGTH": "-1"}, "MAX_CONTENT_LENGTH"),
    ({"POLICY_ENGINE": "drools"}, "POLICY_ENGINE"),
])
def test_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


@pytest.mark.parametrize("redis_url", [None, "redis://127.0.0.1:6379/0"])
def test_celery_is_configured_for_safe_delivery(redis_url: str | None) -> None:
    config = celery_config(Settings(redis_url=redis_url, task_time_limit=20, result_ttl=600))

    assert (config["task_serializer"], config["result_serializer"]) == ("json", "json")
    assert config["accept_content"] == config["result_accept_content"] == ["json"]
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["task_time_limit"] == 20 and config["task_soft_time_limit"] < 20
    assert config["result_expires"] == 600
    if redis_url is None:
        assert config["broker_url"] == "memory://"
        assert config["broker_transport_options"]["polling_interval"] <= 0.001
    else:
        assert config["broker_url"] == redis_url
        assert config["result_backend"].endswith("+" + redis_url)


def test_a_missing_ruleset_stops_the_api_from_starting(tmp_path: Path) -> None:
    with pytest.raises((RulesetError, OSError)):
        create_app(Settings(api_keys=API_KEYS, redis_url="redis://127.0.0.1:1/0",
                            ruleset=tmp_path / "missing.yaml"))


@pytest.fixture
def app() -> Iterator[Flask]:
    # A Redis URL nobody listens on: no worker thread, and nothing here needs Redis.
    app = create_app(Settings(api_keys=API_KEYS, redis_url="redis://127.0.0.1:1/0", ruleset=MINI))
    yield app
    close_app(app)


def test_unexpected_error_is_500_problem_without_details(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> str:
        raise ZeroDivisionError("secret internals")

    app.add_url_rule("/broken", view_func=broken)
    monkeypatch.setitem(permissions.PERMISSIONS, ("GET", "/broken"), permissions.PUBLIC)
    response = app.test_client().get("/broken")

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert response.json is not None and response.json["title"] == "Internal Server Error"
    assert b"secret" not in response.data and b"ZeroDivisionError" not in response.data


def test_ruleset_description_comes_from_the_published_rules() -> None:
    embedded = create_app(Settings(redis_url=None, ruleset=MINI))
    try:
        active = embedded.test_client().get("/v1/rulesets/active").json
    finally:
        close_app(embedded)
    assert active is not None
    assert active["name"] == "mini" and active["engine"] == "durable"
    assert sum(c["weight"] for c in active["criteria"]) == pytest.approx(1.0)


def test_active_ruleset_without_its_store_is_503_not_a_guess(app: Flask) -> None:
    # the active version lives in Redis: describing the file instead could describe rules
    # that are not the ones in force
    response = app.test_client().get("/v1/rulesets/active", headers=ADMIN)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
