"""The derived fields a rule may read under ``derived.``: each declared with its kind, label,
unit and meaning, so the loader can check rules against them and the documentation can list
them. ``service.engine.evaluation.enrichment`` computes them.
"""

from __future__ import annotations

from typing import Any

from schemas.fields import ISO_ALPHA2
from schemas.vocabulary import THREATS
from service.engine.language.fieldspec import FieldSpec

SHARE_CAP = 1000.0  # a share of an exhausted envelope is "enormous", not infinite (JSON has no inf)


def _derived(path: str, kind: Any, label: str, description: str, **extra: Any) -> FieldSpec:
    return FieldSpec(f"derived.{path}", kind, label, description, **extra)


_COUNTRY = {"pattern": ISO_ALPHA2.pattern}

DERIVED_FIELDS: tuple[FieldSpec, ...] = (
    _derived("total_cost_usd", "number", "Total cost (USD)",
             "unit cost × quantity, or the total cost, converted at the fiscal year's rate",
             unit="USD"),
    _derived("total_cost_jpy", "number", "Total cost (JPY)",
             "total cost converted to yen at the fiscal year's USD/JPY rate", unit="JPY"),
    _derived("unit_cost_usd", "number", "Unit cost (USD)", "total cost (USD) ÷ quantity",
             unit="USD"),
    _derived("sustainment_per_year_jpy", "number", "Sustainment per year (JPY)",
             "sustainment_cost_per_year in yen; absent when the proposal gives none",
             unit="JPY", optional=True),
    _derived("budget_fiscal_year", "number", "Budget year used",
             "the context's fiscal year nearest to the proposal's", unit="year"),
    _derived("annual_budget_jpy", "number", "Annual defense budget (JPY)",
             "the defense budget of budget_fiscal_year", unit="JPY"),
    _derived("share_of_annual_budget", "number", "Share of the annual defense budget",
             "total_cost_jpy ÷ annual_budget_jpy", unit="ratio"),
    _derived("sustainment_share_of_annual_budget", "number",
             "Sustainment share of the annual budget",
             "sustainment_per_year_jpy ÷ annual_budget_jpy; absent without sustainment",
             unit="ratio", optional=True),
    _derived("envelope_total_jpy", "number", "Capability-area envelope (JPY)",
             "the Defense Buildup Program total of the proposal's capability area", unit="JPY"),
    _derived("envelope_remaining_jpy", "number", "Remaining envelope (JPY)",
             "envelope total minus what is already committed in that area", unit="JPY"),
    _derived("share_of_remaining_envelope", "number", "Share of the remaining envelope",
             f"total_cost_jpy ÷ envelope_remaining_jpy (capped at {SHARE_CAP:g} when the "
             "envelope is exhausted)", unit="ratio"),
    _derived("delivery_lead_years", "number", "Years from budget to first delivery",
             "delivery_start_year − fiscal_year; absent without a delivery year",
             unit="years", optional=True),
    _derived("registry_system", "string", "Partner-registry system",
             "the registry entry whose aliases match system.name, or 'unlisted'"),
    _derived("partner_operators", "list", "Partner operators",
             "registry operators ∪ partners.operators, without the requesting country",
             **_COUNTRY),
    _derived("partner_operator_count", "number", "Number of partner operators",
             "how many countries are in partner_operators", unit="count"),
    _derived("co_developers", "list", "Co-developing partners",
             "registry co-developers ∪ partners.co_developers, without the requesting country",
             **_COUNTRY),
    _derived("co_developer_count", "number", "Number of co-developing partners",
             "how many countries are in co_developers", unit="count"),
    _derived("training_partner_count", "number", "Number of training partners",
             "how many countries are in partners.training_with", unit="count"),
    _derived("us_operated", "bool", "Operated by U.S. forces",
             "true when US is among partner_operators"),
    _derived("top_threat", "string", "Highest-priority threat addressed",
             "the addressed threat with the greatest weight in the context; absent when none",
             values=THREATS, optional=True),
    _derived("top_threat_weight", "number", "Weight of the highest-priority threat",
             "the greatest context weight among threats_addressed (0 when none)", unit="weight"),
    _derived("threat_weight_sum", "number", "Sum of threat weights addressed",
             "Σ context weight of threats_addressed", unit="weight"),
    _derived("priority_threat_count", "number", "Number of priority threats addressed",
             "threats_addressed whose weight is at least the context's priority_threshold",
             unit="count"),
    _derived("datalink_count", "number", "Number of datalinks", "len(capabilities.datalinks)",
             unit="count"),
)
