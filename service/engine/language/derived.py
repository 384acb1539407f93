"""The derived fields a rule may read under ``derived.``: each declared with its kind, label,
unit and meaning, so the loader can check rules against them and the documentation can list
them. ``service.engine.evaluation.enrichment`` computes them.

Each also says which proposal fields it is computed from and how it moves with each
(``inputs``), and which way it is better where one is (``better``): ``policy-eval rules check``
reads both to prove that no improvement of a proposal lowers a score, and to find the rules that
count one fact twice. A test holds every ``better`` to the directions of its inputs.
"""

from __future__ import annotations

from typing import Any, cast

from schemas.fields import ISO_ALPHA2
from schemas.vocabulary import THREATS
from service.engine.language.fieldspec import Better, FieldSpec, Moves

SHARE_CAP = 1000.0  # a share of an exhausted envelope is "enormous", not infinite (JSON has no inf)


def _derived(path: str, kind: Any, label: str, description: str, **extra: Any) -> FieldSpec:
    return FieldSpec(f"derived.{path}", kind, label, description, **extra)


def _inputs(*groups: tuple[str, ...]) -> tuple[tuple[str, Moves], ...]:
    """The inputs of a derived field: every path of a group moves it the way the group's first
    element says, e.g. ``_inputs(("+", *COST), ("?", "fiscal_year"))``."""
    return tuple((path, cast(Moves, group[0])) for group in groups for path in group[1:])


_COUNTRY = {"pattern": ISO_ALPHA2.pattern}
_COST = ("acquisition.unit_cost.amount", "acquisition.total_cost.amount",
         "acquisition.quantity")
_CURRENCY = ("acquisition.unit_cost.currency", "acquisition.total_cost.currency",
             "fiscal_year")
_SUSTAINMENT = ("acquisition.sustainment_cost_per_year.amount",)
_NAME = ("system.name", "requesting_country")
_LOWER = Better("lower", "less of the budget for the same thing")
_LOWER_UNSTATED_WORST = Better("lower", "less of the budget; unstated is no better than the "
                                        "highest", absent_is_worst=True)
_HIGHER = Better("higher", "more partners or priorities served")


def _cost_inputs(*more: tuple[str, ...]) -> tuple[tuple[str, Moves], ...]:
    return _inputs(("+", *_COST), ("?", *_CURRENCY), *more)


