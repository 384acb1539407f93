"""Scoring one chunk of a batch: decode each item, assess the valid ones with the engine.

The Celery chunk task and ``policy-eval score`` both call ``score_chunk``, so the service and
the command line give the same results. An item is assessed (``Engine.assess``: validated,
decided, scored; its summary kept) and its result worded when it is read
(``Engine.reword``, see ``service.batch.store``): wording is most of an evaluation's cost, and
most batch items are only ever ranked, counted and funded. A worded item is ``Engine.evaluate``
of the same proposal, byte for byte: a batch result is the single evaluation of that proposal.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from schemas.errors import ROOT, field_errors
from schemas.fields import surrogate_errors
from service.batch.csvmap import row_to_proposal
from service.batch.formats import TABULAR, Format, RawItem
from service.engine import Assessment, Engine, Explain, ProposalInvalid, counterfactuals

log = logging.getLogger(__name__)

_MAYBE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


@dataclass(frozen=True)
class Chunk:
    """What a chunk task needs, self-contained: the CSV header travels with every chunk."""

    format: Format
    explain: Explain
    items: list[RawItem]
    header: list[str] = field(default_factory=list)
    counterfactuals: bool = False  # search each item's next-band gap and best option

    def encode(self) -> bytes:
        extra = {"counterfactuals": True} if self.counterfactuals else {}
        return orjson.dumps({"format": self.format, "explain": self.explain,
                             "header": self.header, **extra,
                             "items": [(i.index, i.line, i.data) for i in self.items]})

    @classmethod
    def decode(cls, payload: bytes) -> Chunk:
        data = orjson.loads(payload)
        return cls(data["format"], data["explain"],
                   [RawItem(index, line, item) for index, line, item in data["items"]],
                   data["header"], data.get("counterfactuals", False))


@dataclass(frozen=True, slots=True)
class Scored:
    index: int
    line: int
    assessment: Assessment
    summary: dict[str, Any]
    proposal: dict[str, Any]  # as sent: what is stored, worded on reading, and logged


@dataclass(frozen=True, slots=True)
class Failed:
    """An item without a result: ``invalid`` (the proposal is wrong; resending it cannot help)
    or ``failed`` (the engine could not evaluate it; the worker log says why)."""

    index: int
    line: int
    kind: Literal["invalid", "failed"]
    errors: list[dict[str, str]]
    proposal_id: str | None = None
    title: str | None = None  # as given, so a failure can be told apart without its line

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "line": self.line, "status": self.kind,
                "proposal_id": self.proposal_id, "title": self.title, "errors": self.errors}


Outcome = Scored | Failed


def decode_item(chunk: Chunk, item: RawItem) -> tuple[Any, list[dict[str, str]]]:
    """The JSON-like proposal of ``item`` and the errors that stop it being a valid one: with
    errors, the proposal holds what could be read (the cells that converted), or None."""
    if chunk.format in TABULAR:
        assert isinstance(item.data, list)
        return row_to_proposal(chunk.header, item.data)
    assert isinstance(item.data, str)
    try:
        # the stdlib parser, as POST /v1/evaluations uses: one input, one result
        proposal = json.loads(item.data)
    except (ValueError, RecursionError) as error:
        return None, [{"field": ROOT, "message": f"Not JSON: {error}"}]
    # text that cannot be UTF-8 could not be stored with the item's outcome; only a \uD800-
    # \uDFFF escape (or such a character in the text) can decode to it, so most items are
    # cleared by one scan of their text instead of a walk over every decoded string
    if _MAYBE_SURROGATE.search(item.data):
        errors = surrogate_errors(proposal)
        if errors:
            return None, errors  # its text could not be stored with the failure either
    return proposal, []


def _named(proposal: Any, key: str) -> str | None:
    """The proposal's id or title when it gives one as text, for telling a failure apart."""
    found = proposal.get(key) if isinstance(proposal, Mapping) else None
    if isinstance(found, str) and found.strip():
        return found.strip()
    return None


def _failed(item: RawItem, kind: Literal["invalid", "failed"], errors: list[dict[str, str]],
            proposal: Any) -> Failed:
    return Failed(item.index, item.line, kind, errors, _named(proposal, "id"),
                  _named(proposal, "title"))


def cost_basis(proposal: Mapping[str, Any]) -> dict[str, str | None]:
    """The acquisition path and the currency the cost was stated in: what the uncertainty of
    a cost depends on (an FMS notification is a ceiling; a dollar cost moves with the rate)."""
    acquisition = proposal.get("acquisition")
    acquisition = acquisition if isinstance(acquisition, Mapping) else {}
    money = acquisition.get("total_cost") or acquisition.get("unit_cost")
    currency = money.get("currency") if isinstance(money, Mapping) else None
    path = acquisition.get("path")
    return {"acquisition_path": path if isinstance(path, str) else None,
            "cost_currency": currency if isinstance(currency, str) else None}


