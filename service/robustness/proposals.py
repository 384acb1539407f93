"""The scored proposals of a batch as arrays: what every robustness computation reads.

Built from the summaries a batch stores per item (``service.batch.chunks.summarize``): the
overall and per-criterion scores, deficiencies, costs in JPY and USD and capability area.
Cost uncertainty also needs each proposal's acquisition path and the currency its cost was
stated in, which a summary carries as ``acquisition_path`` and ``cost_currency``; a batch
stored before summaries carried them has none (``sampling.CostSampler`` says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.engine import Criterion


class ProposalsError(ValueError):
    """Summaries that cannot be analysed together (the message names the item)."""


@dataclass(frozen=True)
class Proposals:
    """Scored proposals in upload order; position ``p`` is row ``p`` of every array."""

    criteria: tuple[str, ...]
    weights: np.ndarray  # (criteria,) the ruleset's stated weights
    scores: np.ndarray  # (proposals, criteria) criterion scores, 0..100
    overall_cents: np.ndarray  # (proposals,) the service's overall score in cents
    summaries: tuple[dict[str, Any], ...]  # as stored: what the portfolio reads

    @property
    def size(self) -> int:
        return len(self.summaries)

    @property
    def indexes(self) -> list[int]:
        """Each proposal's index in its batch (its upload position)."""
        return [int(s["index"]) for s in self.summaries]

    def label(self, position: int) -> str:
        summary = self.summaries[position]
        return str(summary.get("proposal_id") or f"#{summary['index']}")


def from_summaries(summaries: Iterable[Mapping[str, Any]], criteria: Sequence[Criterion]
                   ) -> Proposals:
    """The proposals of ``summaries`` (scored items only) under the ruleset's ``criteria``."""
    ordered = tuple(dict(s) for s in sorted(summaries, key=lambda s: s["index"]))
    names = tuple(c.name for c in criteria)
    scores = np.empty((len(ordered), len(names)))
    for row, summary in enumerate(ordered):
        found = summary.get("scores", {})
        missing = [name for name in names if not isinstance(found.get(name), (int, float))]
        if missing:
            raise ProposalsError(f"item {summary['index']} has no score for "
                                 f"{', '.join(missing)}: it was scored under another ruleset")
        scores[row] = [found[name] for name in names]
    overall = np.array([round(float(s["overall_score"]) * 100) for s in ordered],
                       dtype=np.int64)
    return Proposals(names, np.array([c.weight for c in criteria]), scores, overall, ordered)
