"""A robustness analysis as a job of the service: the request, the check made before anything
is queued, and the job's result with its charts.

The API checks a request against the batch's summaries and the ruleset the batch was scored
under (``prepare``), so that a batch that cannot be analysed is refused at once, in words for
the caller (``Refused``), instead of failing on a worker. The workers then run the request's
units (``analysis.Plan.units``), each reading the same ``Inputs``, and the last to finish
combines them into ``result``.

The seed, when the caller gives none, is derived from the batch id: the same request on the
same batch draws the same samples, so it gives the same answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from service.batch.portfolio import Currency
from service.engine import Ruleset
from service.robustness import charts
from service.robustness.analysis import Analysis, Inputs, Plan, document, inputs
from service.robustness.proposals import ProposalsError, from_summaries
from service.robustness.sampling import SamplingError

PORTFOLIO_SAMPLES = Plan.portfolio_samples  # at most; fewer when fewer samples are asked for
CHARTS = ("tornado", "rank-acceptability", "core-indices")


class Refused(ValueError):
    """The batch cannot be analysed; the message says why, for the caller."""


@dataclass(frozen=True)
class Request:
    batch_id: str
    ruleset_version: str  # the version the batch was scored under
    samples: int
    top_k: int
    seed: int
    budget: float | None
    currency: Currency

    @property
    def plan(self) -> Plan:
        return Plan(self.samples, min(self.samples, PORTFOLIO_SAMPLES), self.top_k, self.seed)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Request:
        return cls(**data)


def default_seed(batch_id: str) -> int:
    """53 bits of the batch id's SHA-256: a seed every JSON reader keeps exactly (JavaScript's
    numbers are doubles), so that a client can send it back."""
    return int.from_bytes(hashlib.sha256(batch_id.encode()).digest()[:8], "big") >> 11


def prepare(summaries: Iterable[Mapping[str, Any]], ruleset: Ruleset, request: Request
            ) -> Inputs:
    """The inputs of every unit; raises ``Refused`` for a batch that cannot be analysed."""
    scored = list(summaries)
    if not scored:
        raise Refused("The batch has no scored proposal to analyse.")
    try:
        proposals = from_summaries(scored, ruleset.criteria)
        return inputs(proposals, ruleset.uncertainty, request.budget, request.currency)
    except (ProposalsError, SamplingError) as error:
        raise Refused(f"This batch cannot be analysed under ruleset {ruleset.version}: "
                      f"{error}.") from None


def result(analysis: Analysis, request: Request) -> tuple[dict[str, Any], dict[str, str]]:
    """The job's result, and its charts as SVG text by name (``CHARTS``)."""
    proposals = analysis.given.proposals
    found = {"batch_id": request.batch_id, "ruleset_version": request.ruleset_version,
             **document(analysis)}
    drawn = {"tornado": charts.tornado(analysis.stability, proposals, request.top_k),
             "rank-acceptability": charts.heat_map(analysis.acceptability, proposals)}
    if analysis.portfolio is not None:
        drawn["core-indices"] = charts.core_bars(analysis.portfolio, proposals)
    return found, drawn
