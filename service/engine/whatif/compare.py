"""Two or more evaluation results side by side: the what-if diff of one proposal before and
after an edit, and the comparison of several proposals with the rules that separate each pair.

Both read worded results (``Engine.evaluate``'s), so they work on what a client was answered.
A pair's rule differences are each rule's points times its criterion's weight; what clamping a
criterion to 0..100 takes away is ``other``, so the differences and ``other`` add up to the
score difference exactly (to the cent of a point the scores are given in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FINDING_LISTS = ("strengths", "weaknesses", "deficiencies")


def fired_rules(result: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The rules that fired in ``result``, by id: criterion, title, points."""
    found = {}
    for criterion in result["criteria"]:
        for kind in FINDING_LISTS:
            for finding in criterion[kind]:
                found[finding["rule_id"]] = {"rule_id": finding["rule_id"],
                                             "criterion": criterion["criterion"],
                                             "title": finding["title"],
                                             "points": finding["points"]}
    return found


def _delta(before: float, after: float) -> float:
    return round(after - before, 4) + 0.0


def what_if_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """How ``after`` differs from ``before``: the overall score, each criterion, the rating and
    the recommendation, and the rules gained and lost with their points."""
    old, new = fired_rules(before), fired_rules(after)
    scores_after = {c["criterion"]: c["score"] for c in after["criteria"]}
    return {
        "overall": {"before": before["overall_score"], "after": after["overall_score"],
                    "delta": _delta(before["overall_score"], after["overall_score"])},
        "criteria": [{"criterion": c["criterion"], "label": c["label"], "before": c["score"],
                      "after": scores_after[c["criterion"]],
                      "delta": _delta(c["score"], scores_after[c["criterion"]])}
                     for c in before["criteria"]],
        "rating": _changed(before["rating"], after["rating"]),
        "recommendation": _changed(before["recommendation"], after["recommendation"]),
        "rules_gained": [new[r] for r in sorted(new.keys() - old.keys())],
        "rules_lost": [old[r] for r in sorted(old.keys() - new.keys())],
        "rules_changed": [{**new[r], "points_before": old[r]["points"]}
                          for r in sorted(new.keys() & old.keys())
                          if new[r]["points"] != old[r]["points"]],
    }


def _changed(before: str, after: str) -> dict[str, Any]:
    return {"before": before, "after": after, "changed": before != after}


def ranks(values: Sequence[float]) -> list[int]:
    """1 for the highest; equal values share a rank (1, 1, 3)."""
    return [1 + sum(other > value for other in values) for value in values]


def comparison(results: Sequence[Mapping[str, Any]],
               evaluation_ids: Sequence[str | None]) -> dict[str, Any]:
    """The results side by side with ranks, and for each pair the rules that separate it."""
    first = results[0]
    criteria = [{"criterion": c["criterion"], "label": c["label"], "weight": c["weight"]}
                for c in first["criteria"]]
    overall_ranks = ranks([r["overall_score"] for r in results])
    criterion_ranks = {c["criterion"]: ranks([_score(r, c["criterion"]) for r in results])
                       for c in criteria}
    items = [{
        "index": index, "proposal_id": result["proposal_id"], "title": result["title"],
        "evaluation_id": evaluation_ids[index], "overall_score": result["overall_score"],
        "rating": result["rating"], "recommendation": result["recommendation"],
        "rank": overall_ranks[index],
        "scores": {c["criterion"]: {"score": c["score"], "weighted": c["weighted_score"],
                                    "rank": criterion_ranks[c["criterion"]][index]}
                   for c in result["criteria"]},
    } for index, result in enumerate(results)]
    weights = {c["criterion"]: c["weight"] for c in criteria}
    pairs = [pair(a, b, results[a], results[b], weights)
             for a in range(len(results)) for b in range(a + 1, len(results))]
    return {"ruleset": first["ruleset"], "criteria": criteria, "items": items, "pairs": pairs}


def _score(result: Mapping[str, Any], criterion: str) -> float:
    return next(c["score"] for c in result["criteria"] if c["criterion"] == criterion)


def pair(a: int, b: int, first: Mapping[str, Any], second: Mapping[str, Any],
         weights: Mapping[str, float]) -> dict[str, Any]:
    """The rules that make ``first`` and ``second`` differ, each with its contribution to the
    overall difference (first minus second), and ``other``, what no rule explains."""
    in_a, in_b = fired_rules(first), fired_rules(second)
    differences = []
    for rule_id in sorted(in_a.keys() | in_b.keys()):
        points_a = in_a[rule_id]["points"] if rule_id in in_a else 0.0
        points_b = in_b[rule_id]["points"] if rule_id in in_b else 0.0
        if points_a == points_b:
            continue
        rule = in_a.get(rule_id) or in_b[rule_id]
        fired_in = "both" if rule_id in in_a and rule_id in in_b else (
            "a" if rule_id in in_a else "b")
        differences.append({
            "rule_id": rule_id, "criterion": rule["criterion"], "title": rule["title"],
            "fired_in": fired_in,
            "points": round(weights[rule["criterion"]] * (points_a - points_b), 4) + 0.0})
    differences.sort(key=lambda d: (-abs(d["points"]), d["rule_id"]))
    score_difference = round(first["overall_score"] - second["overall_score"], 2) + 0.0
    explained = sum(d["points"] for d in differences)
    return {"a": a, "b": b, "score_difference": score_difference, "differences": differences,
            "other": round(score_difference - explained, 4) + 0.0}
