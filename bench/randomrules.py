"""Random rule conditions over the catalog's real fields, for the evaluator agreement tests and
the scaling benchmark (``bench/scaling.py``); and random rules around them: graded rules on
scales, scopes over categories and paths, groups of rules sharing a scope.

It lives in the package rather than under ``tests/`` so that the benchmark can import it
without pytest or hypothesis installed. Literals are drawn from the thresholds real rules use,
so the generated conditions both fire and miss on realistic proposals.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.vocabulary import ACQUISITION_PATHS, SYSTEM_CATEGORIES
from service.engine.language.catalog import field_catalog
from service.engine.language.fieldspec import FieldSpec
from service.engine.language.operators import OPERATORS

THRESHOLDS: dict[str, list[float]] = {
    "ratio": [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0],
    "JPY": [0.0, 1e9, 1e11, 3.6425e11, 1e12, 3e12],
    "USD": [0.0, 1e6, 5.875e6, 1e8, 2.35e9, 1e10],
    "count": [0, 1, 2, 3, 5, 8],
    "years": [-2, 0, 1, 3, 5],
    "year": [2022, 2025, 2026, 2027, 2030],
    "weight": [0.0, 0.5, 0.8, 0.9, 1.0, 2.5],
}


@dataclass
class RandomConditions:
    """Draws rule conditions (as the YAML mappings an analyst writes) from ``rng``.

    ``countries`` are the literals for country-code fields: the caller passes the codes its
    proposals use, so that country tests can fire.
    """

    rng: random.Random
    countries: Sequence[str]
    catalog: dict[str, FieldSpec] = field(default_factory=field_catalog)

    def literal(self, spec: FieldSpec) -> Any:
        rng = self.rng
        if spec.item_kind == "number":
            return rng.choice(THRESHOLDS.get(spec.unit or "", [0, 1, 4, 400, 1e9, 2.35e9]))
        if spec.item_kind == "bool":
            return rng.choice([True, False])
        if spec.values:
            return rng.choice(spec.values)
        return rng.choice(self.countries) if spec.pattern else rng.choice(["Tomahawk Block V",
                                                                           "x"])

    def atom(self) -> dict[str, Any]:
        """One test of one field with an operator that applies to it (any operator; ~20% of
        the one-value tests compare with another field of the kind they take, as in
        ``system.origin_country eq requesting_country`` or ``derived.partner_operators
        contains system.origin_country``)."""
        rng, catalog = self.rng, self.catalog
        spec = catalog[rng.choice(sorted(catalog))]
        ops = [o for o in OPERATORS.values() if spec.kind in o.field_kinds
               and (o.value != "none" or spec.optional or spec.kind == "list")]
        op = rng.choice(ops)
        atom: dict[str, Any] = {"field": spec.path, "op": op.name}
        if op.value == "many":
            atom["value"] = sorted({self.literal(spec) for _ in range(rng.randint(1, 3))},
                                   key=str)
        elif op.value == "one":
            peers = [p for p, s in catalog.items()
                     if s.kind == spec.item_kind and s.kind != "list" and p != spec.path]
            use_field = peers and rng.random() < 0.2
            atom["value"] = {"field": rng.choice(peers)} if use_field else self.literal(spec)
        return atom

    def condition(self, depth: int = 0) -> Any:
        """A condition tree up to three levels of all / any / not deep: stresses the
        compilers, but larger than most hand-written rules."""
        roll = self.rng.random()
        if depth >= 3 or roll < 0.45:
            return self.atom()
        if roll < 0.6:
            return {"not": self.condition(depth + 1)}
        kind = "all" if roll < 0.8 else "any"
        return {kind: [self.condition(depth + 1) for _ in range(self.rng.randint(2, 3))]}

    def scope(self) -> dict[str, list[str]]:
        """Categories or paths, allowed or excepted, one dimension or both."""
        rng = self.rng
        scope: dict[str, list[str]] = {}
        for name, vocabulary in (("categories", SYSTEM_CATEGORIES), ("paths", ACQUISITION_PATHS)):
            if rng.random() < 0.6:
                key = name if rng.random() < 0.5 else f"except_{name}"
                scope[key] = rng.sample(vocabulary, rng.randint(1, len(vocabulary) // 2))
        return scope or {"categories": [rng.choice(SYSTEM_CATEGORIES)]}

    def scale(self) -> dict[str, Any]:
        """A scale over a number, its breakpoints drawn from the thresholds real rules use."""
        rng, catalog = self.rng, self.catalog
        spec = catalog[rng.choice(sorted(p for p, s in catalog.items() if s.kind == "number"))]
        values = sorted({float(self.literal(spec)) for _ in range(4)})
        if len(values) < 2:
            values.append(values[0] + 1)
        return {"field": spec.path,
                "breakpoints": [[x, rng.choice([-15, -5, 0, 5, 10, 20])] for x in values]}

    def rule(self, rule_id: str, criteria: Sequence[str]) -> dict[str, Any]:
        """A rule as an analyst writes it: fixed points or a scale (one in four, with a
        condition half the time), a scope one time in four."""
        rng = self.rng
        rule: dict[str, Any] = {"id": rule_id, "criterion": rng.choice(list(criteria)),
                                "title": f"random {rule_id}", "because": "generated"}
        if rng.random() < 0.25:
            rule["scale"] = self.scale()
            if not any(p for _, p in rule["scale"]["breakpoints"]):
                rule["scale"]["breakpoints"][-1][1] = 5
            if rng.random() < 0.5:
                rule["when"] = self.condition()
        else:
            rule["when"] = self.condition()
            rule["points"] = rng.choice([-7, 3, 11])
        if rng.random() < 0.25:
            rule["scope"] = self.scope()
        return rule

    def rules(self, count: int, criteria: Sequence[str]) -> list[dict[str, Any]]:
        """``count`` rules, some of them in groups of two to four sharing a scope."""
        found: list[dict[str, Any]] = []
        number = 0
        while number < count:
            size = min(self.rng.randint(2, 4), count - number)
            made = [self.rule(f"R{number + i}", criteria) for i in range(size)]
            number += size
            if self.rng.random() < 0.15:
                found.append({"group": f"group of R{number - size}", "scope": self.scope(),
                              "rules": made})
            else:
                found.extend(made)
        return found
