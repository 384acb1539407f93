"""What would it take: every option is re-evaluated independently and reaches exactly what it
claims, never touches a fixed field or leaves the declared ranges, and the single-field search
is as small as brute force over every value a field may take on small random rulesets. The
properties hold on both shipped versions (2026.1.0 and the default 2026.2.0); the answers with
exact numbers are 2026.1.0's, whose file the tests pin."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.synthetic import batch
from schemas.counterfactuals import CounterfactualsSchema
from schemas.vocabulary import RECOMMENDATIONS
from schemas.whatif import ComparisonSchema, WhatIfDiffSchema
from service.engine import (
    Engine,
    Ruleset,
    comparison,
    counterfactuals,
    load_ruleset,
    parse_ruleset,
    what_if_diff,
)
from service.engine.evaluation.engine import ProposalInvalid
from service.engine.language.catalog import field_catalog
from tests.unit.conftest import ROOT, VERSIONS, load_json, shipped
from tests.unit.test_agreement import random_ruleset

EXAMPLES = sorted((ROOT / "examples").glob("*.json")) + sorted(
    (ROOT / "examples" / "portfolio").glob("*.json"))
GENERATED = 500
ABSENT = object()


def edited(proposal: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any]:
    """The proposal with the JSON changes made, written here apart from the engine's."""
    result = copy.deepcopy(proposal)
    for change in changes:
        *parents, last = change["field"].split(".")
        node = result
        for part in parents:
            node = node.setdefault(part, {})
        if change["to"] is None:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(change["to"])
    return result


def value_at(proposal: dict[str, Any], path: str) -> Any:
    node: Any = proposal
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return ABSENT
        node = node[part]
    return node


def fired(result: dict[str, Any]) -> set[str]:
    return {f["rule_id"] for c in result["criteria"]
            for kind in ("strengths", "weaknesses", "deficiencies") for f in c[kind]}


def given(result: dict[str, Any]) -> dict[str, float]:
    """The points each fired rule gives."""
    return {f["rule_id"]: f["points"] for c in result["criteria"]
            for kind in ("strengths", "weaknesses", "deficiencies") for f in c[kind]}


def caps(ruleset: Ruleset, result: dict[str, Any]) -> set[str]:
    return {r.id for r in ruleset.rules if r.deficiency} & fired(result)


def rank(recommendation: str) -> int:
    return RECOMMENDATIONS.index(recommendation)


def check_option(engine: Engine, proposal: dict[str, Any], before: dict[str, Any],
                 option: dict[str, Any]) -> dict[str, Any]:
    """Re-evaluate ``option`` from scratch and hold it to its claims and to the declaration."""
    after = engine.evaluate(edited(proposal, option["changes"]))
    claimed = option["result"]
    assert (after["overall_score"], after["rating"], after["recommendation"],
            after["capped_by"]) == (claimed["overall_score"], claimed["rating"],
                                     claimed["recommendation"], claimed["capped_by"])
    assert option["caps_remaining"] == after["capped_by"]
    assert option["rules_gained"] == sorted(fired(after) - fired(before))
    assert option["rules_lost"] == sorted(fired(before) - fired(after))
    assert rank(after["recommendation"]) <= rank(before["recommendation"])
    declared = engine.ruleset.changeable
    for change in option["changes"]:
        path = change["field"]
        assert not any(path == f or path.startswith(f + ".") or f.startswith(path + ".")
                       for f in declared.fixed), path
        assert value_at(proposal, path) == (ABSENT if change["from"] is None
                                            else change["from"])
        for number_path, allowed in declared.numbers.items():
            to = change["to"]
            value = (value_at({"x": to}, "x" + number_path.removeprefix(path))
                     if number_path.startswith(path) and isinstance(to, dict) else
                     to if number_path == path else ABSENT)
            if isinstance(value, (int, float)):
                assert allowed.low <= value <= allowed.high, (path, value)
                steps = (value - allowed.low) / allowed.step
                assert abs(steps - round(steps)) < 1e-6, (path, value)
        if path in declared.lists and isinstance(change["to"], list):
            added = set(change["to"]) - set(change["from"] or [])
            assert added <= set(declared.lists[path]), (path, added)
    return after


