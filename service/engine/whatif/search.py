"""What would it take: the smallest verified changes that lift a proposal to the next band, a
better recommendation, or out from under a deficiency cap.

Single-field changes first: every candidate (``candidates.singles``) is evaluated, so the
search over one field is exact; a number that reaches the next band through a scale is then
moved back toward its current value as far as it still reaches it (a scale's points move
steadily between breakpoints, so the smallest such move lies inside a segment). Then, only
for the goals no single change reaches, pairs of the single changes that moved some rule, at
most ``MAX_PAIRS`` of them. Every option is the evaluation of the changed proposal (validated
through the schema's fast path, decided by the compiled evaluator, scored as ``Engine.assess``
scores): its ``result`` is that evaluation's, never an estimate. Options are ranked by how
little they change (fewer fields; for numbers, the smaller move relative to the declared
range), then by the score gained.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from schemas.vocabulary import RECOMMENDATIONS
from service.engine.evaluation.engine import Engine, ProposalInvalid, validate_proposal
from service.engine.evaluation.facts import fact_and_derived
from service.engine.evaluation.scoring import score_all, verdict
from service.engine.language.model import Band, Rule
from service.engine.whatif import candidates
from service.engine.whatif.changes import Change, apply, describe_all

MAX_PAIRS = 150
MAX_OPTIONS = 8
MAX_PER_CAP = 3
PAIR_SEEDS = 18  # the single changes that moved most, paired with each other


class Outcome(NamedTuple):
    """A proposal decided and scored: what an option claims and what the why-not reads."""

    overall: float
    rating: str
    recommendation: str
    capped_by: tuple[str, ...]
    fired: frozenset[str]
    caps: frozenset[str]  # the deficiency rules that fire
    points: Mapping[str, float]  # what each fired rule gives (a graded rule: its reading)

    def result(self) -> dict[str, Any]:
        return {"overall_score": self.overall, "rating": self.rating,
                "recommendation": self.recommendation, "capped_by": list(self.capped_by)}


def outcome(engine: Engine, raw: Mapping[str, Any]) -> Outcome:
    """``raw`` validated, decided and scored as ``Engine.assess`` does, without hashing or
    wording; raises ``ProposalInvalid``."""
    ruleset = engine.ruleset
    proposal = validate_proposal(raw)
    fact, _ = fact_and_derived(proposal, ruleset.context)
    scores = score_all(ruleset, *engine.compiled.decide(fact))
    found = verdict(ruleset, scores)
    fired = [rule for s in scores for rule in s.fired]
    return Outcome(found.overall, found.rating, found.recommendation, found.capped_by,
                   frozenset(r.id for r in fired), frozenset(r.id for r in fired if r.deficiency),
                   {r.id: r.points_for(fact) for r in fired})


@dataclass(frozen=True)
class Tried:
    changes: tuple[Change, ...]
    outcome: Outcome
    size: float  # how much it changes: fields changed, plus numbers' relative moves


class Search:
    """One proposal's counterfactuals under one engine."""

    def __init__(self, engine: Engine, raw: Mapping[str, Any]) -> None:
        self.engine = engine
        self.ruleset = engine.ruleset
        self.proposal = validate_proposal(raw)
        self.base = outcome(engine, self.proposal)
        self.rules = {rule.id: rule for rule in self.ruleset.rules}
        self.numbers = candidates.plan_for(self.ruleset).numbers
        self.next_band = self._next_band()

    def _next_band(self) -> Band | None:
        higher = [b for b in self.ruleset.bands if b.min_score > self.base.overall]
        return higher[-1] if higher else None

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        singles = self._try(tuple([c]) for c in candidates.singles(self.ruleset, self.proposal))
        singles += self._within_segments(singles)
        pairs = self._pairs(singles) if self._unreached(singles) else []
        tried = singles + pairs
        options = self._ranked([t for t in tried if self._goals(t.outcome)])
        caps = [{"rule_id": rule_id, "removed_by": [self._option(t) for t in self._ranked(
                    [t for t in tried if rule_id not in t.outcome.caps
                     and not self._worse(t.outcome)])][:MAX_PER_CAP]}
                for rule_id in sorted(self.base.caps)]
        chosen = self._chosen(options)
        return {
            "next_band": None if self.next_band is None else {
                "rating": self.next_band.rating, "min_score": self.next_band.min_score,
                "gap": round(self.next_band.min_score - self.base.overall, 2)},
            "options": [self._option(t) for t in chosen],
            "caps": caps,
            "reason": None if chosen else self._reason(len(singles), len(pairs)),
            "why_not": self._why_not(singles),
            "searched": {"single_field": len(singles), "pairs": len(pairs),
                         "ms": round((time.perf_counter() - started) * 1000, 1)},
        }

    # ---- trying changes

    def _try(self, change_sets: Iterable[tuple[Change, ...]]) -> list[Tried]:
        tried = []
        for changes in change_sets:
            try:
                found = outcome(self.engine, apply(self.proposal, changes))
            except ProposalInvalid:
                continue
            tried.append(Tried(changes, found, sum(self._size(c) for c in changes)))
        return tried

    def _within_segments(self, singles: list[Tried]) -> list[Tried]:
        """A scale's points move steadily between its breakpoints, so a number moved less far
        than the candidate that reaches the next band may reach it too. Per such candidate,
        the smallest move on the step grid between it and the neighbouring candidate nearer
        the current value that still reaches what it reaches, found by bisection: between two
        neighbouring candidates no condition changes truth, so the score moves one way."""
        if self.next_band is None:
            return []
        values: dict[str, set[float]] = {}
        for tried in singles:
            change = tried.changes[0]
            if change.numeric:
                values.setdefault(change.field, {change.before}).add(change.after)
        found = []
        for tried in singles:
            change = tried.changes[0]
            if (not change.numeric or change.field not in self.numbers
                    or "band" not in self._reached(tried.outcome) or self._worse(tried.outcome)):
                continue
            toward = sorted(v for v in values[change.field]
                            if min(change.before, change.after) <= v
                            <= max(change.before, change.after))
            near = toward[-2] if change.after > change.before else toward[1]
            closest = self._bisect(tried, near)
            if closest is not None:
                found.append(closest)
        return found

    def _bisect(self, far: Tried, near: float) -> Tried | None:
        """The changed number nearest ``near`` (not reaching, or the current value) that
        reaches all ``far`` reaches, on the step grid; None when only ``far`` itself does."""
        change, declared = far.changes[0], self.numbers[far.changes[0].field]
        wanted = self._reached(far.outcome)
        k_far = round((change.after - declared.low) / declared.step)
        # a current value outside the range counts from just past its end: never tried itself
        last = round((declared.high - declared.low) / declared.step)
        k_near = min(max(round((near - declared.low) / declared.step), -1), last + 1)
        best = None
        while abs(k_far - k_near) > 1:
            middle = (k_far + k_near) // 2
            value = round(declared.low + middle * declared.step, 10)
            attempt = self._try([(candidates.set_number(self.proposal, change.field, value),)])
            if (attempt and wanted <= self._reached(attempt[0].outcome)
                    and not self._worse(attempt[0].outcome)):
                k_far, best = middle, attempt[0]
            else:
                k_near = middle
        return best

    def _size(self, change: Change) -> float:
        declared = self.numbers.get(change.field)
        if change.numeric and declared is not None and declared.high > declared.low:
            return 1 + abs(change.after - change.before) / (declared.high - declared.low)
        return 1.0

    def _pairs(self, singles: list[Tried]) -> list[Tried]:
        moved = sorted((t for t in singles if t.outcome.fired != self.base.fired),
                       key=lambda t: (-t.outcome.overall, t.size))[:PAIR_SEEDS]
        combos = [tuple(sorted(a.changes + b.changes, key=lambda c: c.field))
                  for a, b in itertools.combinations(moved, 2)
                  if a.changes[0].field != b.changes[0].field]
        return self._try(combos[:MAX_PAIRS])

    # ---- goals

    def _better_recommendation(self, found: Outcome) -> bool:
        return (RECOMMENDATIONS.index(found.recommendation)
                < RECOMMENDATIONS.index(self.base.recommendation))

    def _worse(self, found: Outcome) -> bool:
        return (RECOMMENDATIONS.index(found.recommendation)
                > RECOMMENDATIONS.index(self.base.recommendation))

    def _reached(self, found: Outcome) -> set[str]:
        """The goals ``found`` reaches: the next band, a better recommendation, a cap lifted."""
        goals = set()
        if self.next_band is not None and found.overall >= self.next_band.min_score:
            goals.add("band")
        if self._better_recommendation(found):
            goals.add("recommendation")
        goals.update("cap:" + rule_id for rule_id in self.base.caps - found.caps)
        return goals

    def _goals(self, found: Outcome) -> bool:
        return bool(self._reached(found)) and not self._worse(found)

    def _unreached(self, singles: list[Tried]) -> bool:
        wanted = ({"band"} if self.next_band else set()) | {"recommendation"} | {
            "cap:" + rule_id for rule_id in self.base.caps}
        if self.base.recommendation == RECOMMENDATIONS[0]:
            wanted.discard("recommendation")
        for single in singles:
            if not self._worse(single.outcome):
                wanted -= self._reached(single.outcome)
        return bool(wanted)

    # ---- ranking and wording

    def _ranked(self, tried: list[Tried]) -> list[Tried]:
        """Least change first, then most score gained; a change that repeats a smaller one's
        fields to reach no more (a pair containing a single that suffices, a larger move of
        the same number) is dropped."""
        ordered = sorted(tried, key=_least_first)
        kept: list[Tried] = []
        for t in ordered:
            goals = self._reached(t.outcome)
            if any(self._covers(k, t) and goals <= self._reached(k.outcome) for k in kept):
                continue
            kept.append(t)
        return kept

    def _chosen(self, options: list[Tried]) -> list[Tried]:
        """The first ``MAX_OPTIONS``, and the best option for each goal they leave out."""
        chosen = options[:MAX_OPTIONS]
        covered = set().union(*(self._reached(t.outcome) for t in chosen))
        for tried in options[MAX_OPTIONS:]:
            if self._reached(tried.outcome) - covered:
                chosen.append(tried)
                covered |= self._reached(tried.outcome)
        return chosen

    @staticmethod
    def _covers(smaller: Tried, larger: Tried) -> bool:
        """Whether ``smaller`` changes nothing ``larger`` does not: a subset of its changes, or
        the same changes with its numbers moved (ranked first, so by less)."""
        if len(smaller.changes) == len(larger.changes):
            return all(a == b or (a.field == b.field and a.numeric and b.numeric)
                       for a, b in zip(smaller.changes, larger.changes, strict=True))
        return all(change in larger.changes for change in smaller.changes)

    def _option(self, tried: Tried) -> dict[str, Any]:
        found = tried.outcome
        before = self.base.fired
        return {
            "changes": [c.data() for c in tried.changes],
            "result": found.result(),
            "rules_gained": sorted(found.fired - before),
            "rules_lost": sorted(before - found.fired),
            "caps_remaining": list(found.capped_by),
            "sentence": self._sentence(tried),
        }

    def _sentence(self, tried: Tried) -> str:
        found = tried.outcome
        what = describe_all(tried.changes, self.proposal)
        verb = ("raise" if found.overall > self.base.overall else
                "lower" if found.overall < self.base.overall else "keep")
        text = (f"{what[0].upper()}{what[1:]} would {verb} the overall score "
                f"{'at' if verb == 'keep' else 'to'} {found.overall:g} ({found.rating})")
        lifted = sorted(self.base.caps - found.caps)
        if lifted:
            text += " and lift the cap of " + ", ".join(self._named(r) for r in lifted)
        if found.capped_by:
            text += (f"; {', '.join(self._named(r) for r in found.capped_by)} would still cap "
                     f"the recommendation at {found.recommendation.replace('_', ' ')}")
        else:
            text += f"; the recommendation would be {found.recommendation.replace('_', ' ')}"
        return text + "."

    def _named(self, rule_id: str) -> str:
        return f"{rule_id} ({self.rules[rule_id].title})"

    def _reason(self, singles: int, pairs: int) -> str:
        if self.next_band is None and not self.base.caps:
            return ("The proposal is already in the top band with no deficiency cap: there is "
                    "nothing higher to reach.")
        return (f"No change the ruleset allows reaches the next band, a better recommendation "
                f"or lifts a deficiency cap ({singles} single-field and {pairs} paired "
                f"changes tried).")

    def _why_not(self, singles: list[Tried]) -> list[dict[str, Any]]:
        """Per rule that would add points if it fired, or takes points while it does, the
        smallest single change that turns it, with its points; most points first. A graded
        rule that fires and could give points is left out (its reading moves with its figure,
        which the options change; stopping it is not what would help), and so is a rule whose
        scope leaves the proposal out."""
        entries = []
        ranked = sorted(singles, key=_least_first)
        fact, _ = fact_and_derived(self.proposal, self.ruleset.context)
        for rule in self.ruleset.rules:
            fired = rule.id in self.base.fired
            low, high = rule.point_range
            if (fired == (high > 0 and low >= 0) or (not fired and high <= 0)
                    or (fired and rule.scale is not None and high > 0)
                    or self._out_of_scope(rule, fact)):
                continue
            turning = next((t for t in ranked if (rule.id in t.outcome.fired) != fired), None)
            entries.append(self._why_not_entry(rule, fired, turning))
        return sorted(entries, key=lambda e: (-abs(e["points"]), e["rule_id"]))

    def _out_of_scope(self, rule: Rule, fact: Mapping[str, Any]) -> bool:
        """Whether ``rule`` is not meant for this proposal and no allowed change makes it so:
        its scope leaves out the system's category (always fixed) or its acquisition path
        (when the ruleset fixes it). Such a rule is not applicable, not a reason why not."""
        scope = rule.scope
        if scope is None:
            return False
        return ((scope.categories is not None
                 and fact["system.category"] not in scope.categories)
                or (scope.paths is not None and "acquisition.path" in self.ruleset.changeable.fixed
                    and fact["acquisition.path"] not in scope.paths))

    def _why_not_entry(self, rule: Rule, fired: bool, turning: Tried | None) -> dict[str, Any]:
        high = rule.point_range[1]
        # at stake: what it takes now, or what the turning change would give (a graded rule
        # gives its reading there, not the top of its scale); the most it could give otherwise
        points = (self.base.points[rule.id] if fired else
                  turning.outcome.points[rule.id] if turning is not None else high)
        entry: dict[str, Any] = {
            "rule_id": rule.id, "criterion": rule.criterion, "title": rule.title,
            "kind": "penalty" if fired else "bonus", "points": points,
            "change": None, "result": None,
        }
        if turning is None:
            entry["sentence"] = (f"No single change the ruleset allows would "
                                 f"{'stop' if fired else 'fire'} {self._named(rule.id)}.")
            return entry
        what = describe_all(turning.changes, self.proposal)
        entry.update(change=[c.data() for c in turning.changes], result=turning.outcome.result(),
                     sentence=f"{what[0].upper()}{what[1:]} would "
                              f"{'stop' if fired else 'fire'} {self._named(rule.id)} "
                              f"({points:+g} points to {rule.criterion.replace('_', ' ')}).")
        return entry


def _least_first(tried: Tried) -> tuple[Any, ...]:
    """The ranking of changes: fewest fields, smallest moves, most score gained, then by the
    changes themselves, so that equal changes always come in one order."""
    return (len(tried.changes), tried.size, -tried.outcome.overall,
            [c.field for c in tried.changes], repr(tried.changes))


def counterfactuals(engine: Engine, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The counterfactuals of one proposal (see the module docstring); raises
    ``ProposalInvalid``."""
    return Search(engine, raw).run()
