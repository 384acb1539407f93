"""The charts stand alone (no script, nothing fetched), say what they show to a screen reader,
and carry their figures as text."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from service.engine.language.model import Range, Uncertainty
from service.robustness import charts
from service.robustness.analysis import Analysis, Plan, analyse
from service.robustness.proposals import Proposals, from_summaries
from tests.robustness.conftest import criteria_for, summary

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def analysed() -> tuple[Analysis, Proposals]:
    weights = [0.4, 0.35, 0.25]
    rows = [[90.0, 40.0, 60.0], [60.0, 80.0, 55.0], [70.0, 70.0, 30.0], [20.0, 30.0, 90.0],
            [65.0, 66.0, 64.0]]
    summaries = [summary(i, row, weights, cost=4e10 + 1e10 * i, path="fms")
                 for i, row in enumerate(rows)]
    summaries[1]["proposal_id"] = 'SM-6 <Block "IA"> & more'  # text to escape
    proposals = from_summaries(summaries, criteria_for(weights))
    declared = Uncertainty(weights={"c0": Range(0.3, 0.5), "c1": Range(0.25, 0.45)},
                           cost_by_path={"fms": Range(0.8, 1.0)})
    return analyse(proposals, declared, Plan(samples=1500, portfolio_samples=60, top_k=2),
                   budget=1.2e11), proposals


def _parsed(svg: str) -> ElementTree.Element:
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-labelledby") == "title desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text and desc is not None and desc.text
    assert "<script" not in svg and "href" not in svg and "url(" not in svg
    return root


def _texts(root: ElementTree.Element) -> str:
    return " ".join(t.text or "" for t in root.iter(f"{SVG}text"))


def test_tornado_shows_each_interval_in_numbers_and_who_takes_over(
        analysed: tuple[Analysis, Proposals]) -> None:
    analysis, proposals = analysed
    svg = charts.tornado(analysis.stability, proposals, 2)
    root = _parsed(svg)
    texts = _texts(root)
    desc = root.find(f"{SVG}desc")
    for found in analysis.stability:
        low, high = found.first.lower.weight, found.first.upper.weight
        assert f"first: {low:.3f}–{high:.3f}" in texts
        assert desc is not None and f"from {low:.3f} to {high:.3f}" in (desc.text or "")
        for bound in (found.first.lower, found.first.upper):
            for position in bound.takes_over:
                assert proposals.label(position)[:10] in texts


def test_heat_map_writes_the_shares_in_its_cells(analysed: tuple[Analysis, Proposals]
                                                 ) -> None:
    analysis, proposals = analysed
    root = _parsed(charts.heat_map(analysis.acceptability, proposals))
    texts = _texts(root)
    best = min(analysis.acceptability.proposals, key=lambda a: a.expected_rank)
    assert f"{analysis.acceptability.share(best.position, 1):.0%}" in texts
    assert 'SM-6 <Block "IA"> &' in texts  # escaped in the file, read back as written


def test_core_bars_name_each_status(analysed: tuple[Analysis, Proposals]) -> None:
    analysis, proposals = analysed
    assert analysis.portfolio is not None
    root = _parsed(charts.core_bars(analysis.portfolio, proposals))
    texts = _texts(root)
    for found in analysis.portfolio.proposals:
        if found.share > 0:
            assert f"{found.status} {found.share:.1%}" in texts
    exterior = sum(c.status == "exterior" for c in analysis.portfolio.proposals)
    assert f"{exterior} never funded" in texts