def summarize(assessment: Assessment, proposal: Mapping[str, Any]) -> dict[str, Any]:
    """The few figures ranking, CSV downloads, the portfolio and the robustness analysis need,
    so they never word or parse a full evaluation: each as that evaluation states it."""
    derived = assessment.derived
    acquisition = proposal.get("acquisition", {})
    area = acquisition.get("capability_area") if isinstance(acquisition, Mapping) else None
    verdict = assessment.verdict
    return {
        "proposal_id": assessment.proposal.get("id"),
        "title": assessment.proposal["title"],
        "overall_score": verdict.overall,
        "rating": verdict.rating,
        "recommendation": verdict.recommendation,
        "scores": {s.criterion.name: s.score for s in assessment.scores},
        "deficiencies": [rule.id for s in assessment.scores for rule in s.fired
                         if rule.deficiency],
        "capped_by": list(verdict.capped_by),
        "total_cost_jpy": derived.get("total_cost_jpy"),
        "total_cost_usd": derived.get("total_cost_usd"),
        "capability_area": area.strip() if isinstance(area, str) else None,
        "envelope_remaining_jpy": derived.get("envelope_remaining_jpy"),
        **cost_basis(proposal),
        "decision_id": assessment.decision_id,
    }


def score_chunk(engine: Engine, chunk: Chunk, items: Sequence[RawItem] | None = None
                ) -> list[Outcome]:
    """Outcomes of ``items`` (default: the whole chunk), in order; never raises for an item.

    One item the engine cannot assess (e.g. the two evaluators disagree) costs the others
    nothing: it is that item's failure.
    """
    items = chunk.items if items is None else items
    outcomes: list[Outcome | None] = [None] * len(items)
    pending: list[tuple[int, Any]] = []
    for position, item in enumerate(items):
        proposal, errors = decode_item(chunk, item)
        if errors:
            outcomes[position] = _failed(item, "invalid", errors, proposal)
        elif not isinstance(proposal, dict):
            outcomes[position] = Failed(item.index, item.line, "invalid", [{
                "field": ROOT, "message": "Not a JSON object: each item is one proposal."}])
        else:
            pending.append((position, proposal))
    results = _assess(engine, [proposal for _, proposal in pending], chunk.explain)
    for (position, proposal), result in zip(pending, results, strict=True):
        item = items[position]
        if isinstance(result, ProposalInvalid):
            outcomes[position] = _failed(item, "invalid", field_errors(result.messages),
                                         proposal)
        elif isinstance(result, Exception):
            outcomes[position] = _failed(item, "failed", [{
                "field": ROOT, "message": f"The engine could not evaluate this proposal "
                                         f"({type(result).__name__}); the worker log has the "
                                         "details."}], proposal)
        else:
            summary = summarize(result, proposal)
            if chunk.counterfactuals:
                summary.update(what_it_would_take(engine, proposal))
            outcomes[position] = Scored(item.index, item.line, result, summary, proposal)
    return [o for o in outcomes if o is not None]


def what_it_would_take(engine: Engine, proposal: Mapping[str, Any]) -> dict[str, Any]:
    """How far the item is from the next band (None in the top band) and the best verified
    change in words (else why there is none): what a batch keeps of the counterfactuals."""
    answer = counterfactuals(engine, proposal)
    band, options = answer["next_band"], answer["options"]
    return {"next_band_gap": band["gap"] if band else None,
            "best_option": options[0]["sentence"] if options else answer["reason"]}


def _assess(engine: Engine, proposals: list[Any], explain: Explain
            ) -> list[Assessment | Exception]:
    results: list[Assessment | Exception] = []
    for proposal in proposals:
        try:
            results.append(engine.assess(proposal, explain))
        except Exception as error:  # ProposalInvalid included: it is the item's answer
            if not isinstance(error, ProposalInvalid):
                log.exception("assessment failed for a batch item")
            results.append(error)
    return results


def word(engine: Engine, explain: Explain, stored: Sequence[bytes | None]
         ) -> list[bytes | None]:
    """The results of stored items (``BatchStore.proposals``), worded as JSON: each the single
    evaluation of its proposal, byte for byte, by the ruleset that scored it (``engine``)."""
    return [None if raw is None else orjson.dumps(engine.reword(orjson.loads(raw), explain))
            for raw in stored]


def stored_proposals(payloads: Sequence[bytes]) -> list[dict[str, Any]]:
    """The proposals of a stored batch, in upload order, from its chunks as uploaded; items
    that are not proposals are left out (they have no evaluation under any ruleset)."""
    proposals = []
    for payload in payloads:
        chunk = Chunk.decode(payload)
        for item in chunk.items:
            proposal, errors = decode_item(chunk, item)
            if not errors and isinstance(proposal, dict):
                proposals.append(proposal)
    return proposals

