"""Real proposals to probe a ruleset with: built, changed one field at a time, and scored rule
by rule, fast enough to evaluate thousands in a ``rules check``.

Every probe is a proposal the API would accept (validated once when built, and each change
stays within the schema's ranges), and every score is the one the engine gives: the fact is
built by the engine's own enrichment and the rules decided by the native evaluator, so what the
checks report is about proposals an analyst could submit.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.proposal import ProposalSchema
from service.engine.evaluation.facts import Fact, build_fact
from service.engine.evaluation.interpreter import Test, compile_condition
from service.engine.evaluation.scoring import score_all
from service.engine.language.catalog import field_catalog
from service.engine.language.model import Rule, Ruleset

Proposal = dict[str, Any]
ABSENT: Any = object()  # a field left out, as a value to set
_MONEY = ("acquisition.unit_cost", "acquisition.total_cost")
# what an optional field is given when a probe needs it present (a check then moves it)
_PRESENT = {
    "acquisition.delivery_start_year": lambda p: p["fiscal_year"] + 2,
    "acquisition.service_life_years": lambda p: 20,
    "acquisition.sustainment_cost_per_year.amount": lambda p: 1e9,
    "system.prime_contractor": lambda p: "Probe Industries",
    "id": lambda p: "probe",
}


def get(proposal: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or ABSENT."""
    node: Any = proposal
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return ABSENT
        node = node[key]
    return node


def _money_total(acquisition: Mapping[str, Any]) -> float:
    if "total_cost" in acquisition:
        return float(acquisition["total_cost"]["amount"])
    return float(acquisition["unit_cost"]["amount"]) * acquisition["quantity"]


def change(proposal: Proposal, path: str, value: Any) -> Proposal:
    """A copy of ``proposal`` with ``path`` set to ``value`` (ABSENT leaves it out), kept valid:
    a money amount brings its currency, a unit cost replaces a total cost (a proposal states
    one), and a phasing is rescaled so that it still adds up to the total."""
    changed = copy.deepcopy(proposal)
    if value is ABSENT:  # an amount goes with its currency
        *parents, leaf = (path.removesuffix(".amount") if path.endswith(".amount")
                          else path).split(".")
        node = changed
        for key in parents:
            node = node[key]
        node.pop(leaf, None)
        return changed
    *parents, leaf = path.split(".")
    node = changed
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    if leaf == "amount":
        node.setdefault("currency", "JPY")
    acquisition = changed["acquisition"]
    for kept, dropped in (_MONEY, _MONEY[::-1]):
        if path.startswith(kept + "."):
            acquisition.pop(dropped.rsplit(".", 1)[1], None)
    if "phasing" in acquisition and path.startswith(("acquisition.unit_cost",
                                                     "acquisition.total_cost",
                                                     "acquisition.quantity")):
        _rescale(acquisition, _money_total(get(proposal, "acquisition")))
    return changed


def _rescale(acquisition: dict[str, Any], before: float) -> None:
    after = _money_total(acquisition)
    phasing = acquisition["phasing"]
    currency = (acquisition.get("total_cost") or acquisition["unit_cost"])["currency"]
    for entry in phasing:
        entry["amount"] = (entry["amount"] * after / before if before
                           else after / len(phasing))
        entry["currency"] = currency


def present_value(proposal: Proposal, path: str) -> Any:
    """A plausible value for an optional field a probe needs given."""
    make = _PRESENT.get(path)
    return make(proposal) if make else None


def neutral(ruleset: Ruleset) -> Proposal:
    """The plainest valid proposal: the first category, area and path, one item for ¥10
    billion, nothing claimed, a name no registry entry has."""
    context = ruleset.context
    catalog = field_catalog()

    def first(path: str) -> str:
        values = catalog[path].values
        assert values  # closed vocabularies
        return values[0]

    name = "Unlisted probe system"
    while context.partner_system(name) is not None:  # a registry of substrings may match it
        name += " x"
    raw = {
        "title": "rules check probe",
        "fiscal_year": max(context.fiscal_years),
        "requesting_country": context.requesting_country,
        "system": {"name": name, "category": first("system.category"), "origin_country": "US"},
        "acquisition": {"path": first("acquisition.path"), "quantity": 1,
                        "total_cost": {"amount": 1e10, "currency": "JPY"},
                        "capability_area": first("acquisition.capability_area")},
    }
    return validated(raw)


def validated(raw: Mapping[str, Any]) -> Proposal:
    """The proposal as the API loads it; raises ``marshmallow.ValidationError``."""
    loaded: Proposal = ProposalSchema().load(raw)
    return loaded


@dataclass(frozen=True)
class Outcome:
    """One proposal, scored: each fired rule's points, the deficiencies fired and each
    criterion's score."""

    fact: Fact
    points: dict[str, float]  # fired rule id -> points
    deficiencies: frozenset[str]
    scores: dict[str, float]  # criterion -> score (0..100)

    def contribution(self, rule_id: str) -> float:
        return self.points.get(rule_id, 0.0)


class Probe:
    """A ruleset ready to score many probes, and the memory of those already scored."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.rules: dict[str, Rule] = {r.id: r for r in ruleset.rules}
        self._tests: tuple[tuple[Rule, Test], ...] = tuple(
            (rule, compile_condition(rule.guard)) for rule in ruleset.rules)
        self.evaluations = 0

    def fact(self, proposal: Proposal) -> Fact:
        return build_fact(proposal, self.ruleset.context)

    def outcome(self, proposal: Proposal) -> Outcome:
        self.evaluations += 1
        fact = self.fact(proposal)
        fired = frozenset(rule.id for rule, test in self._tests if test(fact))
        scores = score_all(self.ruleset, fired, fact)
        return Outcome(
            fact,
            {rule.id: rule.points_for(fact) for score in scores for rule in score.fired},
            frozenset(rule_id for rule_id in fired if self.rules[rule_id].deficiency),
            {score.criterion.name: score.score for score in scores},
        )