DERIVED_FIELDS: tuple[FieldSpec, ...] = (
    _derived("total_cost_usd", "number", "Total cost (USD)",
             "unit cost × quantity, or the total cost, converted at the fiscal year's rate",
             unit="USD", better=_LOWER, inputs=_cost_inputs()),
    _derived("total_cost_jpy", "number", "Total cost (JPY)",
             "total cost converted to yen at the fiscal year's USD/JPY rate", unit="JPY",
             better=_LOWER, inputs=_cost_inputs()),
    _derived("unit_cost_usd", "number", "Unit cost (USD)", "total cost (USD) ÷ quantity",
             unit="USD", better=_LOWER,
             inputs=_inputs(("+", *_COST[:2]), ("?", "acquisition.quantity", *_CURRENCY))),
    _derived("sustainment_per_year_jpy", "number", "Sustainment per year (JPY)",
             "sustainment_cost_per_year in yen; absent when the proposal gives none",
             unit="JPY", optional=True, better=_LOWER_UNSTATED_WORST,
             inputs=_inputs(("+", *_SUSTAINMENT),
                            ("?", "acquisition.sustainment_cost_per_year.currency",
                             "fiscal_year"))),
    _derived("budget_fiscal_year", "number", "Budget year used",
             "the context's fiscal year nearest to the proposal's", unit="year",
             inputs=_inputs(("+", "fiscal_year"))),
    _derived("annual_budget_jpy", "number", "Annual defense budget (JPY)",
             "the defense budget of budget_fiscal_year", unit="JPY",
             inputs=_inputs(("?", "fiscal_year"))),
    _derived("share_of_annual_budget", "number", "Share of the annual defense budget",
             "total_cost_jpy ÷ annual_budget_jpy", unit="ratio", better=_LOWER,
             inputs=_cost_inputs()),
    _derived("sustainment_share_of_annual_budget", "number",
             "Sustainment share of the annual budget",
             "sustainment_per_year_jpy ÷ annual_budget_jpy; absent without sustainment",
             unit="ratio", optional=True, better=_LOWER_UNSTATED_WORST,
             inputs=_inputs(("+", *_SUSTAINMENT),
                            ("?", "acquisition.sustainment_cost_per_year.currency",
                             "fiscal_year"))),
    _derived("envelope_total_jpy", "number", "Capability-area envelope (JPY)",
             "the Defense Buildup Program total of the proposal's capability area", unit="JPY",
             inputs=_inputs(("?", "acquisition.capability_area"))),
    _derived("envelope_remaining_jpy", "number", "Remaining envelope (JPY)",
             "envelope total minus what is already committed in that area", unit="JPY",
             inputs=_inputs(("?", "acquisition.capability_area"))),
    _derived("share_of_remaining_envelope", "number", "Share of the remaining envelope",
             f"total_cost_jpy ÷ envelope_remaining_jpy (capped at {SHARE_CAP:g} when the "
             "envelope is exhausted)", unit="ratio", better=_LOWER,
             inputs=_cost_inputs(("?", "acquisition.capability_area"))),
    _derived("delivery_lead_years", "number", "Years from budget to first delivery",
             "delivery_start_year − fiscal_year; absent without a delivery year",
             unit="years", optional=True,
             better=Better("lower", "an earlier capability", absent_is_worst=True),
             inputs=_inputs(("+", "acquisition.delivery_start_year"), ("-", "fiscal_year"))),
    _derived("registry_system", "string", "Partner-registry system",
             "the registry entry whose identifier or an alias is system.name (compared without "
             "case, spaces or punctuation), or 'unlisted'",
             inputs=_inputs(("?", "system.name"))),
    _derived("partner_operators", "list", "Partner operators",
             "registry operators ∪ partners.operators, without the requesting country",
             better=Better("more", "more partners"),
             inputs=_inputs(("+", "partners.operators"), ("?", *_NAME)), **_COUNTRY),
    _derived("partner_operator_count", "number", "Number of partner operators",
             "how many countries are in partner_operators", unit="count", better=_HIGHER,
             inputs=_inputs(("+", "partners.operators"), ("?", *_NAME))),
    _derived("co_developers", "list", "Co-developing partners",
             "registry co-developers ∪ partners.co_developers, without the requesting country",
             better=Better("more", "more partners"),
             inputs=_inputs(("+", "partners.co_developers"), ("?", *_NAME)), **_COUNTRY),
    _derived("co_developer_count", "number", "Number of co-developing partners",
             "how many countries are in co_developers", unit="count", better=_HIGHER,
             inputs=_inputs(("+", "partners.co_developers"), ("?", *_NAME))),
    _derived("training_partner_count", "number", "Number of training partners",
             "how many countries are in partners.training_with", unit="count", better=_HIGHER,
             inputs=_inputs(("+", "partners.training_with"), ("?", "requesting_country"))),
    _derived("us_operated", "bool", "Operated by U.S. forces",
             "true when US is among partner_operators", better=_HIGHER,
             inputs=_inputs(("+", "partners.operators"), ("?", *_NAME)), singles_out=("US",)),
    _derived("top_threat", "string", "Highest-priority threat addressed",
             "the addressed threat with the greatest weight in the context; absent when none",
             values=THREATS, optional=True, inputs=_inputs(("?", "threats_addressed"))),
    _derived("top_threat_weight", "number", "Weight of the highest-priority threat",
             "the greatest context weight among threats_addressed (0 when none)", unit="weight",
             better=_HIGHER, inputs=_inputs(("+", "threats_addressed"))),
    _derived("threat_weight_sum", "number", "Sum of threat weights addressed",
             "Σ context weight of threats_addressed", unit="weight", better=_HIGHER,
             inputs=_inputs(("+", "threats_addressed"))),
    _derived("priority_threat_count", "number", "Number of priority threats addressed",
             "threats_addressed whose weight is at least the context's priority_threshold",
             unit="count", better=_HIGHER, inputs=_inputs(("+", "threats_addressed"))),
    _derived("datalink_count", "number", "Number of datalinks", "len(capabilities.datalinks)",
             unit="count", better=_HIGHER, inputs=_inputs(("+", "capabilities.datalinks"))),
    # --- cost over time ------------------------------------------------------------------
    _derived("share_of_envelope", "number", "Share of the programme envelope",
             "total_cost_jpy ÷ envelope_total_jpy: the share of the capability area's whole "
             "Defense Buildup Program total, whatever is committed", unit="ratio",
             better=_LOWER, inputs=_cost_inputs(("?", "acquisition.capability_area"))),
    _derived("peak_year_share_of_annual_budget", "number", "Peak year's share of its budget",
             "the greatest share of a fiscal year's defense budget spent in that year, by the "
             "phasing (without one, the whole total in the proposal's fiscal year)",
             unit="ratio", better=_LOWER,
             inputs=_cost_inputs(("?", "acquisition.phasing"))),
    _derived("peak_fiscal_year", "number", "Fiscal year of the peak share",
             "the fiscal year of peak_year_share_of_annual_budget", unit="year",
             inputs=_inputs(("?", "acquisition.phasing", "fiscal_year"))),
    _derived("service_life_years", "number", "Service life used (years)",
             "acquisition.service_life_years, or the context's default for the category; "
             "absent when neither gives one", unit="years", optional=True,
             inputs=_inputs(("+", "acquisition.service_life_years"), ("?", "system.category"))),
    _derived("life_cycle_cost_jpy", "number", "Life-cycle cost (JPY)",
             "total_cost_jpy + sustainment_per_year_jpy × service_life_years; absent without "
             "a sustainment cost or a service life", unit="JPY", optional=True,
             better=_LOWER_UNSTATED_WORST,
             inputs=_cost_inputs(("+", *_SUSTAINMENT, "acquisition.service_life_years"),
                                 ("?", "system.category"))),
    # --- claims checked against the reference data ----------------------------------------
    _derived("envelope_committed_known", "bool", "Committed amount known",
             "false when the context gives no committed amount for the capability area, so "
             "that nothing is taken as committed there",
             inputs=_inputs(("?", "acquisition.capability_area"))),
    _derived("capability_area_supported", "bool", "Capability area plausible",
             "true when the context lists the capability area for the system's category; "
             "absent when the context says nothing about the category", optional=True,
             inputs=_inputs(("?", "acquisition.capability_area", "system.category"))),
    _derived("unsupported_threats", "list", "Threats claimed beyond the category",
             "threats_addressed that the context does not list for the system's category; "
             "absent when the context says nothing about the category", optional=True,
             values=THREATS, inputs=_inputs(("?", "threats_addressed", "system.category"))),
    _derived("unsupported_threat_count", "number", "Number of implausible threat claims",
             "how many threats are in unsupported_threats; absent when it is", unit="count",
             optional=True, inputs=_inputs(("?", "threats_addressed", "system.category"))),
    _derived("supported_top_threat_weight", "number", "Weight of the top plausible threat",
             "top_threat_weight counting only the threats the context lists for the category "
             "(all of them when it says nothing about the category)", unit="weight",
             better=_HIGHER,
             inputs=_inputs(("+", "threats_addressed"), ("?", "system.category"))),
    _derived("supported_threat_weight_sum", "number", "Sum of plausible threat weights",
             "threat_weight_sum counting only the threats the context lists for the category",
             unit="weight", better=_HIGHER,
             inputs=_inputs(("+", "threats_addressed"), ("?", "system.category"))),
    _derived("supported_priority_threat_count", "number",
             "Number of plausible priority threats",
             "priority_threat_count counting only the threats the context lists for the "
             "category", unit="count", better=_HIGHER,
             inputs=_inputs(("+", "threats_addressed"), ("?", "system.category"))),
)