def check_answer(engine: Engine, proposal: dict[str, Any]) -> dict[str, Any]:
    before = engine.evaluate(proposal)
    answer = counterfactuals(engine, proposal)
    band = answer["next_band"]
    for option in answer["options"]:
        after = check_option(engine, proposal, before, option)
        assert ((band is not None and after["overall_score"] >= band["min_score"])
                or rank(after["recommendation"]) < rank(before["recommendation"])
                or caps(engine.ruleset, before) - caps(engine.ruleset, after)), option
    for cap in answer["caps"]:
        for option in cap["removed_by"]:
            assert cap["rule_id"] not in fired(check_option(engine, proposal, before, option))
    for entry in answer["why_not"]:
        if entry["kind"] == "penalty":  # at stake: what it takes now
            assert entry["points"] == given(before)[entry["rule_id"]], entry
        if entry["change"] is not None:
            after = engine.evaluate(edited(proposal, entry["change"]))
            assert (entry["rule_id"] in fired(after)) == (entry["kind"] == "bonus"), entry
            assert entry["result"]["overall_score"] == after["overall_score"]
            if entry["kind"] == "bonus":  # what it would give, a graded rule its reading
                assert entry["points"] == given(after)[entry["rule_id"]], entry
    stakes = [abs(e["points"]) for e in answer["why_not"]]
    assert stakes == sorted(stakes, reverse=True)
    assert (answer["reason"] is None) == bool(answer["options"])
    if band is not None:
        assert band["gap"] == round(band["min_score"] - before["overall_score"], 2) > 0
    return answer


@pytest.fixture(scope="module")
def engine() -> Engine:
    return shipped("native")


@pytest.mark.parametrize("version", VERSIONS, ids=lambda p: p.stem)
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_option_of_every_example_reaches_what_it_claims(version: Path, path: Path) -> None:
    check_answer(shipped("durable", version), load_json(path))


@pytest.mark.parametrize("version", VERSIONS, ids=lambda p: p.stem)
def test_every_option_of_generated_proposals_reaches_what_it_claims(version: Path) -> None:
    engine = shipped("native", version)
    answers = [check_answer(engine, proposal) for proposal, _ in batch(GENERATED, seed=16)]
    assert len(answers) == GENERATED
    assert sum(bool(a["options"]) for a in answers) > GENERATED / 2
    assert any(a["searched"]["pairs"] for a in answers)


def test_a_weak_example_says_how_far_it_is_what_gets_it_there_and_what_still_caps_it(
        engine: Engine) -> None:
    proposal = load_json(ROOT / "examples" / "weak-no-partners.json")
    answer = counterfactuals(engine, proposal)
    assert answer["next_band"] == {"rating": "acceptable", "min_score": 55.0, "gap": 10.65}
    [cap] = answer["caps"]
    assert cap["rule_id"] == "PAR-09" and cap["removed_by"]
    best = answer["options"][0]
    assert best["changes"][0]["field"].startswith("partners.")
    assert "PAR-09" in best["sentence"]


def test_labels_not_codes_in_sentences(engine: Engine) -> None:
    answer = counterfactuals(engine, load_json(ROOT / "examples" / "weak-no-datalink.json"))
    sentences = " ".join(o["sentence"] for o in answer["options"])
    assert "Adding Link 16 to the datalinks" in sentences
    assert "link16" not in sentences


def test_the_top_band_without_caps_has_no_option_and_says_why(engine: Engine) -> None:
    answer = counterfactuals(engine, load_json(ROOT / "examples" / "tomahawk-2023.json"))
    assert answer["next_band"] is None and answer["options"] == []
    assert "top band" in answer["reason"]


