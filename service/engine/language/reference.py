"""The reference context as typed values, loaded and validated from its YAML file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from schemas.context import ContextSchema
from service.engine.language.source import Located

_WORDS = re.compile(r"[^\W_]+")


def normalized(name: str) -> str:
    """A system name as the registry compares it: case folded, and every run of spaces and
    punctuation read as one space ("SM-3 Block IIA", "sm3 block IIA" and "SM 3  block iia"
    are not all one: "sm3" stays one word)."""
    return " ".join(_WORDS.findall(name.casefold()))


@dataclass(frozen=True)
class FiscalYear:
    annual_budget_jpy: float
    usd_jpy: float


@dataclass(frozen=True)
class Envelope:
    program_total_jpy: float
    committed_jpy: float
    committed_known: bool = True  # False: no figure was given, so nothing is taken as committed

    @property
    def remaining_jpy(self) -> float:
        return self.program_total_jpy - self.committed_jpy


@dataclass(frozen=True)
class PartnerSystem:
    """One registry entry: a system identifier, the names that denote it, who operates it.

    A proposal's ``system.name`` denotes the entry when, normalized, it equals the identifier
    or one of the aliases: "Aegis System Equipped Vessel" is not "Aegis". ``substrings`` is the
    registry's first form (the context key ``match``), kept so that a ruleset published with it
    still scores as it did; ``policy-eval rules check`` reports every entry using it.
    """

    system: str
    aliases: tuple[str, ...]
    operators: tuple[str, ...]
    co_developers: tuple[str, ...]
    substrings: tuple[str, ...] = ()
    line: int = field(default=0, compare=False)  # where the entry is written, for the check

    @cached_property
    def names(self) -> frozenset[str]:
        """The normalized names that denote this entry."""
        return frozenset(normalized(name) for name in (self.system, *self.aliases))

    def matches(self, system_name: str) -> bool:
        if self.substrings:
            name = system_name.casefold()
            return any(part.casefold() in name for part in self.substrings)
        return normalized(system_name) in self.names


@dataclass(frozen=True)
class CategoryProfile:
    """What a category of system can plausibly claim: the capability areas it serves and the
    threats it can address (a support contract does not shoot down aircraft)."""

    capability_areas: frozenset[str]
    threats: frozenset[str]
    service_life_years: int | None = None


_UNSEEN = object()
# names whose registry entry is remembered: a proposal's system name is free text, so the memory
# is bounded (emptied when full); normalizing a name and looking it up is ~4 µs of an evaluation
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
    categories: dict[str, CategoryProfile] = field(default_factory=dict)
    source: str = field(default="", compare=False)  # the file it was read from
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
        """The first registry entry the name denotes, or None: an unmatched system is never
        given another system's partners."""
        found = self._entries.get(system_name, _UNSEEN)
        if found is _UNSEEN:
            if self._by_name is not None:
                found = self._by_name.get(normalized(system_name))
            else:
                found = next((p for p in self.partner_registry if p.matches(system_name)),
                             None)
            if len(self._entries) >= KNOWN_NAMES:
                self._entries.clear()
            self._entries[system_name] = found
        return found  # type: ignore[return-value]

    @cached_property
    def _by_name(self) -> dict[str, PartnerSystem] | None:
        """Every name of an exact registry, to look up in one step (None when an entry matches
        by substring: those are tried in order)."""
        if any(p.substrings for p in self.partner_registry):
            return None
        index: dict[str, PartnerSystem] = {}
        for entry in self.partner_registry:
            for name in entry.names:
                index.setdefault(name, entry)
        return index

    def is_priority(self, threat: str) -> bool:
        return self.threat_weights.get(threat, 0.0) >= self.priority_threshold


def _registry_lines(raw: Any) -> list[int]:
    """The line of each registry entry as written (0 for data that was not read from a file)."""
    entries = raw.get("partner_registry") or ()
    return [entry.mark.line if isinstance(entry, Located) else 0 for entry in entries]


def context_from_data(data: Any, source: str = "") -> Context:
    """Validate raw YAML data (raises ``marshmallow.ValidationError``) and type it."""
    loaded = ContextSchema().load(data)
    lines = _registry_lines(data)
    return Context(
        name=loaded["name"],
        requesting_country=loaded["requesting_country"],
        priority_threshold=loaded["priority_threshold"],
        fiscal_years={
            year: FiscalYear(fy["annual_budget_jpy"], fy["usd_jpy"])
            for year, fy in loaded["fiscal_years"].items()
        },
        envelopes={
            area: Envelope(env["program_total_jpy"], env.get("committed_jpy", 0.0),
                           "committed_jpy" in env)
            for area, env in loaded["capability_areas"].items()
        },
        threat_weights={name: t["weight"] for name, t in loaded["threats"].items()},
        partner_registry=tuple(
            PartnerSystem(
                system=p["system"],
                aliases=tuple(p.get("aliases", ())),
                operators=tuple(p["operators"]),
                co_developers=tuple(p["co_developers"]),
                substrings=tuple(p.get("match", ())),
                line=line,
            )
            for p, line in zip(loaded["partner_registry"], lines, strict=True)
        ),
        categories={
            category: CategoryProfile(frozenset(profile["capability_areas"]),
                                      frozenset(profile["threats"]),
                                      profile.get("service_life_years"))
            for category, profile in loaded["categories"].items()
        },
        source=source,
    )
