"""What a result takes on trust: the defaults it used and the claims the reference data does not
support, each said in a sentence (a result's ``assumptions``).

A score is only as good as the figures behind it. When the context records nothing committed
in a capability area, when a proposal gives no phasing or no service life, when its system is
not in the partner registry, or when it claims a threat its category cannot plausibly address,
the result says so, so that no reader mistakes a default for a fact.
"""

from __future__ import annotations

from typing import Any

from schemas.vocabulary import (
    ASSUMPTION_KINDS,
    CAPABILITY_AREA_LABELS,
    CATEGORY_LABELS,
    THREAT_LABELS,
)
from service.engine.evaluation.enrichment import cost_by_year
from service.engine.evaluation.evidence import money
from service.engine.evaluation.facts import Fact
from service.engine.language.reference import Context


def _kind(category: str) -> str:
    """A category as a sentence names it, with its article: "an aircraft upgrade"."""
    label = CATEGORY_LABELS[category]
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


def _listed(threats: list[str]) -> str:
    """Threats as a sentence lists them: "hostile aircraft and an amphibious invasion"."""
    words = [THREAT_LABELS[t] for t in threats]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _entry(kind: str, field: str, text: str) -> dict[str, str]:
    if kind not in ASSUMPTION_KINDS:  # the API documents these kinds and no others
        raise ValueError(f"unknown kind of assumption {kind!r}")
    return {"kind": kind, "field": field, "text": text}


def _defaults(proposal: dict[str, Any], fact: Fact, context: Context) -> list[dict[str, str]]:
    acquisition = proposal["acquisition"]
    area, year = acquisition["capability_area"], proposal["fiscal_year"]
    found = []
    if not fact["derived.envelope_committed_known"]:
        found.append(_entry("default", "derived.envelope_remaining_jpy",
                            "No committed amount is recorded for the "
                            f"{CAPABILITY_AREA_LABELS[area]} envelope, so all "
                            f"of its {money(fact['derived.envelope_total_jpy'], '¥')} is "
                            "taken as remaining."))
    if fact["derived.budget_fiscal_year"] != year:
        found.append(_entry("default", "derived.budget_fiscal_year",
                            f"FY{year} is not in the context: the "
                            f"FY{fact['derived.budget_fiscal_year']:.0f} budget and exchange "
                            "rate are used."))
    if "phasing" not in acquisition:
        found.append(_entry("default", "derived.peak_year_share_of_annual_budget",
                            f"No phasing by fiscal year is given, so the whole cost is counted "
                            f"in FY{year}."))
    else:
        for row in cost_by_year(proposal, context, fact["derived.total_cost_jpy"]):
            if row["budget_fiscal_year"] != row["fiscal_year"]:
                found.append(_entry("default", "derived.peak_year_share_of_annual_budget",
                                    f"FY{row['fiscal_year']} is not in the context: its spend "
                                    f"is set against the FY{row['budget_fiscal_year']} budget."))
    if "service_life_years" not in acquisition and "derived.service_life_years" in fact:
        found.append(_entry("default", "derived.service_life_years",
                            "No service life is given: the context's "
                            f"{fact['derived.service_life_years']:.0f} years for "
                            f"{_kind(proposal['system']['category'])} are used."))
    return found


def _claims(proposal: dict[str, Any], fact: Fact, context: Context) -> list[dict[str, str]]:
    category = proposal["system"]["category"]
    found = []
    if fact["derived.registry_system"] == "unlisted":
        found.append(_entry("unmatched", "system.name",
                            f"{proposal['system']['name']!r} is not in the partner registry "
                            "(no entry or alias has that name), so only the partners the "
                            "proposal names are counted."))
    if category not in context.categories:
        found.append(_entry("unverified", "system.category",
                            f"The context does not say what {_kind(category)} can plausibly "
                            "address, so its capability area and threats are taken as "
                            "claimed."))
        return found
    if not fact["derived.capability_area_supported"]:
        found.append(_entry("unsupported", "acquisition.capability_area",
                            f"The context does not list "
                            f"{CAPABILITY_AREA_LABELS[proposal['acquisition']['capability_area']]}"
                            f" among the capability areas {_kind(category)} serves."))
    if fact["derived.unsupported_threats"]:
        found.append(_entry("unsupported", "threats_addressed",
                            f"The context does not list "
                            f"{_listed(fact['derived.unsupported_threats'])} among the threats "
                            f"{_kind(category)} can address."))
    return found


def assumptions(proposal: dict[str, Any], fact: Fact, context: Context) -> list[dict[str, str]]:
    """The defaults a result rests on and the claims it could not confirm, in a fixed order."""
    return [*_defaults(proposal, fact, context), *_claims(proposal, fact, context)]
