"""Hypothesis strategies for valid proposals, biased toward the thresholds rules use."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from schemas.vocabulary import (
    ACQUISITION_PATHS,
    CAPABILITY_AREAS,
    DATALINKS,
    IFF_MODES,
    MUNITIONS_COMMONALITY,
    STANDARDS,
    SYSTEM_CATEGORIES,
    THREATS,
)

COUNTRIES = ("US", "AU", "GB", "KR", "CA", "DE", "IT", "NL", "NO", "DK", "PL", "IN", "FR", "JP")
SYSTEM_NAMES = ("F-35A", "Tomahawk Block V", "SM-6 Block I", "SM-3 Block IIA", "E-2D Advanced "
                "Hawkeye", "KC-46A", "AMRAAM AIM-120D", "JASSM-ER", "Aegis", "Global Hawk",
                "MQ-9B", "V-22 Osprey", "Indigenous widget",
                # names the registry must not take for others': a part, a spelling, a variant
                "Aegis System Equipped Vessel", "sm-3 blk IIA", "ASM-3", "PAC-3 MSE")

# round amounts and exact threshold neighbours, where a float-parsing or <= vs < bug would show;
# no subnormal amounts: a phasing's shares of one (5e-324) underflow to 0, and the proposal it
# makes is invalid (its phasing no longer adds up to its cost)
amounts = st.one_of(
    st.sampled_from([0.0, 1.0, 1e6, 2.5e8, 1e9, 2.35e9, 4.1e9, 1e10, 2.311e10, 1e11, 9.04e12]),
    st.floats(min_value=0, max_value=1e13, allow_nan=False, allow_infinity=False,
              allow_subnormal=False),
    st.integers(min_value=0, max_value=10**13),
)


def money() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"amount": amounts, "currency": st.sampled_from(["USD", "JPY"])})


def _unique(values: tuple[str, ...], max_size: int = 6) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), unique=True, max_size=max_size)


@st.composite
def acquisitions(draw: st.DrawFn) -> dict[str, Any]:
    acquisition: dict[str, Any] = {
        "path": draw(st.sampled_from(ACQUISITION_PATHS)),
        "quantity": draw(st.integers(min_value=1, max_value=2000)),
        "capability_area": draw(st.sampled_from(CAPABILITY_AREAS)),
        draw(st.sampled_from(["unit_cost", "total_cost"])): draw(money()),
    }
    if draw(st.booleans()):
        acquisition["sustainment_cost_per_year"] = draw(money())
    if draw(st.booleans()):
        acquisition["delivery_start_year"] = draw(st.integers(min_value=2020, max_value=2036))
    return acquisition


def _total(acquisition: dict[str, Any]) -> dict[str, Any]:
    if "total_cost" in acquisition:
        total: dict[str, Any] = acquisition["total_cost"]
        return total
    unit = acquisition["unit_cost"]
    return {"amount": unit["amount"] * acquisition["quantity"], "currency": unit["currency"]}


@st.composite
def phasings(draw: st.DrawFn, acquisition: dict[str, Any],
             fiscal_year: int) -> list[dict[str, Any]]:
    """The total cost split over one to four consecutive years, in its currency."""
    total = _total(acquisition)
    shares = draw(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=4))
    return [{"fiscal_year": fiscal_year + i, "amount": total["amount"] * share / sum(shares),
             "currency": total["currency"]} for i, share in enumerate(shares)]


@st.composite
def proposals(draw: st.DrawFn) -> dict[str, Any]:
    fiscal_year = draw(st.integers(min_value=2022, max_value=2028))
    acquisition = draw(acquisitions())
    if _total(acquisition)["amount"] <= 1e15 and draw(st.booleans()):
        acquisition["phasing"] = draw(phasings(acquisition, fiscal_year))
    if draw(st.booleans()):
        acquisition["service_life_years"] = draw(st.integers(min_value=1, max_value=60))
    return {
        "title": "generated",
        "fiscal_year": fiscal_year,
        "system": {
            "name": draw(st.sampled_from(SYSTEM_NAMES)),
            "category": draw(st.sampled_from(SYSTEM_CATEGORIES)),
            "origin_country": draw(st.sampled_from(COUNTRIES)),
        },
        "acquisition": acquisition,
        "capabilities": {
            "datalinks": draw(_unique(DATALINKS)),
            "iff_modes": draw(_unique(IFF_MODES)),
            "standards": draw(_unique(STANDARDS)),
            "munitions_commonality": draw(st.sampled_from(MUNITIONS_COMMONALITY)),
        },
        "threats_addressed": draw(_unique(THREATS)),
        "partners": {
            "operators": draw(_unique(COUNTRIES, 8)),
            "co_developers": draw(_unique(COUNTRIES, 3)),
            "training_with": draw(_unique(COUNTRIES, 5)),
        },
    }
