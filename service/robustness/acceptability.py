"""Rank acceptability (SMAA-2, Lahdelma & Salminen 2001) under weight uncertainty.

Each sample re-weights the criterion scores with that sample's weights and ranks the batch as
the service does (``ranking``). Per proposal: the share of samples in which it ranks first, in
the top k, its expected rank, its 5-95 % rank interval, and its central weights (the mean
weights of the samples in which it ranks first: the weights that best support it).

Cost uncertainty does not enter: a cost changes a ranking only through the rules that read
it (budget fit), and a criterion score cannot change without evaluating the proposal again,
which for 10,000 samples × 10,000 proposals is 10^8 evaluations. The ranking is of the scores
as evaluated; cost uncertainty acts on the portfolio (``core``), where it decides what fits.

The work is split in blocks of samples (``sampling.blocks``): ``tally`` counts one block,
``Tally.merge`` adds tallies and ``rank_acceptability`` reads the total. Counts are integers
and central weights are summed in fixed point (2^-40), so a total is the same whatever blocks
were counted where and merged in what order.

Ranks per proposal are kept as a histogram: one bin per rank up to ``EXACT_RANKS``, then bins
at most 2.5 % wide (296 bins for 10,000 proposals), so that a tally's size does not grow with
the number of samples (24 MB in memory for 10,000 proposals, 0.4 MB as ``to_bytes``). A rank
interval that reaches past ``EXACT_RANKS`` is widened to its bins' edges: it always contains
the exact 5-95 % interval, and says whether it is exact.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from service.robustness.proposals import Proposals
from service.robustness.ranking import order, overall_cents
from service.robustness.sampling import WeightSampler

EXACT_RANKS = 100
_GROWTH = 1.025
_FIXED_POINT = 2.0 ** 40
# samples ranked at once: 250 rankings of 10,000 proposals keep the arrays under ~25 MB each
_ROWS = 250


def rank_edges(size: int) -> np.ndarray:
    """The first rank of each bin, and one past the last rank: exact up to ``EXACT_RANKS``,
    then each bin at most 2.5 % of its first rank wide."""
    edges = list(range(1, min(size, EXACT_RANKS) + 2))
    while edges[-1] <= size:
        edges.append(min(size + 1, max(edges[-1] + 1, math.floor(edges[-1] * _GROWTH))))
    return np.array(edges)


@dataclass
class Tally:
    """Counts over some blocks of samples; add tallies of other blocks with ``merge``."""

    top_k: int
    samples: int
    first: np.ndarray  # (proposals,) samples ranked first
    top: np.ndarray  # (proposals,) samples in the top k
    rank_sum: np.ndarray  # (proposals,) Σ rank
    ranks: np.ndarray  # (proposals, bins) samples per rank bin (``rank_edges``)
    central: np.ndarray  # (proposals, criteria) Σ weights where first, in units of 2^-40

    @classmethod
    def empty(cls, proposals: int, criteria: int, top_k: int) -> Tally:
        bins = len(rank_edges(proposals)) - 1
        return cls(top_k, 0, np.zeros(proposals, np.int64), np.zeros(proposals, np.int64),
                   np.zeros(proposals, np.int64), np.zeros((proposals, bins), np.int64),
                   np.zeros((proposals, criteria), np.int64))

    def merge(self, other: Tally) -> Tally:
        if other.top_k != self.top_k or other.ranks.shape != self.ranks.shape:
            raise ValueError("tallies of different batches or top-k cannot be merged")
        return Tally(self.top_k, self.samples + other.samples, self.first + other.first,
                     self.top + other.top, self.rank_sum + other.rank_sum,
                     self.ranks + other.ranks, self.central + other.central)

    def to_bytes(self) -> bytes:
        """For a worker to hand its tally to the reducer: numpy's format, no pickle, counts as
        32 bits and compressed (most rank bins are empty: a block over 10,000 proposals is
        0.4 MB instead of 24, for ~60 ms)."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, top_k=self.top_k, samples=self.samples, first=self.first,
                            top=self.top, rank_sum=self.rank_sum,
                            ranks=self.ranks.astype(np.int32), central=self.central)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Tally:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            return cls(int(stored["top_k"]), int(stored["samples"]), stored["first"],
                       stored["top"], stored["rank_sum"], stored["ranks"].astype(np.int64),
                       stored["central"])


