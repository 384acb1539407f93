"""The evaluation result: scores, verdict and an explanation in which every point is accounted
for by a fired rule, each with its rendered sentence and per-atom evidence."""

from __future__ import annotations

from typing import Any

from service.engine.evaluation.evidence import evidence
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
        "points": rule.points,
        "sentence": render(rule.because, fact),
        "evidence": [evidence(r) for r in why(rule.condition, fact)],
    }
    if rule.deficiency:
        entry["caps_at"] = rule.deficiency
    return entry


def not_fired(rule: Rule, fact: Fact) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "criterion": rule.criterion,
        "title": rule.title,
        "points": rule.points,
        "sentence": render(rule.otherwise, fact) if rule.otherwise else None,
        "failed": [evidence(r) for r in why_not(rule.condition, fact)],
    }


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
        "strengths": [finding(r, fact) for r in plain if r.points > 0],
        "weaknesses": [finding(r, fact) for r in plain if r.points < 0],
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
    }
    if explain_full:
        fired = {r.id for s in scores for r in s.fired}
        result["not_fired"] = [not_fired(r, fact) for r in ruleset.rules if r.id not in fired]
    return result
