"""Controlled vocabularies of a proposal.

They are closed lists on purpose: a rule that tests ``datalinks contains "link-16"`` must be
caught when it is written, and it can only be if the vocabulary is known.
"""

from __future__ import annotations

from typing import Literal, get_args

SYSTEM_CATEGORIES = (
    "fighter_aircraft",
    "airborne_early_warning",
    "tanker_transport",
    "tiltrotor_transport",
    "isr_uav",
    "missile_defense_interceptor",
    "missile_defense_system",
    "cruise_missile",
    "air_to_air_missile",
    "air_to_surface_missile",
    "naval_combat_system",
    "radar",
    "cyber",
    "space",
    "munitions",
    "aircraft_upgrade",
    "aerial_target",
    "support_services",
)

ACQUISITION_PATHS = ("fms", "dcs", "licensed_production", "co_development", "indigenous")

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

MUNITIONS_COMMONALITY = ("full", "partial", "none")

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
