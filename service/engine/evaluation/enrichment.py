"""Enrichment: the derived fields computed from a proposal and the reference context.

Analysts write rules against ``derived.*`` instead of re-doing currency conversion or counting
partners in every rule; ``service.engine.language.derived`` declares each field and its meaning.
"""

from __future__ import annotations

from typing import Any

from schemas.vocabulary import THREATS
from service.engine.language.derived import SHARE_CAP
from service.engine.language.reference import Context


def _to_usd(money: dict[str, Any], usd_jpy: float) -> float:
    amount = float(money["amount"])
    return amount if money["currency"] == "USD" else amount / usd_jpy


def _share(part: float, whole: float) -> float:
    return min(part / whole, SHARE_CAP) if whole > 0 else SHARE_CAP


def _cost_fields(proposal: dict[str, Any], context: Context) -> dict[str, Any]:
    acquisition = proposal["acquisition"]
    year, fiscal = context.fiscal_year(proposal["fiscal_year"])
    quantity = acquisition["quantity"]
    if "unit_cost" in acquisition:
        total_usd = _to_usd(acquisition["unit_cost"], fiscal.usd_jpy) * quantity
    else:
        total_usd = _to_usd(acquisition["total_cost"], fiscal.usd_jpy)
    total_jpy = total_usd * fiscal.usd_jpy
    envelope = context.envelopes[acquisition["capability_area"]]
    derived: dict[str, Any] = {
        "total_cost_usd": total_usd,
        "total_cost_jpy": total_jpy,
        "unit_cost_usd": total_usd / quantity,
        "budget_fiscal_year": year,
        "annual_budget_jpy": fiscal.annual_budget_jpy,
        "share_of_annual_budget": _share(total_jpy, fiscal.annual_budget_jpy),
        "envelope_total_jpy": envelope.program_total_jpy,
        "envelope_remaining_jpy": envelope.remaining_jpy,
        "share_of_remaining_envelope": _share(total_jpy, envelope.remaining_jpy),
    }
    if "sustainment_cost_per_year" in acquisition:
        sustainment = _to_usd(acquisition["sustainment_cost_per_year"], fiscal.usd_jpy)
        derived["sustainment_per_year_jpy"] = sustainment * fiscal.usd_jpy
        derived["sustainment_share_of_annual_budget"] = _share(
            derived["sustainment_per_year_jpy"], fiscal.annual_budget_jpy
        )
    if "delivery_start_year" in acquisition:
        lead = acquisition["delivery_start_year"] - proposal["fiscal_year"]
        derived["delivery_lead_years"] = lead
    return derived


def cost_by_year(proposal: dict[str, Any], context: Context,
                 total_jpy: float) -> list[dict[str, Any]]:
    """What is spent in each fiscal year and its share of that year's budget: by the phasing,
    or the whole total in the proposal's fiscal year without one.

    Every amount is converted at the proposal's fiscal-year rate, as the total is, so that the
    years add up to total_cost_jpy; each year's budget is the context's nearest year's.
    """
    acquisition = proposal["acquisition"]
    _, fiscal = context.fiscal_year(proposal["fiscal_year"])
    if "phasing" in acquisition:
        spend = [(entry["fiscal_year"], _to_usd(entry, fiscal.usd_jpy) * fiscal.usd_jpy)
                 for entry in acquisition["phasing"]]
    else:
        spend = [(proposal["fiscal_year"], total_jpy)]
    rows = []
    for year, amount_jpy in sorted(spend):
        budget_year, budget = context.fiscal_year(year)
        rows.append({"fiscal_year": year, "budget_fiscal_year": budget_year,
                     "amount_jpy": amount_jpy,
                     "share_of_annual_budget": _share(amount_jpy, budget.annual_budget_jpy)})
    return rows


