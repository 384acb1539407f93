"""What would it take, what-if and comparisons through the API on the default ruleset
(2026.2.0): every option the service offers, applied as a what-if by the same API, answers the
result it claims and touches no fixed field; an empty what-if is the original with an all-zero
diff; a comparison's differences add up. (tests/integration/test_whatif.py proves the same over
real Redis and a worker on the small test ruleset.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.api import close_app, create_app
from service.config import DEFAULT_RULESET, Settings
from service.engine import load_ruleset
from tests.keys import API_KEYS, bearer

ROOT = Path(__file__).resolve().parents[2]
WEAK = sorted((ROOT / "examples").glob("weak-*.json"))
OWNER = bearer("evaluator")


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    app = create_app(Settings(redis_url=None, api_keys=API_KEYS))
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def evaluated(client: FlaskClient, path: Path, explain: str = "full") -> dict[str, Any]:
    response = client.post(f"/v1/evaluations?explain={explain}",
                           json=json.loads(path.read_text()), headers=OWNER)
    assert response.status_code == 200, response.json
    job: dict[str, Any] = response.json
    assert job["evaluation"]["ruleset"]["version"] == "2026.2.0"
    return job


def as_edits(changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"set": {c["field"]: c["to"] for c in changes if c["to"] is not None},
            "unset": [c["field"] for c in changes if c["to"] is None]}


@pytest.mark.parametrize("path", WEAK, ids=[p.stem for p in WEAK])
def test_every_option_applied_as_a_what_if_answers_what_it_claims(client: FlaskClient,
                                                                  path: Path) -> None:
    job = evaluated(client, path)
    answer = job["evaluation"]["counterfactuals"]
    fixed = load_ruleset(DEFAULT_RULESET).changeable.fixed
    offered = answer["options"] + [o for cap in answer["caps"] for o in cap["removed_by"]]
    assert offered or answer["reason"]
    for option in offered:
        assert not any(c["field"] == f or c["field"].startswith(f + ".")
                       for c in option["changes"] for f in fixed), option
        response = client.post(f"/v1/evaluations/{job['id']}/what-if",
                               json=as_edits(option["changes"]), headers=OWNER)
        assert response.status_code == 200, response.json
        after = response.json["after"]
        assert {k: after[k] for k in option["result"]} == option["result"], option["sentence"]
        assert response.json["diff"]["overall"]["after"] == option["result"]["overall_score"]


def test_an_empty_what_if_is_the_original(client: FlaskClient) -> None:
    job = evaluated(client, WEAK[0], "summary")
    response = client.post(f"/v1/evaluations/{job['id']}/what-if", json={}, headers=OWNER)
    assert response.status_code == 200, response.json
    answer = response.json
    assert answer["changes"] == [] and answer["after"] == answer["before"] == job["evaluation"]
    diff = answer["diff"]
    assert diff["overall"]["delta"] == 0 and all(c["delta"] == 0 for c in diff["criteria"])
    assert diff["rules_gained"] == diff["rules_lost"] == []


def test_a_comparison_adds_up(client: FlaskClient) -> None:
    paths = [*WEAK, ROOT / "examples" / "tomahawk-2023.json"]
    items = [{"proposal": json.loads(p.read_text())} for p in paths]
    response = client.post("/v1/comparisons", json={"items": items}, headers=OWNER)
    assert response.status_code == 200, response.json
    answer = response.json
    assert answer["ruleset"]["version"] == "2026.2.0"
    scores = [item["overall_score"] for item in answer["items"]]
    assert [item["rank"] for item in answer["items"]] == [
        1 + sum(other > s for other in scores) for s in scores]
    assert len(answer["pairs"]) == len(paths) * (len(paths) - 1) // 2
    for pair in answer["pairs"]:
        assert pair["score_difference"] == round(scores[pair["a"]] - scores[pair["b"]], 2)
        total = sum(d["points"] for d in pair["differences"]) + pair["other"]
        assert abs(total - pair["score_difference"]) < 1e-6
