"""The ``counterfactuals:`` section of a ruleset: what a "what would it take" answer may change,
read and checked at load time like every other part of the file (problems at ``file:line:col``).

```yaml
counterfactuals:
  fixed: [acquisition.path]                # added to the identity fields, always fixed
  numbers:
    acquisition.delivery_start_year: {range: [2026, 2040], step: 1}
  lists:
    partners.operators: [US, AU, GB]      # the items a list may gain
```

Without the section, the identity and requester fields (``model.IDENTITY_FIELDS``) are fixed,
numbers move within the schema's range, and lists gain only the items the rules name.
"""

from __future__ import annotations

import math
from typing import Any

from service.engine.language.catalog import field_catalog
from service.engine.language.fieldspec import FieldSpec
from service.engine.language.model import IDENTITY_FIELDS, Changeable, NumberChange
from service.engine.language.source import Located, LocatedList, Mark
from service.engine.language.uncertainty import Checks

KEYS = {"fixed", "numbers", "lists"}
NUMBER_KEYS = {"range", "step"}


def read_changeable(checks: Checks, data: Located) -> Changeable:
    """The declared changes, or the defaults when the file declares none (problems are reported
    through ``checks``, which fails the load)."""
    if "counterfactuals" not in data:
        return Changeable()
    section = checks.mapping(data["counterfactuals"], data.mark_of("counterfactuals"),
                             "'counterfactuals'")
    if section is None:
        return Changeable()
    checks.unknown_keys(section, KEYS, "'counterfactuals'")
    fixed = _fixed(checks, section)
    numbers = {path: change for path, change in _entries(checks, section, "numbers", "number",
                                                         _number)}
    lists = {path: items for path, items in _entries(checks, section, "lists", "list", _items)}
    return Changeable(tuple(dict.fromkeys((*IDENTITY_FIELDS, *fixed))), numbers, lists)


def _proposal_field(checks: Checks, path: Any, mark: Mark, kind: str | None) -> FieldSpec | None:
    """The catalog entry of a proposal field (not a derived one) of ``kind``, or None."""
    spec = field_catalog().get(path) if isinstance(path, str) else None
    if spec is None or spec.path.startswith("derived."):
        checks.problem(mark, f"{path!r} is not a field of the proposal",
                       "name a proposal field such as acquisition.quantity")
        return None
    if kind is not None and spec.kind != kind:
        checks.problem(mark, f"{path!r} is a {spec.kind}, not a {kind}")
        return None
    return spec


def _fixed(checks: Checks, section: Located) -> tuple[str, ...]:
    if "fixed" not in section:
        return ()
    value, mark = section["fixed"], section.mark_of("fixed")
    if not isinstance(value, LocatedList):
        checks.problem(mark, "'fixed' must be a list of proposal fields")
        return ()
    marks = getattr(value, "item_marks", [mark] * len(value))
    return tuple(path for path, where in zip(value, marks, strict=False)
                 if _object_of_fields(path) or _proposal_field(checks, path, where, None))


def _object_of_fields(path: Any) -> bool:
    """Whether ``path`` names an object of the proposal (``acquisition.total_cost``): fixing
    it fixes every field in it."""
    return isinstance(path, str) and any(
        p.startswith(path + ".") and not p.startswith("derived.") for p in field_catalog())


def _entries(checks: Checks, section: Located, key: str, kind: str, read: Any
             ) -> list[tuple[str, Any]]:
    """``key: {path: declaration}`` with each path a proposal field of ``kind``."""
    if key not in section:
        return []
    mapping = checks.mapping(section[key], section.mark_of(key), f"'{key}'")
    if mapping is None:
        return []
    found = []
    for path, value in mapping.items():
        mark = mapping.mark_of(str(path))
        spec = _proposal_field(checks, path, mark, kind)
        declared = read(checks, spec, value, mark) if spec is not None else None
        if declared is not None:
            found.append((str(path), declared))
    return found


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(checks: Checks, spec: FieldSpec, value: Any, mark: Mark) -> NumberChange | None:
    """``{range: [low, high], step: s}``, within the schema's range, with a positive step."""
    entry = checks.mapping(value, mark, repr(spec.path))
    if entry is None:
        return None
    checks.unknown_keys(entry, NUMBER_KEYS, repr(spec.path))
    bounds = entry.get("range")
    if not (isinstance(bounds, LocatedList) and len(bounds) == 2 and all(map(_finite, bounds))
            and bounds[0] <= bounds[1]):
        checks.problem(entry.mark_of("range"), f"{spec.path}: 'range' must be [low, high] "
                       "with low <= high")
        return None
    low, high = float(bounds[0]), float(bounds[1])
    if (spec.low is not None and low < spec.low) or (spec.high is not None and high > spec.high):
        checks.problem(entry.mark_of("range"), f"{spec.path}: the range must lie within what "
                       f"the proposal schema accepts ({spec.low:g} to {spec.high:g})")
        return None
    step = entry.get("step", 1 if spec.whole else 0.01)
    if not _finite(step) or step <= 0 or (spec.integer and float(step) != int(step)):
        checks.problem(entry.mark_of("step"), f"{spec.path}: 'step' must be a positive "
                       f"{'whole number' if spec.integer else 'number'}")
        return None
    return NumberChange(low, high, float(step))


def _items(checks: Checks, spec: FieldSpec, value: Any, mark: Mark) -> tuple[str, ...] | None:
    """The items a list may gain: each one the field's vocabulary (or pattern) accepts."""
    if not isinstance(value, LocatedList) or not value:
        checks.problem(mark, f"{spec.path}: give the items it may gain as a non-empty list")
        return None
    refused = [why for item in value if (why := _item_problem(spec, item))]
    for why in refused:
        checks.problem(mark, f"{spec.path}: {why}")
    return None if refused else tuple(dict.fromkeys(value))


def _item_problem(spec: FieldSpec, item: Any) -> str | None:
    if not isinstance(item, str):
        return f"{item!r} is not text"
    return spec.accepts_literal(item)
