"""One decision as the log keeps it: who asked, what they sent (masked), which ruleset answered,
and the whole result with its explanation (masked alike).

**What the mask covers.** ``DECISION_LOG_MASK`` names proposal fields by their dotted paths; a
path covers what lies below it (``acquisition.total_cost`` covers its amount and currency).
Every copy of what a masked field holds is replaced by ``***``:

- in ``input``, the field itself;
- in ``result``: ``title`` (when ``title`` is masked) and ``summary``, which quotes it;
  ``proposal_id`` (``id``); every derived field computed from a masked field (the total cost in
  USD and JPY and the shares of the budget and envelope from the cost; the partner-registry
  match and the partner counts from ``system.name``, …: ``DERIVED_FROM``); in every finding and
  every rule that did not fire, the ``observed`` value, ``threshold`` and ``text`` of each atom
  on a masked or derived-from-masked field, and the ``sentence`` when its template reads one;
- ``input_hash`` and ``decision_id`` (in the entry and in its result): they are hashes of the
  whole proposal, so anyone could confirm a guess of the masked values against them. With a
  mask they are keyed, HMAC-SHA256 under ``DECISION_LOG_KEY``: equal inputs still have equal
  hashes in the log, but they differ from the ones the API returned (match an entry to an
  answer by ``evaluation_id``);
- the worker's log line for each evaluation, which names the proposal id and these hashes
  (``Mask.identifiers``).

It does not cover what does not come from the masked fields: rule ids, titles and points,
scores, the rating and recommendation, the ruleset, the caller, the time, and fields not named.
An unmasked log keeps the input and result as they are.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from service.clock import utc_now
from service.config import Settings
from service.engine import Assessment, Ruleset, field_catalog, template_fields

MASK = "***"
DERIVED = "derived."
# Which proposal fields each derived field is computed from: the field catalog's declaration
# (the one `rules check` reads too); a unit test changes each proposal field in turn and checks
# that every derived field that moves lists it.
# A money figure is named whole (``acquisition.total_cost``): its amount and its currency.
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    path.removeprefix(DERIVED): tuple(dict.fromkeys(
        source.removesuffix(".amount").removesuffix(".currency") for source, _ in spec.inputs))
    for path, spec in field_catalog().items() if path.startswith(DERIVED)
}


def _overlap(path: str, other: str) -> bool:
    """Whether one of two dotted paths lies within the other (or they are the same)."""
    return path == other or path.startswith(other + ".") or other.startswith(path + ".")


@dataclass(frozen=True)
class Mask:
    """The fields the log masks, and the key its hashes are keyed with when it masks."""

    paths: tuple[str, ...] = ()
    key: bytes = b""

    @classmethod
    def of(cls, settings: Settings) -> Mask:
        return cls(settings.decision_log_mask, settings.decision_log_key.encode())

    def hides(self, field: str | None) -> bool:
        """Whether ``field`` (a proposal path, or ``derived.NAME``) holds masked data."""
        if field is None or not self.paths:
            return False
        if field.startswith(DERIVED):
            sources = DERIVED_FROM.get(field.removeprefix(DERIVED))
            return sources is None or any(self.hides(source) for source in sources)
        return any(_overlap(field, path) for path in self.paths)

    def keyed(self, digest: str) -> str:
        """``digest`` (a hash of the proposal) keyed with HMAC-SHA256, hex."""
        return hmac.new(self.key, digest.encode(), hashlib.sha256).hexdigest()

    def identifiers(self, evaluation: dict[str, Any]) -> dict[str, Any]:
        """The proposal id, input hash and decision id of ``evaluation`` as logs may show
        them: as the decision log keeps them (masked, keyed) when there is a mask."""
        found = {name: evaluation.get(name) for name in ("proposal_id", "input_hash",
                                                         "decision_id")}
        if not self.paths:
            return found
        return {"proposal_id": MASK if self.hides("id") and found["proposal_id"] else
                found["proposal_id"],
                "input_hash": f"hmac-sha256:{self.keyed(str(found['input_hash']))}",
                "decision_id": "dec_" + self.keyed(str(found["decision_id"]))[:32]}


def masked(proposal: dict[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """A copy of ``proposal`` with each dotted path that is present replaced by ``***``: some
    integrators must not keep, say, titles or contractor names in a log."""
    paths = tuple(paths)
    if not paths:
        return proposal  # nothing masked: the entry may share it, it is only serialized
    copied = copy.deepcopy(proposal)
    for path in paths:
        *parents, leaf = path.split(".")
        node: Any = copied
        for name in parents:
            node = node.get(name) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node:
            node[leaf] = MASK
    return copied


def _mask_evidence(atom: dict[str, Any], mask: Mask) -> tuple[dict[str, Any], bool]:
    """The atom with what it shows of masked fields masked; and whether it showed any."""
    observed, threshold = mask.hides(atom.get("field")), mask.hides(atom.get("threshold_field"))
    if not (observed or threshold):
        return atom, False
    atom = {**atom, "text": MASK}
    if observed:
        atom["observed"] = MASK
    if threshold:
        atom["threshold"] = MASK
    return atom, True


def _mask_rule(item: dict[str, Any], evidence_key: str, mask: Mask,
               reads: dict[str, frozenset[str]] | None) -> dict[str, Any]:
    """A finding (or a rule that did not fire) with its evidence and sentence masked. Without
    the ruleset (``reads`` None) a sentence cannot be told clean: it is masked."""
    atoms = [_mask_evidence(atom, mask) for atom in item[evidence_key]]
    fields = reads.get(item["rule_id"]) if reads is not None else None
    revealing = fields is None or any(mask.hides(f) for f in fields)
    masked_item = {**item, evidence_key: [atom for atom, _ in atoms]}
    if revealing and item.get("sentence") is not None:
        masked_item["sentence"] = MASK
    return masked_item


def _sentence_fields(ruleset: Ruleset) -> dict[str, frozenset[str]]:
    return {rule.id: template_fields(rule.because) | template_fields(rule.otherwise or "")
            for rule in ruleset.rules}


def masked_result(evaluation: dict[str, Any], mask: Mask, ruleset: Ruleset | None
                  ) -> dict[str, Any]:
    """A copy of ``evaluation`` without what it reveals of the masked fields (see above)."""
    reads = _sentence_fields(ruleset) if ruleset is not None else None
    result = {**evaluation, **mask.identifiers(evaluation)}
    if mask.hides("title"):
        result["title"] = result["summary"] = MASK
    result["derived"] = {name: MASK if mask.hides(DERIVED + name) else value
                         for name, value in evaluation["derived"].items()}
    result["criteria"] = [
        {**criterion, **{kind: [_mask_rule(f, "evidence", mask, reads) for f in criterion[kind]]
                         for kind in ("strengths", "weaknesses", "deficiencies")}}
        for criterion in evaluation["criteria"]]
    if "not_fired" in evaluation:
        result["not_fired"] = [_mask_rule(rule, "failed", mask, reads)
                               for rule in evaluation["not_fired"]]
    return result


def decision_entry(evaluation_id: str, evaluation: dict[str, Any], proposal: dict[str, Any],
                   caller: str, mask: Mask, batch_id: str | None = None, *,
                   ruleset: Ruleset | None = None) -> dict[str, Any]:
    """The log's entry for one decision; ``ruleset`` (the one that decided) tells which
    sentences read masked fields: without it, a mask masks every sentence."""
    if mask.paths:
        evaluation = masked_result(evaluation, mask, ruleset)
    entry = {
        "evaluation_id": evaluation_id,
        "decision_id": evaluation["decision_id"],
        "time": utc_now(),
        "caller": caller,
        "input_hash": evaluation["input_hash"],
        "input": masked(proposal, mask.paths),
        "ruleset_version": evaluation["ruleset"]["version"],
        "ruleset_hash": evaluation["ruleset"]["hash"],
        "rating": evaluation["rating"],
        "recommendation": evaluation["recommendation"],
        "overall_score": evaluation["overall_score"],
        "result": evaluation,
    }
    if batch_id is not None:
        entry["batch_id"] = batch_id
    return entry


def assessed_entry(evaluation_id: str, assessment: Assessment, ruleset: Ruleset,
                   proposal: dict[str, Any], caller: str, batch_id: str) -> dict[str, Any]:
    """The log's entry for a batch item decided and not yet worded, without a mask: what
    ``decision_entry`` keeps but the result, which the log's reader words again from the input
    (``Engine.reword``: the same bytes), and the explain level it is worded at. Wording is most
    of an evaluation's cost; a batch's items are logged before its chunk is acknowledged, and
    most are never read from the log."""
    verdict = assessment.verdict
    return {
        "evaluation_id": evaluation_id,
        "decision_id": assessment.decision_id,
        "time": utc_now(),
        "caller": caller,
        "input_hash": assessment.input_hash,
        "input": proposal,
        "ruleset_version": ruleset.version,
        "ruleset_hash": ruleset.content_hash,
        "rating": verdict.rating,
        "recommendation": verdict.recommendation,
        "overall_score": verdict.overall,
        "explain": assessment.explain,
        "batch_id": batch_id,
    }
