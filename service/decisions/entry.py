"""One decision as the log keeps it: who asked, what they sent (masked), which ruleset answered,
and the whole result with its explanation."""

from __future__ import annotations

import copy
from typing import Any

from service.clock import utc_now

MASK = "***"


def masked(proposal: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """A copy of ``proposal`` with each dotted path that is present replaced by ``***``: some
    integrators must not keep, say, titles or contractor names in a log."""
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


def decision_entry(evaluation_id: str, evaluation: dict[str, Any], proposal: dict[str, Any],
                   caller: str, mask: tuple[str, ...], batch_id: str | None = None
                   ) -> dict[str, Any]:
    entry = {
        "evaluation_id": evaluation_id,
        "decision_id": evaluation["decision_id"],
        "time": utc_now(),
        "caller": caller,
        "input_hash": evaluation["input_hash"],
        "input": masked(proposal, mask),
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
