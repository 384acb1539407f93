"""Embedded mode (no REDIS_URL): the worker runs in a thread of the server process, on Celery's
in-memory transport, through the same task code as the Redis deployment."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from service.engine import Engine, counterfactuals

from .checks import assert_points_add_up, http, poll
from .proposals import ISOLATED_RADAR, TOMAHAWK
from .servers import MINI_RULESET

pytestmark = pytest.mark.integration


def evaluate(url: str, proposal: Any, explain: str = "summary") -> requests.Response:
    return http.post(f"{url}/v1/evaluations", json=proposal, params={"explain": explain},
                         timeout=30)


@pytest.mark.parametrize("proposal", [TOMAHAWK, ISOLATED_RADAR], ids=["tomahawk", "radar"])
def test_embedded_answers_what_the_engine_computes(embedded_url: str,
                                                   proposal: dict[str, object]) -> None:
    response = evaluate(embedded_url, proposal, "full")

    assert response.status_code == 200, response.text
    evaluation = response.json()["evaluation"]
    assert_points_add_up(evaluation)
    engine = Engine.from_path(MINI_RULESET, mode="native")
    library = engine.evaluate(proposal, explain="full")
    searched = evaluation.pop("counterfactuals")  # the worker's, beside the engine's result
    assert evaluation == json.loads(json.dumps(library))
    again = counterfactuals(engine, proposal)
    assert searched["searched"].pop("ms") >= 0 and again["searched"].pop("ms") >= 0
    assert searched == json.loads(json.dumps(again))


def test_embedded_async_path(embedded_url: str) -> None:
    response = http.post(f"{embedded_url}/v1/evaluations", json=TOMAHAWK,
                             headers={"Prefer": "respond-async"}, timeout=30)

    assert response.status_code == 202
    done = poll(urljoin(embedded_url, response.headers["Location"]))
    assert done.status_code == 200
    assert done.json()["evaluation"]["rating"] == "outstanding"


def test_embedded_health(embedded_url: str) -> None:
    health = http.get(f"{embedded_url}/healthz", timeout=10).json()

    assert health["status"] == "ok"
    assert health["broker"]["kind"] == "embedded"
    assert health["broker"]["reachable"] is True


@pytest.mark.parametrize("explain", ["summary", "full"])
def test_embedded_and_redis_give_byte_identical_evaluations(embedded_url: str, stack: str,
                                                            explain: str) -> None:
    embedded = evaluate(embedded_url, TOMAHAWK, explain)
    redis_backed = evaluate(stack, TOMAHAWK, explain)

    assert embedded.status_code == redis_backed.status_code == 200

    def evaluation_bytes(response: requests.Response) -> bytes:
        # the "evaluation" member exactly as the server wrote it, but for how long the
        # counterfactual search took (explain=full)
        text = response.content.decode()
        start = text.index('"evaluation":')
        return re.sub(r'"ms":[0-9.]+', '"ms":…', text[start:]).encode()

    assert evaluation_bytes(embedded) == evaluation_bytes(redis_backed)
