"""The engine: validate → enrich → decide which rules fire → score → explain.

Two evaluators decide independently by default: durable-rules and the native evaluator. They
must agree on every evaluation; a disagreement raises, because silently picking one would
hide a defect in whichever is wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from marshmallow import ValidationError

from schemas.proposal import ProposalSchema
from schemas.vocabulary import Explain
from service.engine.evaluation import durable
from service.engine.evaluation.durable import DurableRules
from service.engine.evaluation.facts import build_fact
from service.engine.evaluation.interpreter import InterpretedRules
from service.engine.evaluation.result import build_result
from service.engine.evaluation.scoring import score_all, verdict
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
    """durable-rules and the native evaluator fired different rules for the same fact."""

    def __init__(self, durable: frozenset[str], native: frozenset[str]) -> None:
        self.only_durable = sorted(durable - native)
        self.only_native = sorted(native - durable)
        super().__init__(
            f"evaluators disagree: only durable-rules fired {self.only_durable}, "
            f"only the native evaluator fired {self.only_native}"
        )


def sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def validate_proposal(raw: Mapping[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = _PROPOSALS.load(raw)
    except ValidationError as error:
        raise ProposalInvalid(error.messages) from None
    return loaded


class Engine:
    """A loaded ruleset, compiled for both evaluators; safe to reuse for many evaluations."""

    def __init__(self, ruleset: Ruleset, mode: Mode = "durable") -> None:
        self.ruleset = ruleset
        self.mode = mode
        self._native = InterpretedRules(ruleset)
        self._durable = DurableRules(ruleset) if mode == "durable" else None

    @classmethod
    def from_path(cls, path: str | Path, mode: Mode = "durable") -> Engine:
        return cls(load_ruleset(path), mode)

    def fired(self, fact: dict[str, Any]) -> frozenset[str]:
        native = self._native.fired(fact)
        if self._durable is not None:
            durable = self._durable.fired(fact)
            if durable != native:
                raise EngineDisagreement(durable, native)
        return native

    def evaluate(self, raw: Mapping[str, Any], explain: Explain = "summary") -> dict[str, Any]:
        """Evaluate one proposal (as JSON-like data); raises ``ProposalInvalid``.

        The result is deterministic: the same proposal and ruleset give the same bytes,
        decision id included (it is derived from the input and ruleset hashes).
        """
        proposal = validate_proposal(raw)
        fact = build_fact(proposal, self.ruleset.context)
        scores = score_all(self.ruleset, self.fired(fact), fact)
        result = build_result(self.ruleset, proposal, fact, scores,
                              verdict(self.ruleset, scores), explain == "full")
        input_hash = sha256(canonical_json(proposal))
        decision = sha256(f"{self.ruleset.content_hash}|{input_hash}|{explain}")
        return {"decision_id": "dec_" + decision[7:39], "input_hash": input_hash, **result}

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
