"""YAML parsing that remembers where each value came from, and refuses what a rule file never needs.

Analysts need ``file:line:col`` in every error, so mappings and lists carry their position.
Anchors and aliases are refused outright (they enable "billion laughs" expansion and no ruleset
needs them) and only the safe loader's plain types are built: ``!!python/object`` is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class Mark:
    line: int
    col: int


class Located(dict[str, Any]):
    """A mapping that knows its own position and the position of each key."""

    mark: Mark = Mark(0, 0)
    key_marks: dict[str, Mark]

    def mark_of(self, key: str) -> Mark:
        return self.key_marks.get(key, self.mark)


class LocatedList(list[Any]):
    mark: Mark = Mark(0, 0)
    item_marks: list[Mark]


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed in rule files", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_located_mapping(self, node: yaml.MappingNode) -> Located:
        mapping = Located()
        mapping.mark = _mark(node)
        mapping.key_marks = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in mapping:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_marks[str(key)] = _mark(key_node)
        return mapping

    def construct_located_sequence(self, node: yaml.SequenceNode) -> LocatedList:
        items = LocatedList(self.construct_object(child, deep=True) for child in node.value)
        items.mark = _mark(node)
        items.item_marks = [_mark(child) for child in node.value]
        return items


# YAML 1.1 (PyYAML) reads 9.04e12 as a string; analysts write budgets that way, so numbers are
# resolved as YAML 1.2 does. The resolver table is copied so SafeLoader itself is unchanged.
_Loader.yaml_implicit_resolvers = {
    key: list(value) for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)
_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_located_mapping
)
_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _Loader.construct_located_sequence
)


def parse_yaml(text: str) -> Any:
    """Parse one YAML document; raises ``yaml.YAMLError`` with its position on bad input."""
    return yaml.load(text, Loader=_Loader)
