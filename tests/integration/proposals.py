"""Proposals the integration tests send, as a client would write them."""

from __future__ import annotations

import copy
from typing import Any

TOMAHAWK: dict[str, Any] = {
    "title": "Tomahawk Block IV/V (DSCA 2023-11-17)",
    "fiscal_year": 2026,
    "system": {"name": "Tomahawk Block V", "category": "cruise_missile",
               "prime_contractor": "Raytheon"},
    "acquisition": {
        "path": "fms",
        "quantity": 400,
        "total_cost": {"amount": 2350000000, "currency": "USD"},
        "capability_area": "stand_off_defense",
        "delivery_start_year": 2025,
        "sustainment_cost_per_year": {"amount": 40000000, "currency": "USD"},
    },
    "capabilities": {"datalinks": ["link16"], "iff_modes": ["mode5"],
                     "munitions_commonality": "full"},
    "threats_addressed": ["maritime_surface", "amphibious_invasion"],
    "partners": {"operators": ["NL"], "training_with": ["US"]},
}

# No datalink and no sustainment figure: fires a deficiency and weaknesses.
ISOLATED_RADAR: dict[str, Any] = {
    "title": "Indigenous radar without datalinks",
    "fiscal_year": 2026,
    "system": {"name": "Prototype radar", "category": "radar", "origin_country": "JP"},
    "acquisition": {
        "path": "indigenous",
        "quantity": 2,
        "unit_cost": {"amount": 12000000000, "currency": "JPY"},
        "capability_area": "integrated_air_missile_defense",
        "delivery_start_year": 2031,
    },
    "threats_addressed": ["ballistic_missile"],
}


def variant(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with dotted-path changes (``acquisition__quantity=3``)."""
    proposal = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = proposal
        for key in parents:
            node = node[key]
        node[leaf] = value
    return proposal
