from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
SHIPPED = ROOT / "rules" / "japan-fy2026.yaml"


@pytest.fixture(scope="session")
def examples() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in EXAMPLES]
