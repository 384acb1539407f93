"""The evaluation result: scores, verdict and an explanation in which every point is accounted
for by a fired rule, each with its rendered sentence and per-atom evidence (and, for a graded
rule, the scale its points were read off); the assumptions the result rests on; with
``explain=full``, the rules that did not fire and, apart from them, the rules that do not apply
to this kind of proposal."""

from __future__ import annotations

from typing import Any

from service.engine.evaluation.claims import assumptions
from service.engine.evaluation.enrichment import cost_by_year
from service.engine.evaluation.evidence import evidence, scale_reading
from service.engine.evaluation.facts import Fact
from service.engine.evaluation.interpreter import why, why_not
from service.engine.evaluation.scoring import CriterionScore, Verdict
from service.engine.language.model import Rule, Ruleset
from service.engine.language.templates import render

RECOMMENDATION_WORDS = {
    "recommend": "recommend",
    "recommend_with_conditions": "recommend with conditions",
    "defer": "defer",
    "do_not_recommend": "do not recommend",
}


def finding(rule: Rule, fact: Fact) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "rule_id": rule.id,
        "title": rule.title,
        "points": rule.points_for(fact),
        "sentence": render(rule.because, fact),
        "evidence": [evidence(r) for r in why(rule.condition, fact)],
    }
    if rule.scale:
        entry["scale"] = scale_reading(rule.scale, fact[rule.scale.field])
    if rule.deficiency:
        entry["caps_at"] = rule.deficiency
    return entry


def not_fired(rule: Rule, fact: Fact) -> dict[str, Any]:
    """A rule that applies but did not fire: what it would have given (a graded rule: what its
    scale reads for this proposal, 0 when its field is not given) and the atoms that failed."""
    graded = rule.scale is not None and rule.scale.field in fact
    entry: dict[str, Any] = {
        "rule_id": rule.id,
        "criterion": rule.criterion,
        "title": rule.title,
        "points": rule.points_for(fact) if graded or not rule.scale else 0.0,
        "sentence": render(rule.otherwise, fact) if rule.otherwise else None,
        "failed": [evidence(r) for r in why_not(rule.condition, fact)],
    }
    if graded and rule.scale:
        entry["scale"] = scale_reading(rule.scale, fact[rule.scale.field])
    return entry


def not_applicable(rule: Rule, fact: Fact) -> dict[str, Any]:
    """A rule whose scope excludes this proposal: neither a failed condition nor a missed
    point, only a rule meant for other kinds of proposal."""
    scope = rule.scope.describe() if rule.scope else "every proposal"
    return {
        "rule_id": rule.id,
        "criterion": rule.criterion,
        "title": rule.title,
        "scope": scope,
        "text": f"Applies to {scope}; this is a {fact['system.category']} bought through "
                f"{fact['acquisition.path']}.",
    }


def _is_strength(rule: Rule, fact: Fact) -> bool:
    """Positive points are a strength; a graded rule that reads 0 is listed where its scale
    can score (a strength it did not earn, or a weakness it avoided)."""
    points = rule.points_for(fact)
    return points > 0 or (points == 0 and rule.point_range[1] > 0)


def criterion_entry(score: CriterionScore, fact: Fact) -> dict[str, Any]:
    criterion = score.criterion
    plain = [r for r in score.fired if not r.deficiency]
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
        "strengths": [finding(r, fact) for r in plain if _is_strength(r, fact)],
        "weaknesses": [finding(r, fact) for r in plain if not _is_strength(r, fact)],
        "deficiencies": [finding(r, fact) for r in score.fired if r.deficiency],
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


def build_result(
    ruleset: Ruleset,
    proposal: dict[str, Any],
    fact: Fact,
    scores: tuple[CriterionScore, ...],
    verdict: Verdict,
    explain_full: bool,
) -> dict[str, Any]:
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
        "criteria": [criterion_entry(s, fact) for s in scores],
        "derived": {k.removeprefix("derived."): v for k, v in fact.items()
                    if k.startswith("derived.")},
        "assumptions": assumptions(proposal, fact, ruleset.context),
    }
    if "phasing" in proposal["acquisition"]:
        result["cost_by_year"] = cost_by_year(proposal, ruleset.context,
                                              fact["derived.total_cost_jpy"])
    if explain_full:
        fired = {r.id for s in scores for r in s.fired}
        result["not_fired"] = [not_fired(r, fact) for r in ruleset.rules
                               if r.id not in fired and r.applies(fact)]
        result["not_applicable"] = [not_applicable(r, fact) for r in ruleset.rules
                                    if not r.applies(fact)]
    return result
