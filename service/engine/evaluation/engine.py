"""The engine: validate → enrich → decide which rules fire → score → explain.

Two evaluators decide independently by default (mode ``durable``): durable-rules and the
compiled evaluator (``compiled``, the ruleset generated as Python). They must agree on every
evaluation; a disagreement raises, because silently picking one would hide a defect in
whichever is wrong. In mode ``native`` the compiled evaluator decides alone. Either way the
compiled evaluator sums the points and its precompiled explanations word the result, so both
modes give the same bytes.

The trust boundary. The API validates a proposal with ``ProposalSchema`` (its marshmallow
errors are the 422 problem's) and queues the document as the client sent it; the worker
validates it again here, before anything else, because the queue is a boundary too: whatever
can write to the broker (another Redis client, a task from an older or newer release, a
replayed message) reaches the worker without passing the API, and nothing unvalidated may
reach durable-rules, which compares ``"100" < 50`` as true. What the worker may assume is the
form, not the content: Celery's JSON serializer hands it plain JSON data (dicts, lists, text,
integers, floats, booleans, null), which ``ProposalSchema.load``'s fast path takes without
falling back (``schemas.fastload``: ~14 µs a proposal against ~87 µs through marshmallow's own
walk, the same result). So validating twice costs the worker a few percent of an evaluation,
and buys that the engine's input is checked where it is used. The command line and batches
go through the same ``Engine.evaluate``, so through the same check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from marshmallow import ValidationError

from schemas.proposal import ProposalSchema
from schemas.vocabulary import Explain
from service.engine.evaluation import durable
from service.engine.evaluation.compiled import CompiledRules
from service.engine.evaluation.durable import DurableRules
from service.engine.evaluation.facts import Fact, fact_and_derived
from service.engine.evaluation.result import Explainer
from service.engine.evaluation.scoring import CriterionScore, Verdict, score_all, verdict
from service.engine.language import loader
from service.engine.language.loader import canonical_json
from service.engine.language.model import Ruleset

Mode = Literal["durable", "native"]
_PROPOSALS = ProposalSchema()
# what the evaluators cannot take, checked when a ruleset is read (at the rule's line)
LIMITS = (durable.condition_limit,)


def load_ruleset(path: str | Path) -> Ruleset:
    """Load, check and compile one ruleset file for this engine; raises ``RulesetError``
    listing every problem."""
    return loader.load_ruleset(path, LIMITS)


def parse_ruleset(text: str, source: str, base: Path | None = None) -> Ruleset:
    """``load_ruleset`` for a ruleset's text (see ``loader.parse_ruleset``)."""
    return loader.parse_ruleset(text, source, base, LIMITS)


class ProposalInvalid(ValueError):
    """The proposal failed validation; ``messages`` is marshmallow's nested error mapping."""

    def __init__(self, messages: Any) -> None:
        self.messages = messages
        super().__init__(f"invalid proposal: {messages}")


class EngineDisagreement(RuntimeError):
    """durable-rules and the compiled evaluator fired different rules for the same fact."""

    def __init__(self, durable: frozenset[str], compiled: frozenset[str]) -> None:
        self.only_durable = sorted(durable - compiled)
        self.only_compiled = sorted(compiled - durable)
        super().__init__(
            f"evaluators disagree: only durable-rules fired {self.only_durable}, "
            f"only the compiled evaluator fired {self.only_compiled}"
        )


def sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def validate_proposal(raw: Mapping[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = _PROPOSALS.load(raw)
    except ValidationError as error:
        raise ProposalInvalid(error.messages) from None
    return loaded


@dataclass(frozen=True, slots=True)
class Assessment:
    """A proposal decided and scored, not yet worded: everything a result states but its
    sentences and evidence. A batch item is stored as this much (its summary) and worded when it
    is read (``Engine.result`` of the same assessment, so byte for byte the single evaluation):
    wording is most of an evaluation's cost."""

    proposal: dict[str, Any]  # validated
    fact: Fact
    derived: dict[str, Any]
    scores: tuple[CriterionScore, ...]
    verdict: Verdict
    input_hash: str
    decision_id: str
    explain: Explain


class Engine:
    """A loaded ruleset, compiled for its evaluators once; safe to reuse for many
    evaluations (the service keeps one per ruleset version per process)."""

    def __init__(self, ruleset: Ruleset, mode: Mode = "durable") -> None:
        self.ruleset = ruleset
        self.mode = mode
        self.compiled = CompiledRules(ruleset)
        self._explainer = Explainer(ruleset, self.compiled)
        self._durable = DurableRules(ruleset) if mode == "durable" else None

    @classmethod
    def from_path(cls, path: str | Path, mode: Mode = "durable") -> Engine:
        return cls(load_ruleset(path), mode)

    def decide(self, fact: Fact) -> tuple[list[list[int]], list[float]]:
        """For each criterion, the indexes of its rules that fire and their points; in durable
        mode durable-rules decides too and must agree."""
        fired, points = self.compiled.decide(fact)
        if self._durable is not None:
            durable = self._durable.fired(fact)
            compiled = self.compiled.ids_of(fired)
            if durable != compiled:
                raise EngineDisagreement(durable, compiled)
        return fired, points

    def fired(self, fact: Fact) -> frozenset[str]:
        """The ids of the rules that fire (decided as ``decide`` does)."""
        return self.compiled.ids_of(self.decide(fact)[0])

    def evaluate(self, raw: Mapping[str, Any], explain: Explain = "summary") -> dict[str, Any]:
        """Evaluate one proposal (as JSON-like data); raises ``ProposalInvalid``.

        The result is deterministic: the same proposal and ruleset give the same bytes,
        decision id included (it is derived from the input and ruleset hashes).
        """
        return self.result(self.assess(raw, explain))

    def assess(self, raw: Mapping[str, Any], explain: Explain = "summary", *,
               cross_check: bool = True) -> Assessment:
        """Validate, decide and score one proposal, without wording the result; raises
        ``ProposalInvalid``. ``cross_check=False`` lets the compiled evaluator decide alone:
        for wording again what was decided (and cross-checked) before."""
        proposal = validate_proposal(raw)
        fact, derived = fact_and_derived(proposal, self.ruleset.context)
        scores = score_all(self.ruleset, *(self.decide(fact) if cross_check
                                           else self.compiled.decide(fact)))
        input_hash = sha256(canonical_json(proposal))
        decision = sha256(f"{self.ruleset.content_hash}|{input_hash}|{explain}")
        return Assessment(proposal, fact, derived, scores, verdict(self.ruleset, scores),
                          input_hash, "dec_" + decision[7:39], explain)

    def result(self, assessment: Assessment) -> dict[str, Any]:
        """The worded result of ``assessment``: what ``evaluate`` answers."""
        a = assessment
        worded = self._explainer.result(a.proposal, a.fact, a.derived, a.scores, a.verdict,
                                        a.explain == "full")
        return {"decision_id": a.decision_id, "input_hash": a.input_hash, **worded}

    def reword(self, raw: Mapping[str, Any], explain: Explain = "summary") -> dict[str, Any]:
        """``evaluate`` for a proposal this ruleset already decided (a stored batch item): the
        compiled evaluator decides alone, so durable-rules is never started in a process that
        only reads results (the API)."""
        return self.result(self.assess(raw, explain, cross_check=False))

    def evaluate_many(
        self, raws: Sequence[Mapping[str, Any]], explain: Explain = "summary"
    ) -> list[dict[str, Any] | ProposalInvalid]:
        """Evaluate a chunk of proposals; an invalid one is returned as its ``ProposalInvalid``
        in its place, so one bad item never costs the others their results.

        Each result equals ``evaluate`` of the same proposal, byte for byte (batch scoring
        relies on it); this is the one place to amortize per-call costs over a chunk.
        """
        outcomes: list[dict[str, Any] | ProposalInvalid] = []
        for raw in raws:
            try:
                outcomes.append(self.evaluate(raw, explain))
            except ProposalInvalid as error:
                outcomes.append(error)
        return outcomes
