"""The ``uncertainty:`` section of a ruleset: how far its weights and the proposals' costs may be
off, read and checked at load time like every other part of the file.

```yaml
uncertainty:
  weights:                        # or: weight_concentration: 200
    interoperability: [0.25, 0.40]
  cost_by_path:                   # actual cost as a fraction of the stated cost
    fms: [0.80, 1.00]
  exchange_rate: [0.90, 1.10]     # JPY/USD as a fraction of the context's rate
```

A weight interval must lie within [0, 1] and hold the stated weight; criteria without one keep
their stated weight. Since every stated weight lies in its interval and the stated weights sum
to 1, the intervals always admit weights summing to 1: no separate check is needed.
"""

from __future__ import annotations

import difflib
import math
from typing import Any, Protocol

from schemas.vocabulary import ACQUISITION_PATHS
from service.engine.language.diagnostics import RuleProblem
from service.engine.language.model import Criterion, Range, Uncertainty
from service.engine.language.source import Located, LocatedList, Mark

KEYS = {"weights", "weight_concentration", "cost_by_path", "exchange_rate"}


class Checks(Protocol):
    """What the ruleset reader offers for reporting problems at ``file:line``."""

    problems: list[RuleProblem]

    def problem(self, mark: Mark, message: str, hint: str = "") -> None: ...

    def mapping(self, value: Any, mark: Mark, what: str) -> Located | None: ...

    def unknown_keys(self, data: Located, allowed: set[str], what: str) -> None: ...


def read_uncertainty(checks: Checks, data: Located, criteria: tuple[Criterion, ...]
                     ) -> Uncertainty | None:
    """The declared uncertainty, or None when the file declares none or it has problems
    (reported through ``checks``)."""
    if "uncertainty" not in data:
        return None
    section = checks.mapping(data["uncertainty"], data.mark_of("uncertainty"), "'uncertainty'")
    if section is None:
        return None
    before = len(checks.problems)
    checks.unknown_keys(section, KEYS, "'uncertainty'")
    weights = _weights(checks, section, {c.name: c.weight for c in criteria})
    concentration = _concentration(checks, section)
    if "weights" in section and concentration is not None:
        checks.problem(section.mark_of("weight_concentration"), "give weight intervals or a "
                       "weight concentration, not both")
    costs = _ranges(checks, section, "cost_by_path", ACQUISITION_PATHS, "acquisition path",
                    fraction=False)
    rate = None
    if "exchange_rate" in section:
        mark = section.mark_of("exchange_rate")
        rate = _range(checks, section["exchange_rate"], mark, "'exchange_rate'", fraction=False)
        if rate is not None and not rate.low <= 1 <= rate.high:
            checks.problem(mark, "'exchange_rate' is a fraction of the context's rate and must "
                           "include 1 (the context's rate itself)")
    if len(checks.problems) > before:
        return None
    return Uncertainty(weights, concentration, costs, rate)


def _weights(checks: Checks, section: Located, stated: dict[str, float]) -> dict[str, Range]:
    found = _ranges(checks, section, "weights", tuple(stated), "criterion", fraction=True)
    for name, interval in found.items():
        if not interval.low <= stated[name] <= interval.high:
            checks.problem(section["weights"].mark_of(name), f"the interval of {name!r} must "
                           f"include its stated weight {stated[name]:g}")
    return found


def _concentration(checks: Checks, section: Located) -> float | None:
    if "weight_concentration" not in section:
        return None
    value = section["weight_concentration"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0):
        checks.problem(section.mark_of("weight_concentration"), "'weight_concentration' must "
                       "be a positive number (the larger, the closer to the stated weights)")
        return None
    return float(value)


def _ranges(checks: Checks, section: Located, key: str, names: tuple[str, ...], what: str,
            fraction: bool) -> dict[str, Range]:
    """``key: {name: [low, high]}`` with each name one of ``names``."""
    if key not in section:
        return {}
    mapping = checks.mapping(section[key], section.mark_of(key), f"'{key}'")
    if mapping is None:
        return {}
    found = {}
    for name, value in mapping.items():
        mark = mapping.mark_of(str(name))
        if name not in names:
            close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.6)
            checks.problem(mark, f"unknown {what} {name!r} in '{key}'",
                           f"did you mean {close[0]!r}?" if close else
                           f"{what}s: {', '.join(names)}")
            continue
        interval = _range(checks, value, mark, repr(name), fraction)
        if interval is not None:
            found[str(name)] = interval
    return found


def _range(checks: Checks, value: Any, mark: Mark, what: str, fraction: bool) -> Range | None:
    """``[low, high]`` with low <= high: within [0, 1] for a ``fraction`` (a weight), else
    both positive (a factor on a cost or a rate)."""
    if not (isinstance(value, LocatedList) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in value)):
        checks.problem(mark, f"{what} must be a range of two numbers: [low, high]")
        return None
    low, high = float(value[0]), float(value[1])
    if low > high:
        checks.problem(mark, f"{what}: the low end {low:g} is above the high end {high:g}")
        return None
    if (fraction and not 0 <= low <= high <= 1) or (not fraction and low <= 0):
        checks.problem(mark, f"{what} must be {'within [0, 1]' if fraction else 'positive'}")
        return None
    return Range(low, high)
