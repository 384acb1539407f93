"""Real proposals to probe a ruleset with: built, changed one field at a time, and scored rule
by rule, fast enough to evaluate thousands in a ``rules check``.

Every probe is a proposal the API would accept (validated once when built, and each change
stays within the schema's ranges), and every score is the one the engine gives: the fact is
built by the engine's own enrichment and the rules decided by its compiled evaluator, so what
the checks report is about proposals an analyst could submit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.proposal import ProposalSchema
from service.engine.evaluation.compiled import CompiledRules
from service.engine.evaluation.facts import ABSENT, Fact, build_fact, value_at
from service.engine.evaluation.scoring import score_all
from service.engine.language.catalog import field_catalog
from service.engine.language.model import Rule, Ruleset

Proposal = dict[str, Any]

_MONEY = ("acquisition.unit_cost", "acquisition.total_cost")
# what an optional field is given when a probe needs it present (a check then moves it)
_PRESENT = {
    "acquisition.delivery_start_year": lambda p: p["fiscal_year"] + 2,
    "acquisition.service_life_years": lambda p: 20,
    "acquisition.sustainment_cost_per_year.amount": lambda p: 1e9,
    "system.prime_contractor": lambda p: "Probe Industries",
    "id": lambda p: "probe",
}


def _money_total(acquisition: Mapping[str, Any]) -> float:
    if "total_cost" in acquisition:
        return float(acquisition["total_cost"]["amount"])
    return float(acquisition["unit_cost"]["amount"]) * acquisition["quantity"]


def _copied(proposal: Proposal, parents: list[str]) -> tuple[Proposal, dict[str, Any]]:
    """A copy of ``proposal`` sharing everything but the mappings along ``parents`` (copied,
    created when missing, so the change leaves ``proposal`` as it was), and the last of them.
    Probes are never changed in place, so the rest can be shared: a deep copy per probe was
    half the time of a check of 150 rules."""
    changed = dict(proposal)
    node = changed
    for key in parents:
        node[key] = dict(node.get(key) or {})
        node = node[key]
    return changed, node


def change(proposal: Proposal, path: str, value: Any) -> Proposal:
    """A copy of ``proposal`` with ``path`` set to ``value`` (ABSENT leaves it out), kept valid:
    a money amount brings its currency, a unit cost replaces a total cost (a proposal states
    one), and a phasing is rescaled so that it still adds up to the total."""
    if value is ABSENT:  # an amount and its currency go together
        money = path.rsplit(".", 1)[0] if path.endswith((".amount", ".currency")) else path
        *parents, leaf = money.split(".")
        if value_at(proposal, ".".join(parents)) is ABSENT:
            return proposal
        changed, node = _copied(proposal, parents)
        node.pop(leaf, None)
        return changed
    *parents, leaf = path.split(".")
    changed, node = _copied(proposal, parents)
    node[leaf] = value
    if leaf == "amount":  # a money figure is an amount and its currency, never one alone
        node.setdefault("currency", "JPY")
    if leaf == "currency":
        node.setdefault("amount", 1e9)
    changed, acquisition = _copied(changed, ["acquisition"])
    for kept, dropped in (_MONEY, _MONEY[::-1]):
        if path.startswith(kept + "."):
            acquisition.pop(dropped.rsplit(".", 1)[1], None)
    if "phasing" in acquisition and path.startswith(("acquisition.unit_cost",
                                                     "acquisition.total_cost",
                                                     "acquisition.quantity")):
        _rescale(acquisition, _money_total(value_at(proposal, "acquisition")))
    return changed


def _rescale(acquisition: dict[str, Any], before: float) -> None:
    """Scale the phasing (a new list of new entries) to the acquisition's new total."""
    after = _money_total(acquisition)
    phasing = acquisition["phasing"]
    currency = (acquisition.get("total_cost") or acquisition["unit_cost"])["currency"]
    acquisition["phasing"] = [
        {**entry, "currency": currency,
         "amount": entry["amount"] * after / before if before else after / len(phasing)}
        for entry in phasing]


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
    """A ruleset ready to score many probes: decided by the compiled evaluator, as the engine
    decides (~2 µs a proposal; building its fact is the most of a probe's cost)."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.rules: dict[str, Rule] = {r.id: r for r in ruleset.rules}
        self.compiled = CompiledRules(ruleset)
        self.evaluations = 0

    def fact(self, proposal: Proposal) -> Fact:
        return build_fact(proposal, self.ruleset.context)

    def outcome(self, proposal: Proposal) -> Outcome:
        self.evaluations += 1
        fact = self.fact(proposal)
        scores = score_all(self.ruleset, *self.compiled.decide(fact))
        fired = [rule for score in scores for rule in score.fired]
        return Outcome(
            fact,
            {rule.id: rule.points_for(fact) for rule in fired},
            frozenset(rule.id for rule in fired if rule.deficiency),
            {score.criterion.name: score.score for score in scores},
        )
