"""The evaluation result: scores, verdict and an explanation in which every point is accounted
for by a fired rule, each with its rendered sentence and per-atom evidence (and, for a graded
rule, the scale its points were read off); the assumptions the result rests on; with
``explain=full``, the rules that did not fire and, apart from them, the rules that do not apply
to this kind of proposal.

Everything fixed about a rule's explanation is prepared once per ruleset: the functions that
build a rule's finding and its why-not are generated with the decider
(``compiled.CompiledRules``), with the rule's fixed values written in, its sentences split into
text and placeholders, each atom's words prepared (``evidence.AtomEvidence``). An evaluation
only formats the values it observed.
"""

from __future__ import annotations

from typing import Any

from schemas.vocabulary import VALUE_LABELS, a_system
from service.engine.evaluation.claims import assumptions
from service.engine.evaluation.compiled import CompiledRules
from service.engine.evaluation.enrichment import cost_by_year
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


def _kind(rule: Rule) -> int | None:
    """Where a fired rule is reported: 0 strengths, 1 weaknesses, 2 deficiencies (a rule that is
    not a deficiency has non-zero points: the loader refuses 0); None for a graded rule, whose
    place depends on the points it reads (``_graded_kind``)."""
    if rule.deficiency:
        return 2
    if rule.scale is not None:
        return None
    return 0 if (rule.points or 0.0) > 0 else 1


def _graded_kind(rule: Rule, points: float) -> int:
    """Positive points are a strength, negative a weakness; a scale that reads 0 is listed
    where it can score (a strength not earned, or a weakness avoided)."""
    return 0 if points > 0 or (points == 0 and rule.point_range[1] > 0) else 1


def not_applicable(rule: Rule, fact: Fact) -> dict[str, Any]:
    """A rule whose scope excludes this proposal: neither a failed condition nor a missed
    point, only a rule meant for other kinds of proposal."""
    scope = rule.scope.describe() if rule.scope else "every proposal"
    return {
        "rule_id": rule.id,
        "criterion": rule.criterion,
        "title": rule.title,
        "scope": scope,
        "text": f"Applies to {rule.scope.in_words() if rule.scope else 'every proposal'}; "
                f"this is {a_system(fact['system.category'])} bought through "
                f"{VALUE_LABELS[fact['acquisition.path']]}.",
    }


class Explainer:
    """Builds the results of one ruleset."""

    def __init__(self, ruleset: Ruleset, compiled: CompiledRules) -> None:
        self.ruleset = ruleset
        # per rule: its finding function, and which list of its criterion the finding joins
        self.finding = {rule.id: (finding, _kind(rule)) for rule, finding in
                        zip(ruleset.rules, compiled.finding, strict=True)}
        self.scoped = any(rule.scope for rule in ruleset.rules)
        self.not_fired = dict(zip(compiled.ids, compiled.not_fired, strict=True))

    def criterion_entry(self, score: CriterionScore, fact: Fact) -> dict[str, Any]:
        criterion = score.criterion
        findings: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
        for rule in score.fired:
            finding, kind = self.finding[rule.id]
            entry = finding(fact)
            findings[_graded_kind(rule, entry["points"]) if kind is None else kind].append(entry)
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
            "assumptions": assumptions(proposal, fact, ruleset.context),
        }
        if "phasing" in proposal["acquisition"]:
            result["cost_by_year"] = cost_by_year(proposal, ruleset.context,
                                                  fact["derived.total_cost_jpy"])
        if explain_full:
            result["rating_stability"] = rating_stability(ruleset, scores)
            fired = {r.id for s in scores for r in s.fired}
            result["not_fired"] = [self.not_fired[r.id](fact) for r in ruleset.rules
                                   if r.id not in fired and r.applies(fact)]
            result["not_applicable"] = [not_applicable(r, fact) for r in ruleset.rules
                                        if self.scoped and not r.applies(fact)]
        return result