@pytest.mark.parametrize("version", VERSIONS, ids=lambda p: p.stem)
def test_a_fixed_field_is_never_changed_even_when_changing_it_would_help(version: Path) -> None:
    data = yaml.safe_load(version.read_text())
    data["counterfactuals"]["fixed"] = [*data["counterfactuals"].get("fixed", []),
                                        "capabilities.datalinks", "partners.operators"]
    engine = Engine(parse_ruleset(yaml.safe_dump(data, sort_keys=False), "fixed",
                                  ROOT / "rules"), "native")
    for path in ("weak-no-datalink.json", "weak-no-partners.json"):
        answer = check_answer(engine, load_json(ROOT / "examples" / path))
        touched = {c["field"] for o in answer["options"] for c in o["changes"]}
        assert not touched & {"capabilities.datalinks", "partners.operators"}


def test_a_number_read_off_a_scale_moves_no_further_than_it_takes() -> None:
    """2026.2.0 reads the cost, the upkeep, the schedule and the quantity off scales: an option
    that reaches the next band by moving one number moves it to the first value on its step
    that does, so one step less falls short."""
    engine = shipped("native", VERSIONS[1])
    checked = 0
    for path in EXAMPLES:
        proposal = load_json(path)
        answer = counterfactuals(engine, proposal)
        band = answer["next_band"]
        for option in answer["options"]:
            [change, *more] = option["changes"]
            if more or not all(isinstance(change[k], (int, float)) for k in ("from", "to")) \
                    or band is None or option["result"]["overall_score"] < band["min_score"]:
                continue
            step = engine.ruleset.changeable.numbers[change["field"]].step
            back = change["to"] + (step if change["to"] < change["from"] else -step)
            short = engine.evaluate(edited(proposal, [{**change, "to": back}]))
            assert short["overall_score"] < band["min_score"], (path.stem, change)
            checked += 1
    assert checked >= 3


# --- minimal against brute force ----------------------------------------------------------

BRUTE_DECLARATION = {
    "fixed": ["acquisition.total_cost.amount", "acquisition.unit_cost.amount",
              "acquisition.sustainment_cost_per_year"],
    "numbers": {"acquisition.delivery_start_year": {"range": [2022, 2036], "step": 1},
                "acquisition.quantity": {"range": [1, 60], "step": 1},
                "acquisition.service_life_years": {"range": [5, 40], "step": 1}},
    "lists": {"partners.operators": ["US", "AU", "GB", "KR"],
              "partners.co_developers": ["US", "GB"],
              "partners.training_with": ["US", "AU"]},
}


def small_ruleset(tmp: Path, seed: int) -> Engine:
    """A random ruleset of 30 rules (no scales: a graded rule's points move inside a segment,
    where the search tries the breakpoints only) with the brute-force declaration."""
    path = random_ruleset(tmp, count=30, seed=seed)
    data = yaml.safe_load(path.read_text())
    data["rules"] = [_points_only(item) for item in data["rules"]]
    data["counterfactuals"] = BRUTE_DECLARATION
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return Engine(load_ruleset(path), "native")


def _points_only(item: dict[str, Any]) -> dict[str, Any]:
    if "group" in item:
        return {**item, "rules": [_points_only(rule) for rule in item["rules"]]}
    if "scale" in item:
        item = {k: v for k, v in item.items() if k != "scale"}
        item["points"] = 5
        item.setdefault("when", {"field": "acquisition.quantity", "op": "gte", "value": 4})
    return item


def every_single_change(ruleset: Ruleset, proposal: dict[str, Any]
                        ) -> Iterator[tuple[float, list[dict[str, Any]]]]:
    """Every single-field change the declaration allows, with its size as the search ranks
    it: every value of each declared number, each vocabulary item added or removed, every
    value of each closed vocabulary, each optional field left out."""
    declared = ruleset.changeable
    for path, spec in field_catalog().items():
        if (path.startswith("derived.") or path in declared.fixed or path.endswith(".currency")
                or any(path.startswith(f + ".") for f in declared.fixed)):
            continue
        current = value_at(proposal, path)
        before = None if current is ABSENT else current
        if spec.kind == "number" and path in declared.numbers:
            allowed = declared.numbers[path]
            for k in range(int((allowed.high - allowed.low) / allowed.step) + 1):
                value = int(allowed.low + k * allowed.step)
                if value != current:
                    size = 1 + (abs(value - current) / (allowed.high - allowed.low)
                                if current is not ABSENT else 0)
                    yield size, [{"field": path, "from": before, "to": value}]
        elif spec.kind == "list":
            items = declared.lists.get(path) or spec.values or ()
            have = current if isinstance(current, list) else []
            for item in items:
                if item not in have:
                    yield 1.0, [{"field": path, "from": before, "to": [*have, item]}]
            for item in have:
                yield 1.0, [{"field": path, "from": before,
                             "to": [v for v in have if v != item]}]
        elif spec.kind == "string" and spec.values:
            for value in spec.values:
                if value != current:
                    yield 1.0, [{"field": path, "from": before, "to": value}]
        if spec.optional and current is not ABSENT:
            yield 1.0, [{"field": path, "from": before, "to": None}]


