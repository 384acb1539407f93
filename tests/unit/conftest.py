from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.engine import Engine, load_ruleset
from service.engine.evaluation.engine import Mode
from service.engine.language.model import Ruleset

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "mini" / "ruleset.yaml"
SHIPPED = ROOT / "rules" / "japan-fy2026.yaml"  # 2026.1.0: tests with its exact numbers pin it
CURRENT = ROOT / "rules" / "japan-fy2026-2.yaml"  # 2026.2.0, the default
VERSIONS = (SHIPPED, CURRENT)  # properties hold on both


@pytest.fixture(scope="session")
def mini_ruleset() -> Ruleset:
    return load_ruleset(MINI)


@pytest.fixture(scope="session")
def mini_engine(mini_ruleset: Ruleset) -> Engine:
    return Engine(mini_ruleset)


_ENGINES: dict[tuple[str, Path], Engine] = {}


def shipped(mode: Mode = "durable", path: Path = SHIPPED) -> Engine:
    """A shipped ruleset's engine (2026.1.0 unless ``path`` names another), built once per
    mode (hypothesis tests cannot take fixtures per example)."""
    if (mode, path) not in _ENGINES:
        _ENGINES[mode, path] = Engine.from_path(path, mode=mode)
    return _ENGINES[mode, path]


@pytest.fixture
def tomahawk() -> dict[str, Any]:
    """A realistic proposal (DSCA notification of 2023-11-17), evaluated for FY2026."""
    return {
        "id": "tomahawk-fy2026",
        "title": "Tomahawk Block IV/V (DSCA 2023-11-17)",
        "fiscal_year": 2026,
        "system": {"name": "Tomahawk Block V", "category": "cruise_missile",
                   "prime_contractor": "Raytheon"},
        "acquisition": {
            "path": "fms", "quantity": 400,
            "total_cost": {"amount": 2350000000, "currency": "USD"},
            "capability_area": "stand_off_defense", "delivery_start_year": 2025,
            "sustainment_cost_per_year": {"amount": 40000000, "currency": "USD"},
        },
        "capabilities": {"datalinks": ["link16"], "iff_modes": ["mode5"],
                         "munitions_commonality": "full"},
        "threats_addressed": ["maritime_surface", "amphibious_invasion"],
        "partners": {"operators": ["NL"], "training_with": ["US"]},
    }


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())
