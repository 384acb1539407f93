"""Where the shipped data lives, relative to the repository (the package is installed editable)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_RULESET = ROOT / "rules" / "japan-fy2026.yaml"


def default_ruleset() -> Path:
    """``POLICY_RULESET`` when set, else the shipped Japan FY2026 ruleset."""
    return Path(os.environ.get("POLICY_RULESET") or SHIPPED_RULESET)
