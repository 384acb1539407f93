"""What would it take, what if, and side by side, over HTTP against a real Celery worker:
counterfactuals computed on the worker and verified here by an engine of our own, what-if
edits with their diff, comparisons whose rule differences add up, ownership and bad edits."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from service.engine import Engine, load_ruleset
from tests.keys import OTHER_EVALUATOR, bearer

from .checks import PROBLEM
from .servers import MINI_RULESET, ROOT

pytestmark = pytest.mark.integration

OWNER, STRANGER = bearer("evaluator"), bearer(OTHER_EVALUATOR)
WEAK = sorted((ROOT / "examples").glob("weak-*.json"))


def post(url: str, body: Any, headers: dict[str, str] = OWNER) -> requests.Response:
    return requests.post(url, json=body, headers=headers, timeout=60)


def proposal(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def evaluate(stack: str, body: dict[str, Any], explain: str = "summary") -> dict[str, Any]:
    response = post(f"{stack}/v1/evaluations?explain={explain}", body)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def fired(result: dict[str, Any]) -> set[str]:
    return {f["rule_id"] for c in result["criteria"]
            for kind in ("strengths", "weaknesses", "deficiencies") for f in c[kind]}


def edited(base: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for change in changes:
        *parents, last = change["field"].split(".")
        node = result
        for part in parents:
            node = node.setdefault(part, {})
        if change["to"] is None:
            node.pop(last, None)
        else:
            node[last] = change["to"]
    return result


@pytest.fixture(scope="module")
def engine() -> Engine:
    """The stack's ruleset, as an engine of the test's own: to check what the worker claims."""
    return Engine(load_ruleset(MINI_RULESET), "native")


@pytest.mark.parametrize("path", WEAK, ids=[p.stem for p in WEAK])
def test_explain_full_answers_verified_counterfactuals(stack: str, engine: Engine,
                                                       path: Path) -> None:
    base = proposal(path)
    job = evaluate(stack, base, "full")
    answer = job["evaluation"]["counterfactuals"]
    assert set(answer) >= {"next_band", "options", "caps", "reason", "searched", "why_not"}
    assert answer["searched"]["single_field"] > 0
    for option in answer["options"] + [o for c in answer["caps"] for o in c["removed_by"]]:
        again = engine.evaluate(edited(base, option["changes"]))
        assert {k: again[k] for k in option["result"]} == option["result"], option
    stored = requests.get(f"{stack}/v1/evaluations/{job['id']}", headers=OWNER, timeout=30)
    assert stored.json()["evaluation"]["counterfactuals"] == answer


def test_a_summary_evaluation_has_no_counterfactuals(stack: str) -> None:
    job = evaluate(stack, proposal(WEAK[0]))
    assert "counterfactuals" not in job["evaluation"]


def test_what_if_answers_the_edited_evaluation_and_its_diff(stack: str) -> None:
    base = proposal(ROOT / "examples" / "weak-no-datalink.json")
    job = evaluate(stack, base)
    edits = {"set": {"capabilities.datalinks": ["link16", "satcom"],
                     "acquisition.quantity": 12},
             "unset": ["acquisition.delivery_start_year"]}
    response = post(f"{stack}/v1/evaluations/{job['id']}/what-if", edits)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["evaluation_id"] == job["id"]
    assert answer["before"] == job["evaluation"]
    fresh = evaluate(stack, edited(base, answer["changes"]))["evaluation"]
    assert answer["after"] == fresh
    assert {c["field"]: c["to"] for c in answer["changes"]} == {
        "capabilities.datalinks": ["link16", "satcom"], "acquisition.quantity": 12,
        "acquisition.delivery_start_year": None}
    diff = answer["diff"]
    assert diff["overall"] == {"before": job["evaluation"]["overall_score"],
                               "after": fresh["overall_score"],
                               "delta": pytest.approx(fresh["overall_score"]
                                                      - job["evaluation"]["overall_score"])}
    for row, old, new in zip(diff["criteria"], job["evaluation"]["criteria"], fresh["criteria"],
                             strict=True):
        assert (row["before"], row["after"]) == (old["score"], new["score"])
        assert row["delta"] == pytest.approx(new["score"] - old["score"])
    assert {r["rule_id"] for r in diff["rules_gained"]} == fired(fresh) - fired(job["evaluation"])
    assert {r["rule_id"] for r in diff["rules_lost"]} == fired(job["evaluation"]) - fired(fresh)
    assert diff["rating"]["changed"] == (fresh["rating"] != job["evaluation"]["rating"])


def test_an_empty_what_if_equals_the_original(stack: str) -> None:
    job = evaluate(stack, proposal(WEAK[1]), "full")
    for body in ({}, {"set": {}, "unset": []},
                 {"set": {"title": job["evaluation"]["title"]}}):
        answer = post(f"{stack}/v1/evaluations/{job['id']}/what-if", body).json()
        assert answer["changes"] == []
        assert answer["after"] == answer["before"] == job["evaluation"]
        diff = answer["diff"]
        assert diff["overall"]["delta"] == 0 and all(c["delta"] == 0 for c in diff["criteria"])
        assert diff["rules_gained"] == diff["rules_lost"] == []
        assert not diff["rating"]["changed"] and not diff["recommendation"]["changed"]


def test_another_callers_evaluation_is_not_found(stack: str) -> None:
    job = evaluate(stack, proposal(WEAK[0]))
    for url, body in ((f"{stack}/v1/evaluations/{job['id']}/what-if", {}),
                      (f"{stack}/v1/comparisons",
                       {"items": [{"evaluation_id": job["id"]}, {"proposal": proposal(WEAK[1])}]}),
                      (f"{stack}/v1/evaluations/no-such-id/what-if", {})):
        response = post(url, body, STRANGER)
        assert response.status_code == 404, response.text
        assert response.headers["Content-Type"].startswith(PROBLEM)


@pytest.mark.parametrize(("body", "field"), [
    ({"set": {"capabilities.datalinks": ["link99"]}}, "set.capabilities.datalinks"),
    ({"set": {"acquisition.quantity": "many"}}, "set.acquisition.quantity"),
    ({"set": {"acquisition.quantity": 0}}, "set.acquisition.quantity"),
    ({"set": {"system.unknown_field": 1}}, "set.system.unknown_field"),
    ({"set": {"title.words": "x"}}, "set.title.words"),
    ({"unset": ["title"]}, "unset.title"),
    ({"set": ["title"]}, "set"),
    ({"sett": {}}, "sett"),
])
def test_a_bad_edit_is_a_422_naming_it(stack: str, body: dict[str, Any], field: str) -> None:
    job = evaluate(stack, proposal(WEAK[0]))
    response = post(f"{stack}/v1/evaluations/{job['id']}/what-if", body)
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    assert field in {e["field"] for e in response.json()["errors"]}, response.json()


def test_a_what_if_body_must_be_json(stack: str) -> None:
    job = evaluate(stack, proposal(WEAK[0]))
    response = requests.post(f"{stack}/v1/evaluations/{job['id']}/what-if", data="set=x",
                             headers={**OWNER, "Content-Type": "text/plain"}, timeout=30)
    assert response.status_code == 415


def test_a_comparison_ranks_side_by_side_and_its_differences_add_up(stack: str) -> None:
    paths = [ROOT / "examples" / name for name in
             ("tomahawk-2023.json", "weak-no-partners.json", "f35-2020.json")]
    by_id = evaluate(stack, proposal(paths[0]))
    body = {"items": [{"evaluation_id": by_id["id"]},
                      *({"proposal": proposal(p)} for p in paths[1:])]}
    response = post(f"{stack}/v1/comparisons", body)
    assert response.status_code == 200, response.text
    answer = response.json()
    items = answer["items"]
    assert [i["evaluation_id"] for i in items] == [by_id["id"], None, None]
    scores = [i["overall_score"] for i in items]
    assert scores[0] == by_id["evaluation"]["overall_score"]
    for item in items:
        assert item["rank"] == 1 + sum(s > item["overall_score"] for s in scores)
        assert set(item["scores"]) == {c["criterion"] for c in answer["criteria"]}
    assert len(answer["pairs"]) == 3
    for pair in answer["pairs"]:
        a, b = items[pair["a"]], items[pair["b"]]
        assert pair["score_difference"] == pytest.approx(a["overall_score"] - b["overall_score"])
        total = sum(d["points"] for d in pair["differences"]) + pair["other"]
        assert total == pytest.approx(pair["score_difference"], abs=1e-6)


@pytest.mark.parametrize(("body", "field"), [
    ({"items": [{"proposal": proposal(WEAK[0])}]}, "items"),
    ({"items": [{"evaluation_id": "x"}] * 21}, "items"),
    ({"items": [{}, {"proposal": {}}]}, "items.0"),
    ({"items": [{"evaluation_id": "x"}, {"evaluation_id": "x", "proposal": proposal(WEAK[0])}]},
     "items.1"),
])
def test_a_bad_comparison_is_a_422_naming_the_field(stack: str, body: dict[str, Any],
                                                    field: str) -> None:
    response = post(f"{stack}/v1/comparisons", body)
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}, response.json()


def test_an_invalid_inline_proposal_is_named_by_its_place(stack: str) -> None:
    broken = {**proposal(WEAK[0]), "fiscal_year": "soon"}
    response = post(f"{stack}/v1/comparisons",
                    {"items": [{"proposal": proposal(WEAK[1])}, {"proposal": broken}]})
    assert response.status_code == 422
    assert "items.1.proposal.fiscal_year" in {e["field"] for e in response.json()["errors"]}