def _over_time_fields(proposal: dict[str, Any], context: Context,
                      cost: dict[str, Any]) -> dict[str, Any]:
    acquisition = proposal["acquisition"]
    envelope = context.envelopes[acquisition["capability_area"]]
    if "phasing" in acquisition:
        # the earliest year wins a tie, so the answer never depends on the phasing's order
        peak = max(cost_by_year(proposal, context, cost["total_cost_jpy"]),
                   key=lambda row: (row["share_of_annual_budget"], -row["fiscal_year"]))
        share, year = peak["share_of_annual_budget"], peak["fiscal_year"]
    else:  # the whole cost in the fiscal year: what cost_by_year's one row would say
        share, year = cost["share_of_annual_budget"], proposal["fiscal_year"]
    derived: dict[str, Any] = {
        "share_of_envelope": _share(cost["total_cost_jpy"], envelope.program_total_jpy),
        "peak_year_share_of_annual_budget": share,
        "peak_fiscal_year": year,
    }
    profile = context.categories.get(proposal["system"]["category"])
    life = acquisition.get("service_life_years") or (profile and profile.service_life_years)
    if life:
        derived["service_life_years"] = life
        if "sustainment_per_year_jpy" in cost:
            derived["life_cycle_cost_jpy"] = (cost["total_cost_jpy"]
                                              + cost["sustainment_per_year_jpy"] * life)
    return derived


def _partner_fields(proposal: dict[str, Any], context: Context) -> dict[str, Any]:
    partners = proposal["partners"]
    entry = context.partner_system(proposal["system"]["name"])
    own = proposal["requesting_country"]
    operators = set(partners["operators"]) | set(entry.operators if entry else ())
    co_developers = set(partners["co_developers"]) | set(entry.co_developers if entry else ())
    operators.discard(own)
    co_developers.discard(own)
    return {
        "registry_system": entry.system if entry else "unlisted",
        "partner_operators": sorted(operators),
        "partner_operator_count": len(operators),
        "co_developers": sorted(co_developers),
        "co_developer_count": len(co_developers),
        "training_partner_count": len(set(partners["training_with"]) - {own}),
        "us_operated": "US" in operators,
    }


def _threat_fields(proposal: dict[str, Any], context: Context) -> dict[str, Any]:
    weights = {t: context.threat_weights.get(t, 0.0) for t in proposal["threats_addressed"]}
    derived: dict[str, Any] = {
        "top_threat_weight": max(weights.values(), default=0.0),
        "threat_weight_sum": round(sum(weights.values()), 9),
        "priority_threat_count": sum(w >= context.priority_threshold for w in weights.values()),
    }
    if weights:
        # ties go to the vocabulary's order so the answer never depends on input order
        derived["top_threat"] = max(weights, key=lambda t: (weights[t], -THREATS.index(t)))
    return derived


def _claim_fields(proposal: dict[str, Any], context: Context) -> dict[str, Any]:
    """The proposal's claims set against what its category can plausibly do (the context's
    ``categories``); a category the context says nothing about is taken at its word."""
    acquisition = proposal["acquisition"]
    claimed = sorted(proposal["threats_addressed"], key=THREATS.index)
    derived: dict[str, Any] = {
        "envelope_committed_known": context.envelopes[
            acquisition["capability_area"]].committed_known,
    }
    profile = context.categories.get(proposal["system"]["category"])
    supported = claimed
    if profile is not None:
        supported = [t for t in claimed if t in profile.threats]
        unsupported = [t for t in claimed if t not in profile.threats]
        derived["capability_area_supported"] = (acquisition["capability_area"]
                                                in profile.capability_areas)
        derived["unsupported_threats"] = unsupported
        derived["unsupported_threat_count"] = len(unsupported)
    weights = [context.threat_weights.get(t, 0.0) for t in supported]
    derived["supported_top_threat_weight"] = max(weights, default=0.0)
    derived["supported_threat_weight_sum"] = round(sum(weights), 9)
    derived["supported_priority_threat_count"] = sum(
        w >= context.priority_threshold for w in weights)
    return derived


def enrich(proposal: dict[str, Any], context: Context) -> dict[str, Any]:
    """The derived fields of a validated proposal, keyed without the ``derived.`` prefix."""
    derived = _cost_fields(proposal, context)
    derived.update(_partner_fields(proposal, context))
    derived.update(_threat_fields(proposal, context))
    derived["datalink_count"] = len(proposal["capabilities"]["datalinks"])
    derived.update(_over_time_fields(proposal, context, derived))
    derived.update(_claim_fields(proposal, context))
    return derived