def goals(ruleset: Ruleset, before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    if rank(after["recommendation"]) > rank(before["recommendation"]):
        return set()
    higher = [b for b in ruleset.bands if b.min_score > before["overall_score"]]
    found = {"cap:" + r for r in caps(ruleset, before) - caps(ruleset, after)}
    if higher and after["overall_score"] >= higher[-1].min_score:
        found.add("band")
    if rank(after["recommendation"]) < rank(before["recommendation"]):
        found.add("recommendation")
    return found


def option_goals(ruleset: Ruleset, engine: Engine, proposal: dict[str, Any],
                 before: dict[str, Any], option: dict[str, Any]) -> set[str]:
    return goals(ruleset, before, engine.evaluate(edited(proposal, option["changes"])))


@pytest.mark.parametrize("seed", [3, 7, 1999, 20261125])
def test_single_field_search_is_minimal_against_brute_force(tmp_path: Path, seed: int) -> None:
    engine = small_ruleset(tmp_path, seed)
    ruleset = engine.ruleset
    checked = 0
    for proposal, _ in batch(40, seed=seed):
        proposal["acquisition"]["delivery_start_year"] = random.Random(seed).randint(2024, 2034)
        before = engine.evaluate(proposal)
        smallest: dict[str, float] = {}
        for size, changes in every_single_change(ruleset, proposal):
            try:
                after = engine.evaluate(edited(proposal, changes))
            except ProposalInvalid:
                continue
            for goal in goals(ruleset, before, after):
                smallest[goal] = min(smallest.get(goal, size), size)
        answer = counterfactuals(engine, proposal)
        offered = answer["options"] + [o for c in answer["caps"] for o in c["removed_by"]]
        found: dict[str, float] = {}
        for option in offered:
            if len(option["changes"]) != 1:
                continue
            size = _size(ruleset, option["changes"][0])
            for goal in option_goals(ruleset, engine, proposal, before, option):
                found[goal] = min(found.get(goal, size), size)
        for goal, size in smallest.items():
            if goal.startswith("cap:") or goal in {"band", "recommendation"}:
                assert goal in found, (proposal["id"], goal, answer)
                assert found[goal] == pytest.approx(size), (proposal["id"], goal)
                checked += 1
        for goal in found:
            assert goal in smallest, (proposal["id"], goal)
    assert checked >= 8


def _size(ruleset: Ruleset, change: dict[str, Any]) -> float:
    allowed = ruleset.changeable.numbers.get(change["field"])
    numbers = [change["from"], change["to"]]
    if allowed is not None and all(isinstance(v, (int, float)) for v in numbers):
        return 1 + abs(numbers[1] - numbers[0]) / (allowed.high - allowed.low)
    return 1.0


def test_the_documented_schemas_mirror_the_answers(engine: Engine) -> None:
    """Dumping an answer through its OpenAPI schema gives it back: no member undocumented."""
    proposal = load_json(ROOT / "examples" / "weak-no-partners.json")
    answer = counterfactuals(engine, proposal)
    assert CounterfactualsSchema().dump(answer) == answer
    before = engine.evaluate(proposal)
    after = engine.evaluate(edited(proposal, answer["options"][-1]["changes"]))
    diff = what_if_diff(before, after)
    assert WhatIfDiffSchema().dump(diff) == diff
    compared = comparison([before, after], [None, "x"])
    assert ComparisonSchema().dump(compared) == compared
