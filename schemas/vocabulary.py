"""Controlled vocabularies of a proposal.

They are closed lists on purpose: a rule that tests ``datalinks contains "link-16"`` must be
caught when it is written, and it can only be if the vocabulary is known.
"""

from __future__ import annotations

from typing import Literal, get_args

# What is bought, each with what it means: a rule can be scoped to categories, and the context
# says which capability areas and threats each category can plausibly serve. A support contract
# is its own category, so that it is never judged as the platform it supports.
CATEGORY_MEANINGS = {
    "fighter_aircraft": "a combat aircraft (F-35, a co-developed next-generation fighter)",
    "airborne_early_warning": "an airborne early-warning and control aircraft (E-2D)",
    "tanker_transport": "an air-refuelling or transport aircraft (KC-46A)",
    "tiltrotor_transport": "a tiltrotor transport (V-22)",
    "isr_uav": "an unmanned intelligence, surveillance and reconnaissance aircraft",
    "missile_defense_interceptor": "a missile-defense interceptor round (SM-3, PAC-3 MSE)",
    "missile_defense_system": "a missile-defense system: launchers, radars and fire control",
    "cruise_missile": "a land-attack or anti-ship cruise missile (Tomahawk, Type-12)",
    "air_to_air_missile": "an air-to-air missile (AMRAAM, AIM-9X)",
    "air_to_surface_missile": "an air-launched stand-off missile (JASSM-ER)",
    "naval_combat_system": "a ship's combat system (Aegis, SPY-7 shipsets)",
    "radar": "a ground or ship radar sold on its own",
    "cyber": "a cyber-defense or cyber-operations system",
    "space": "a satellite or space-domain-awareness system",
    "munitions": "other munitions and their stockpiles",
    "aircraft_upgrade": "an upgrade of aircraft already in service (F-15J)",
    "aerial_target": "aerial targets for training and testing",
    "support_services": "other services: training, studies, follow-on technical support",
    "platform_sustainment": "a contract that keeps a fleet available: maintenance, spares, "
                            "logistics and engineering support (it buys readiness, not the "
                            "platform)",
    "surface_to_air_missile": "a fleet or area air-defense missile (SM-2, ESSM)",
    "hypersonic_missile": "a hypersonic glide vehicle or hypersonic cruise missile",
    "surface_combatant": "a surface warship as a whole (Aegis System Equipped Vessel)",
    "submarine": "a submarine",
    "electronic_warfare": "an electronic-warfare system (jammers, electronic support)",
}
SYSTEM_CATEGORIES = tuple(CATEGORY_MEANINGS)
# each category as a sentence names one kind of system ("a combat aircraft")
CATEGORY_LABELS = {
    "fighter_aircraft": "combat aircraft",
    "airborne_early_warning": "airborne early-warning aircraft",
    "tanker_transport": "tanker or transport aircraft",
    "tiltrotor_transport": "tiltrotor transport",
    "isr_uav": "unmanned reconnaissance aircraft",
    "missile_defense_interceptor": "missile-defense interceptor",
    "missile_defense_system": "missile-defense system",
    "cruise_missile": "cruise missile",
    "air_to_air_missile": "air-to-air missile",
    "air_to_surface_missile": "air-to-surface missile",
    "naval_combat_system": "ship's combat system",
    "radar": "radar",
    "cyber": "cyber-defense system",
    "space": "space system",
    "munitions": "munition",
    "aircraft_upgrade": "aircraft upgrade",
    "aerial_target": "aerial target",
    "support_services": "support service",
    "platform_sustainment": "fleet sustainment contract",
    "surface_to_air_missile": "surface-to-air missile",
    "hypersonic_missile": "hypersonic missile",
    "surface_combatant": "surface warship",
    "submarine": "submarine",
    "electronic_warfare": "electronic-warfare system",
}

ACQUISITION_PATHS = ("fms", "dcs", "licensed_production", "co_development", "indigenous")
# how each path is meant; `indigenous` is domestic development and production
PATH_MEANINGS = {
    "fms": "Foreign Military Sales: bought from the U.S. government",
    "dcs": "Direct Commercial Sale: bought from the manufacturer",
    "licensed_production": "built in Japan under licence",
    "co_development": "developed with one or more partner nations",
    "indigenous": "domestic development and production",
}

CURRENCIES = ("USD", "JPY")

