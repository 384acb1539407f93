"""Engine throughput: full evaluations per second on one core, both evaluators, the shipped
ruleset and the example proposals. Run: ``python bench/engine.py [seconds]``.

Absolute numbers vary by machine; the ratio native/durable is what holds.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from datetime import date
from pathlib import Path

from service.engine import Engine

ROOT = Path(__file__).resolve().parents[1]


def rate(engine: Engine, proposals: list[dict[str, object]], seconds: float) -> float:
    for proposal in proposals:  # warm-up: registration, caches
        engine.evaluate(proposal)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for proposal in proposals:
            engine.evaluate(proposal)
        count += len(proposals)
    return count / (time.perf_counter() - start)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    proposals = [json.loads(p.read_text()) for p in sorted((ROOT / "examples").glob("*.json"))]
    ruleset = ROOT / "rules" / "japan-fy2026.yaml"
    durable = rate(Engine.from_path(ruleset, "durable"), proposals, seconds)
    native = rate(Engine.from_path(ruleset, "native"), proposals, seconds)
    print(f"machine: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}, {date.today()}")
    print("| engine | evaluations/s (1 core) | ms each |")
    print("|---|---|---|")
    print(f"| durable-rules + native cross-check (default) | {durable:,.0f} | {1000/durable:.2f} |")
    print(f"| native only (`POLICY_ENGINE=native`) | {native:,.0f} | {1000/native:.2f} |")
    print(f"ratio native/default: {native / durable:.1f}x")


if __name__ == "__main__":
    main()