def tally(proposals: Proposals, weights: WeightSampler, seed: int, block: int, size: int,
          top_k: int, progress: Callable[[int], None] | None = None) -> Tally:
    """Count the first ``size`` samples of weight block ``block``, telling ``progress`` how
    many are counted as it goes (every ``_ROWS``)."""
    n = proposals.size
    drawn = weights.block(seed, block)[:size]
    counted = Tally.empty(n, len(proposals.criteria), top_k)
    counted.samples = size
    edges = rank_edges(n)
    positions = np.arange(1, n + 1)
    for start in range(0, size, _ROWS):
        rows = drawn[start:start + _ROWS]
        ranked = order(overall_cents(proposals.scores, rows))  # (rows, n): positions
        counted.first += np.bincount(ranked[:, 0], minlength=n)
        counted.top += np.bincount(ranked[:, :top_k].ravel(), minlength=n)
        fixed = np.rint(rows * _FIXED_POINT).astype(np.int64)
        np.add.at(counted.central, ranked[:, 0], fixed)
        rank = np.empty_like(ranked)
        np.put_along_axis(rank, ranked, positions[None, :], axis=1)
        counted.rank_sum += rank.sum(axis=0)
        # a bin is a run of columns of ``ranked``: count who sits in them
        for b in range(len(edges) - 1):
            counted.ranks[:, b] += np.bincount(ranked[:, edges[b] - 1:edges[b + 1] - 1].ravel(),
                                               minlength=n)
        if progress is not None:
            progress(start + len(rows))
    return counted


@dataclass(frozen=True)
class ProposalAcceptability:
    position: int
    first: float  # share of samples ranked first
    top_k: float  # share of samples in the top k
    expected_rank: float
    rank_low: int  # 5 % of samples rank better than this (or as well)
    rank_high: int  # 95 % rank at least this well
    rank_interval_exact: bool
    central_weights: dict[str, float] | None  # where ``first`` > 0


@dataclass(frozen=True)
class RankAcceptability:
    samples: int
    top_k: int
    proposals: list[ProposalAcceptability]
    shares: np.ndarray  # (proposals, EXACT_RANKS or fewer): share of samples at each rank

    def share(self, position: int, rank: int) -> float:
        """The share of samples in which the proposal at ``position`` ranks ``rank`` (exact
        ranks only)."""
        return float(self.shares[position, rank - 1])


def rank_acceptability(proposals: Proposals, total: Tally) -> RankAcceptability:
    if total.samples == 0:
        raise ValueError("no samples counted")
    edges = rank_edges(proposals.size)
    exact_bins = min(proposals.size, EXACT_RANKS)
    cumulative = np.cumsum(total.ranks, axis=1)
    low_bin = np.argmax(cumulative >= 0.05 * total.samples, axis=1)
    high_bin = np.argmax(cumulative >= 0.95 * total.samples, axis=1)
    found = []
    for p in range(proposals.size):
        central = None
        if total.first[p]:
            mean = total.central[p] / _FIXED_POINT / total.first[p]
            # to 9 decimals: the fixed point is exact to ~1e-12, the rest is its noise
            central = {name: round(float(w), 9)
                       for name, w in zip(proposals.criteria, mean, strict=True)}
        found.append(ProposalAcceptability(
            p, float(total.first[p] / total.samples), float(total.top[p] / total.samples),
            float(total.rank_sum[p] / total.samples), int(edges[low_bin[p]]),
            int(edges[high_bin[p] + 1] - 1),
            bool(low_bin[p] < exact_bins and high_bin[p] < exact_bins), central))
    return RankAcceptability(total.samples, total.top_k, found,
                             total.ranks[:, :exact_bins] / total.samples)
