"""The shipped examples against the shipped ruleset, over HTTP, as the README's first command
serves them (embedded mode, default ruleset): what a new user sees first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from service.api import close_app, create_app
from service.config import DEFAULT_RULESET, Settings

from .checks import assert_points_add_up, http
from .servers import ROOT, ThreadedServer

pytestmark = pytest.mark.integration

EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


@pytest.fixture(scope="module")
def default_url() -> Iterator[str]:
    app = create_app(Settings(redis_url=None))
    server = ThreadedServer(app)
    yield server.url
    server.stop()
    close_app(app)


def test_there_are_examples_to_serve() -> None:
    assert DEFAULT_RULESET.exists()
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_gets_a_scored_explained_recommendation(default_url: str, path: Path) -> None:
    response = http.post(f"{default_url}/v1/evaluations", data=path.read_bytes(),
                             headers={"Content-Type": "application/json"}, timeout=30)

    assert response.status_code == 200, response.text
    evaluation = response.json()["evaluation"]
    criteria = yaml.safe_load(DEFAULT_RULESET.read_text())["criteria"]
    assert [c["criterion"] for c in evaluation["criteria"]] == list(criteria)
    assert len(evaluation["criteria"]) == 4
    assert evaluation["rating"] and evaluation["recommendation"]
    assert any(c["strengths"] or c["weaknesses"] or c["deficiencies"]
               for c in evaluation["criteria"])
    assert_points_add_up(evaluation)


def test_weak_examples_are_not_recommended(default_url: str) -> None:
    """The deliberately weak examples, but the domestic drone that no partner operates: under
    the default ruleset (2026.2.0) lacking foreign operators is no weakness for a domestic
    programme, so it is recommended, with nothing held against it for its partners."""
    weak = [p for p in EXAMPLES if p.stem.startswith("weak-")]
    assert len(weak) == 4
    for path in weak:
        evaluation = http.post(f"{default_url}/v1/evaluations",
                                   json=json.loads(path.read_text()), timeout=30).json()
        if path.stem == "weak-no-partners":
            assert evaluation["evaluation"]["recommendation"] == "recommend"
            [partners] = [c for c in evaluation["evaluation"]["criteria"]
                          if c["criterion"] == "partner_coverage"]
            assert not partners["weaknesses"] and not partners["deficiencies"]
        else:
            assert evaluation["evaluation"]["recommendation"] != "recommend", path.name
