"""The decision log's mask covers every copy of a masked field: the input, the result's title,
summary, sentences, evidence and the derived fields computed from it; and its hashes are keyed,
so that a guess of what it hides cannot be confirmed against them."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from schemas.proposal import ProposalSchema
from service.config import ConfigError, Settings
from service.decisions.entry import DERIVED_FROM, MASK, Mask, decision_entry
from service.engine.language.derived import DERIVED_FIELDS
from service.engine.language.loader import canonical_json
from tests.unit.conftest import ROOT, shipped

KEY = b"k" * 32
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
# a change to each proposal field that the rules and the enrichment can see
CHANGES: dict[str, Any] = {
    "fiscal_year": 2027,
    "requesting_country": "KR",
    "system.name": "Global Hawk",
    "acquisition.quantity": 7,
    "acquisition.capability_area": "unmanned_assets",
    "acquisition.delivery_start_year": 2031,
    "acquisition.sustainment_cost_per_year": {"amount": 1.5e8, "currency": "USD"},
    "capabilities.datalinks": ["link16", "cec", "madl"],
    "threats_addressed": ["ballistic_missile", "hypersonic"],
    "partners.operators": ["US", "AU", "GB"],
    "partners.co_developers": ["US"],
    "partners.training_with": ["AU", "IN"],
}


def _changed(proposal: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(proposal)
    *parents, leaf = dotted.split(".")
    node = changed
    for name in parents:
        node = node.setdefault(name, {})
    node[leaf] = value
    return changed


def _example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "examples" / f"{name}.json").read_text())
    return loaded


def test_every_derived_field_says_what_it_is_computed_from() -> None:
    assert sorted(DERIVED_FROM) == sorted(f.path.removeprefix("derived.")
                                          for f in DERIVED_FIELDS)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_table_names_every_field_a_derived_field_moves_with(example: Path) -> None:
    """Change each proposal field in turn: every derived field that moves must be listed as
    computed from it (else masking that field would leave it readable in the log)."""
    engine = shipped("native")
    proposal = json.loads(example.read_text())
    before = engine.evaluate(proposal)["derived"]
    costs = [{"acquisition.unit_cost": None, "acquisition.total_cost": {"amount": 9e9,
                                                                       "currency": "JPY"}},
             {"acquisition.total_cost": None, "acquisition.unit_cost": {"amount": 1e6,
                                                                       "currency": "USD"}}]
    for changes in [{field: value} for field, value in CHANGES.items()] + costs:
        changed = proposal
        for field, value in changes.items():
            changed = _changed(changed, field, value)
            if value is None:
                *parents, leaf = field.split(".")
                node = changed
                for name in parents:
                    node = node[name]
                node.pop(leaf)
        after = engine.evaluate(changed)["derived"]
        moved = {name for name in before.keys() | after.keys()
                 if before.get(name) != after.get(name)}
        for name in moved:
            assert any(field in DERIVED_FROM[name] for field in changes), (changes, name)


MASKED = ("title", "system.name", "acquisition.total_cost", "id")


def _entry(proposal: dict[str, Any], paths: tuple[str, ...] = MASKED, key: bytes = KEY,
           explain: str = "full") -> dict[str, Any]:
    engine = shipped("native")
    evaluation = engine.evaluate(proposal, explain)  # type: ignore[arg-type]
    return decision_entry("e-1", evaluation, proposal, "eval-a", Mask(paths, key),
                          ruleset=engine.ruleset)


def test_no_copy_of_a_masked_value_is_left_in_the_entry() -> None:
    proposal = _example("tomahawk-2023")
    entry = _entry(proposal)
    text = json.dumps(entry, ensure_ascii=False)
    name = proposal["system"]["name"].split(" (")[0]  # "Tomahawk": what sentences quote
    amount = proposal["acquisition"]["total_cost"]["amount"]
    for secret in (proposal["title"], proposal["id"], name, f"{amount:,.0f}", str(amount)):
        assert secret not in text, secret
    result = entry["result"]
    assert result["title"] == result["summary"] == result["proposal_id"] == MASK
    assert entry["input"]["acquisition"]["total_cost"] == MASK
    for derived in ("total_cost_usd", "total_cost_jpy", "share_of_remaining_envelope",
                    "registry_system", "partner_operator_count"):
        assert result["derived"][derived] == MASK, derived
    # what does not come from the masked fields stays
    assert result["derived"]["datalink_count"] != MASK
    assert result["overall_score"] == entry["overall_score"] and entry["rating"]
    findings = [f for c in result["criteria"] for kind in ("strengths", "weaknesses")
                for f in c[kind]]
    atoms = [a for f in findings for a in f["evidence"]]
    assert {a["observed"] for a in atoms if a["field"] == "derived.total_cost_usd"} <= {MASK}
    assert any(a["observed"] != MASK for a in atoms)  # datalinks, threats: not masked
    assert any(f["sentence"] != MASK for f in findings)


def test_a_sentence_is_masked_exactly_when_its_template_reads_a_masked_field() -> None:
    proposal = _example("tomahawk-2023")
    engine = shipped("native")
    templates = {r.id: r.because for r in engine.ruleset.rules}
    entry = _entry(proposal, ("capabilities.datalinks",))
    for criterion in entry["result"]["criteria"]:
        for finding in criterion["strengths"] + criterion["weaknesses"]:
            reads = ("{capabilities.datalinks" in templates[finding["rule_id"]]
                     or "{derived.datalink_count" in templates[finding["rule_id"]])
            assert (finding["sentence"] == MASK) == reads, finding["rule_id"]


def test_masked_hashes_are_keyed_so_a_guess_cannot_be_confirmed() -> None:
    proposal = _example("tomahawk-2023")
    entry = _entry(proposal)
    plain = shipped("native").evaluate(proposal, "full")
    loaded = ProposalSchema().load(proposal)
    guess = "sha256:" + hashlib.sha256(canonical_json(loaded).encode()).hexdigest()
    assert guess == plain["input_hash"]  # what anyone can compute from a guess
    text = json.dumps(entry)
    assert plain["input_hash"].split(":")[1] not in text
    assert plain["decision_id"] not in text
    assert entry["input_hash"].startswith("hmac-sha256:")
    assert entry["result"]["input_hash"] == entry["input_hash"]
    assert entry["decision_id"] == entry["result"]["decision_id"] != plain["decision_id"]
    # equal inputs still match in the log; another key gives other hashes
    assert _entry(proposal)["input_hash"] == entry["input_hash"]
    assert _entry(proposal, key=b"x" * 32)["input_hash"] != entry["input_hash"]


def test_without_a_mask_the_entry_keeps_the_result_as_it_is() -> None:
    proposal = _example("e2d-2023")
    engine = shipped("native")
    evaluation = engine.evaluate(proposal)
    entry = decision_entry("e-2", evaluation, proposal, "eval-a", Mask())
    assert entry["result"] is evaluation and entry["input"] is proposal
    assert entry["input_hash"] == evaluation["input_hash"]


def test_without_the_ruleset_every_sentence_is_masked() -> None:
    proposal = _example("tomahawk-2023")
    evaluation = shipped("native").evaluate(proposal)
    entry = decision_entry("e-3", evaluation, proposal, "eval-a", Mask(("id",), KEY))
    sentences = [f["sentence"] for c in entry["result"]["criteria"]
                 for kind in ("strengths", "weaknesses", "deficiencies") for f in c[kind]]
    assert sentences and set(sentences) == {MASK}


def test_a_mask_without_a_key_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="DECISION_LOG_KEY"):
        Settings(decision_log_mask=("title",))
    with pytest.raises(ConfigError, match="DECISION_LOG_KEY"):
        Settings(decision_log_mask=("title",), decision_log_key="short")
    assert Settings(decision_log_mask=("title",), decision_log_key="k" * 32).decision_log_mask


def test_a_derived_field_the_table_does_not_know_counts_as_masked() -> None:
    """A derived field added to the engine before this table is masked, not leaked."""
    assert Mask(("title",), KEY).hides("derived.added_tomorrow")
    assert not Mask((), KEY).hides("derived.added_tomorrow")
