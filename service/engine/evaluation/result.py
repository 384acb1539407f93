"""The evaluation result: scores, verdict and an explanation in which every point is accounted
for by a fired rule, each with its rendered sentence and per-atom evidence.

Everything fixed about a rule's explanation is prepared once per ruleset: the functions that
build a rule's finding and its why-not are generated with the decider
(``compiled.CompiledRules``), with the rule's fixed values written in, its sentences split into
text and placeholders, each atom's words prepared (``evidence.AtomEvidence``). An evaluation
only formats the values it observed.
"""

from __future__ import annotations

from typing import Any

from service.engine.evaluation.compiled import CompiledRules
from service.engine.evaluation.facts import Fact
from service.engine.evaluation.scoring import CriterionScore, Verdict
from service.engine.evaluation.sensitivity import rating_stability
from service.engine.language.model import Rule, Ruleset

RECOMMENDATION_WORDS = {
    "recommend": "recommend",
    "recommend_with_conditions": "recommend with conditions",
    "defer": "defer",
    "do_not_recommend": "do not recommend",
}


def summary(title: str, verdict: Verdict) -> str:
    text = (f"{title}: overall {verdict.overall:.1f}/100, rated {verdict.rating}; "
            f"{RECOMMENDATION_WORDS[verdict.recommendation]}.")
    if verdict.capped_by:
        rules = ", ".join(verdict.capped_by)
        subject = f"deficiencies {rules} cap" if len(verdict.capped_by) > 1 else (
            f"deficiency {rules} caps")
        text += (f" The {verdict.rating} rating alone would "
                 f"{RECOMMENDATION_WORDS[verdict.band_recommendation]}, but {subject} the "
                 "recommendation.")
    return text


def _kind(rule: Rule) -> int:
    """Where a fired rule is reported: 0 strengths, 1 weaknesses, 2 deficiencies (a rule that is
    not a deficiency has non-zero points: the loader refuses 0)."""
    if rule.deficiency:
        return 2
    return 0 if rule.points > 0 else 1


class Explainer:
    """Builds the results of one ruleset."""

    def __init__(self, ruleset: Ruleset, compiled: CompiledRules) -> None:
        self.ruleset = ruleset
        # per rule: its finding function, and which list of its criterion the finding joins
        self.finding = {rule.id: (finding, _kind(rule)) for rule, finding in
                        zip(ruleset.rules, compiled.finding, strict=True)}
        self.not_fired = dict(zip(compiled.ids, compiled.not_fired, strict=True))

    def criterion_entry(self, score: CriterionScore, fact: Fact) -> dict[str, Any]:
        criterion = score.criterion
        findings: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
        for rule in score.fired:
            finding, kind = self.finding[rule.id]
            findings[kind].append(finding(fact))
        return {
            "criterion": criterion.name,
            "label": criterion.label,
            "weight": criterion.weight,
            "rationale": criterion.rationale,
            "baseline": criterion.baseline,
            "points": score.points,
            "raw_score": score.raw_score,
            "score": score.score,
            "weighted_score": round(score.weighted, 4),
            "strengths": findings[0],
            "weaknesses": findings[1],
            "deficiencies": findings[2],
        }

    def result(
        self,
        proposal: dict[str, Any],
        fact: Fact,
        derived: dict[str, Any],
        scores: tuple[CriterionScore, ...],
        verdict: Verdict,
        explain_full: bool,
    ) -> dict[str, Any]:
        ruleset = self.ruleset
        result: dict[str, Any] = {
            "proposal_id": proposal.get("id"),
            "title": proposal["title"],
            "ruleset": ruleset.identity,
            "overall_score": verdict.overall,
            "rating": verdict.rating,
            "recommendation": verdict.recommendation,
            "band_recommendation": verdict.band_recommendation,
            "capped_by": list(verdict.capped_by),
            "summary": summary(proposal["title"], verdict),
            "criteria": [self.criterion_entry(s, fact) for s in scores],
            "derived": derived,
        }
        if explain_full:
            result["rating_stability"] = rating_stability(ruleset, scores)
            fired = {r.id for s in scores for r in s.fired}
            result["not_fired"] = [self.not_fired[r.id](fact) for r in ruleset.rules
                                   if r.id not in fired]
        return result
