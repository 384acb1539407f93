"""The reference context as typed values, loaded and validated from its YAML file."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from schemas.context import ContextSchema


@dataclass(frozen=True)
class FiscalYear:
    annual_budget_jpy: float
    usd_jpy: float


@dataclass(frozen=True)
class Envelope:
    program_total_jpy: float
    committed_jpy: float

    @property
    def remaining_jpy(self) -> float:
        return self.program_total_jpy - self.committed_jpy


@dataclass(frozen=True)
class PartnerSystem:
    system: str
    match: tuple[str, ...]
    operators: tuple[str, ...]
    co_developers: tuple[str, ...]

    @functools.cached_property
    def _folded(self) -> tuple[str, ...]:
        return tuple(alias.casefold() for alias in self.match)

    def matches(self, folded_name: str) -> bool:
        """Whether an alias is part of the system's name (``casefold``-ed by the caller)."""
        return any(alias in folded_name for alias in self._folded)


_UNSEEN = object()
# names whose registry entry is remembered: a proposal's system name is free text, so the memory
# is bounded (emptied when full); the registry scan it saves is ~4 µs of every evaluation
KNOWN_NAMES = 1024


@dataclass(frozen=True)
class Context:
    name: str
    requesting_country: str
    priority_threshold: float
    fiscal_years: dict[int, FiscalYear]
    envelopes: dict[str, Envelope]
    threat_weights: dict[str, float]
    partner_registry: tuple[PartnerSystem, ...]
    _entries: dict[str, PartnerSystem | None] = field(
        default_factory=dict, init=False, compare=False, repr=False)

    def fiscal_year(self, year: int) -> tuple[int, FiscalYear]:
        """The figures of ``year``, or of the nearest year the context knows.

        A proposal for FY2027 is still judged against the latest known budget rather than
        against nothing; the year used is reported as ``derived.budget_fiscal_year``.
        """
        nearest = min(self.fiscal_years, key=lambda known: (abs(known - year), -known))
        return nearest, self.fiscal_years[nearest]

    def partner_system(self, system_name: str) -> PartnerSystem | None:
        found = self._entries.get(system_name, _UNSEEN)
        if found is _UNSEEN:
            name = system_name.casefold()
            found = next((p for p in self.partner_registry if p.matches(name)), None)
            if len(self._entries) >= KNOWN_NAMES:
                self._entries.clear()
            self._entries[system_name] = found
        return found  # type: ignore[return-value]


def context_from_data(data: Any) -> Context:
    """Validate raw YAML data (raises ``marshmallow.ValidationError``) and type it."""
    loaded = ContextSchema().load(data)
    return Context(
        name=loaded["name"],
        requesting_country=loaded["requesting_country"],
        priority_threshold=loaded["priority_threshold"],
        fiscal_years={
            year: FiscalYear(fy["annual_budget_jpy"], fy["usd_jpy"])
            for year, fy in loaded["fiscal_years"].items()
        },
        envelopes={
            area: Envelope(env["program_total_jpy"], env["committed_jpy"])
            for area, env in loaded["capability_areas"].items()
        },
        threat_weights={name: t["weight"] for name, t in loaded["threats"].items()},
        partner_registry=tuple(
            PartnerSystem(
                system=p["system"],
                match=tuple(p["match"]),
                operators=tuple(p["operators"]),
                co_developers=tuple(p["co_developers"]),
            )
            for p in loaded["partner_registry"]
        ),
    )
