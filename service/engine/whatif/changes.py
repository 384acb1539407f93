"""A change to a proposal (one field, from one JSON value to another) and how it reads.

A change names a dotted path into the proposal as submitted. ``before`` is ``ABSENT`` when the
field was not given, ``after`` is ``ABSENT`` when the change removes it; as JSON both are null.
Applying changes copies only the objects on their paths, so the original stays untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.vocabulary import CAPABILITY_AREA_LABELS, VALUE_LABELS
from service.engine.evaluation.facts import ABSENT, value_at
from service.engine.language.catalog import field_catalog

CURRENCY_SIGNS = {"JPY": "¥", "USD": "$"}


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any

    def data(self) -> dict[str, Any]:
        return {"field": self.field, "from": _json(self.before), "to": _json(self.after)}

    @property
    def numeric(self) -> bool:
        return _is_number(self.before) and _is_number(self.after)


def _json(value: Any) -> Any:
    return None if value is ABSENT else value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def apply(proposal: Mapping[str, Any], changes: Iterable[Change]) -> dict[str, Any]:
    """A copy of ``proposal`` with ``changes`` made; a missing object on a path is created."""
    edited = dict(proposal)
    for change in changes:
        *parents, last = change.field.split(".")
        node = edited
        for part in parents:
            child = node.get(part)
            child = dict(child) if isinstance(child, Mapping) else {}
            node[part] = child
            node = child
        if change.after is ABSENT:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(change.after)
    return edited


def value_label(value: Any) -> str:
    """A coded value as analysts name it ("Link 16", "integrated air and missile defense")."""
    if isinstance(value, str):
        return VALUE_LABELS.get(value) or CAPABILITY_AREA_LABELS.get(value) or value
    return str(value)


def field_label(path: str) -> str:
    """A field's label in running text: "the datalinks", "the first delivery year"."""
    spec = field_catalog().get(path)
    label = spec.label if spec else path.rsplit(".", 1)[-1].replace("_", " ")
    return "the " + (label if label[:2].isupper() else label[0].lower() + label[1:])


def _amount(value: Any, currency: Any) -> str:
    if isinstance(value, Mapping):
        return _amount(value.get("amount"), value.get("currency"))
    if not _is_number(value):
        return value_label(value)
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    sign = CURRENCY_SIGNS.get(currency) if isinstance(currency, str) else None
    return f"{sign}{shown}" if sign else shown


def describe(change: Change, proposal: Mapping[str, Any]) -> str:
    """The change in words, lower case: "adding Link 16 to the datalinks"."""
    label = field_label(change.field.removesuffix(".amount"))
    before, after = change.before, change.after
    currency = value_at(proposal, change.field.rsplit(".", 1)[0] + ".currency")
    if isinstance(before, list) and isinstance(after, list):
        added = [item for item in after if item not in before]
        removed = [item for item in before if item not in after]
        if added and not removed:
            return f"adding {_joined(added)} to {label}"
        if removed and not added:
            return f"removing {_joined(removed)} from {label}"
        return f"changing {label} to {_joined(after) or 'none'}"
    if after is ABSENT:
        return f"leaving out {label}"
    if before is ABSENT:
        return f"giving {label} as {_amount(after, currency)}"
    if _is_number(before) and _is_number(after):
        verb = "raising" if after > before else "lowering"
        return (f"{verb} {label} from {_amount(before, currency)} to "
                f"{_amount(after, currency)}")
    return f"changing {label} from {value_label(before)} to {value_label(after)}"


def _joined(items: list[Any]) -> str:
    labels = [value_label(item) for item in items]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def describe_all(changes: Iterable[Change], proposal: Mapping[str, Any]) -> str:
    words = [describe(change, proposal) for change in changes]
    return " and ".join(words)


class EditInvalid(ValueError):
    """A what-if edit that names no place in the proposal: ``field`` is where it was asked."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def edits(proposal: Mapping[str, Any], set_values: Mapping[str, Any],
          unset: Iterable[str]) -> list[Change]:
    """The changes a what-if asks for, against ``proposal`` as submitted: ``set`` gives values
    by dotted path, ``unset`` leaves fields out. A path must run through objects; whether the
    edited proposal is valid is the schema's to say."""
    changes = []
    for where, paths in (("set", list(set_values)), ("unset", list(unset))):
        for path in paths:
            parts = path.split(".") if isinstance(path, str) else []
            if not all(parts):
                raise EditInvalid(f"{where}.{path}", "is not a dotted path into the proposal")
            node: Any = proposal
            for part in parts[:-1]:
                node = node.get(part, {}) if isinstance(node, Mapping) else None
                if not isinstance(node, Mapping):
                    raise EditInvalid(f"{where}.{path}", f"{part!r} is not an object")
            after = set_values[path] if where == "set" else ABSENT
            changes.append(Change(path, value_at(proposal, path), after))
    return [c for c in changes if c.before != c.after]


def name_edit_errors(errors: list[dict[str, str]], changes: Iterable[Change],
                     unset: Iterable[str]) -> list[dict[str, str]]:
    """The schema's errors of an edited proposal (``[{field, message, …}]``), each named after
    the edit that caused it (``set.<path>`` or ``unset.<path>``) when one did, else left as
    the field."""
    changed, removed = [c.field for c in changes], set(unset)
    named = []
    for error in errors:
        field = error["field"]
        cause = next((path for path in changed
                      if field == path or field.startswith(path + ".")), None)
        if cause is not None:
            error = {**error, "field": f"{'unset' if cause in removed else 'set'}.{cause}"}
        named.append(error)
    return named