# The seven capability pillars of the FY2023-27 Defense Buildup Program, plus the program's
# own budget lines for production base and R&D (Japan's Ministry of Defense, as reported), each
# with the name people read it by.
CAPABILITY_AREA_LABELS = {
    "stand_off_defense": "stand-off defense",
    "integrated_air_missile_defense": "integrated air and missile defense",
    "unmanned_assets": "unmanned assets",
    "cross_domain_space_cyber_em": "cross-domain operations (space, cyber, electromagnetic)",
    "command_control_intelligence": "command and control, intelligence",
    "mobile_deployment_civil_protection": "mobile deployment and civil protection",
    "sustainment_resiliency": "sustainment and resiliency",
    "defense_production_base": "defense production base",
    "research_development": "research and development",
}
CAPABILITY_AREAS = tuple(CAPABILITY_AREA_LABELS)

DATALINKS = ("link16", "link11", "link22", "cec", "madl", "tadil_j", "jreap", "satcom", "ifdl")

IFF_MODES = ("mode4", "mode5", "mode_s", "mode3c")

STANDARDS = (
    "mosa",
    "stanag_4586",
    "mil_std_1553",
    "mil_std_1760",
    "mil_std_6016",
    "jadc2",
    "ogsa",
)

def a_system(category: str) -> str:
    """A category as a sentence names one system of it: "a radar", "an air-to-air missile"."""
    label = CATEGORY_LABELS[category]
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


MUNITIONS_COMMONALITY = ("full", "partial", "none")

# The names analysts read the coded values of the lists and enums by, where a code is not
# already a word ("Link 16", not "link16"); a value without one is shown as it is coded.
VALUE_LABELS = {
    "link16": "Link 16", "link11": "Link 11", "link22": "Link 22",
    "cec": "Cooperative Engagement Capability (CEC)", "madl": "MADL", "tadil_j": "TADIL-J",
    "jreap": "JREAP", "satcom": "a satellite link (SATCOM)", "ifdl": "IFDL",
    "mode4": "Mode 4 IFF", "mode5": "Mode 5 IFF", "mode_s": "Mode S IFF", "mode3c": "Mode 3/C IFF",
    "mosa": "MOSA", "stanag_4586": "STANAG 4586", "mil_std_1553": "MIL-STD-1553",
    "mil_std_1760": "MIL-STD-1760", "mil_std_6016": "MIL-STD-6016", "jadc2": "JADC2",
    "ogsa": "OGSA",
    "ballistic_missile": "ballistic missiles", "hypersonic": "hypersonic weapons",
    "cruise_missile": "cruise missiles", "maritime_surface": "surface ships",
    "submarine": "submarines", "air": "air threats", "amphibious_invasion": "amphibious invasion",
    "cyber": "cyber attack", "space": "space threats", "electronic_warfare": "electronic warfare",
    "nuclear": "nuclear threats",
    "fms": "Foreign Military Sales", "dcs": "Direct Commercial Sale",
    "licensed_production": "licensed production", "co_development": "co-development",
    "indigenous": "domestic development",
    "full": "full", "partial": "partial", "none": "none",
}

THREATS = (
    "ballistic_missile",
    "hypersonic",
    "cruise_missile",
    "maritime_surface",
    "submarine",
    "air",
    "amphibious_invasion",
    "cyber",
    "space",
    "electronic_warfare",
    "nuclear",
)
# each threat as a sentence names it
THREAT_LABELS = {
    "ballistic_missile": "ballistic missiles",
    "hypersonic": "hypersonic missiles",
    "cruise_missile": "cruise missiles",
    "maritime_surface": "hostile surface fleets",
    "submarine": "submarines",
    "air": "hostile aircraft",
    "amphibious_invasion": "an amphibious invasion",
    "cyber": "cyber attack",
    "space": "threats in space",
    "electronic_warfare": "electronic warfare",
    "nuclear": "nuclear weapons",
}

# roles of API keys; each may do what the one before it may, and more
ROLES = ("evaluator", "analyst", "admin")

# DoD source-selection adjectival ratings, best first
RATINGS = ("outstanding", "good", "acceptable", "marginal", "unacceptable")
# strongest first: a deficiency cap can only move a recommendation to the right
RECOMMENDATIONS = ("recommend", "recommend_with_conditions", "defer", "do_not_recommend")

# how much of the explanation a result carries: fired rules only, or the why-not too
Explain = Literal["summary", "full"]
EXPLAIN_LEVELS: tuple[Explain, ...] = get_args(Explain)

# what a ruleset change can change about a proposal, in the order an impact report lists it
IMPACT_CHANGE_KINDS = ("overall_score", "criterion_scores", "rating", "recommendation", "rank")

# what a result's assumptions say: a default used, a claim the context cannot check, a claim
# it contradicts, a system the partner registry does not know
ASSUMPTION_KINDS = ("default", "unverified", "unsupported", "unmatched")
