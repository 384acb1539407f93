"""YAML parsing that remembers where each value came from, and refuses what a rule file never needs.

Analysts need ``file:line:col`` in every error, so mappings and lists carry their position.

Rule files are published over HTTP, so a hostile one must be refused cheaply, before it costs
memory or time, and with a position rather than a crash:

- anchors are refused outright, and with them aliases: they enable "billion laughs" expansion
  and no ruleset needs them;
- explicit tags other than YAML's plain types are refused (``!!python/object``, ``!!binary``,
  ``!!set``…), and only plain values are built: text, numbers, true/false, null, lists and
  mappings (a date reads as text), so anything parsed is JSON and hashable as a key;
- nesting and the number of values are bounded while the file is composed, event by event, so a
  10,000-deep file stops at level ``MAX_NESTING`` instead of exhausting Python's recursion, and
  a file of a million tiny values stops at ``MAX_VALUES`` before it is built.

Events come from libyaml (PyYAML's C parser, bundled in its wheels), about seven times faster
than PyYAML's Python parser; composing stays in Python so that every node passes the checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml._yaml import CParser
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

# A condition may nest 32 levels (loader.MAX_DEPTH), two YAML levels each for all/any (the
# mapping and its list), under the header, rule list, rule and `when`: about 70 levels. 100
# lets the loader say which condition is too deep, and keeps composing (3 Python frames a level)
# far below the interpreter's recursion limit of 1,000 frames.
MAX_NESTING = 100
# The shipped ruleset of 63 rules holds 1,843 values (keys, texts, numbers, lists, mappings);
# 1,000 rules (loader.MAX_RULES) of that size hold about 30,000. Composing 50,000 takes ~0.2 s.
MAX_VALUES = 50_000
_PLAIN_TAGS = {"!", *(f"tag:yaml.org,2002:{name}"
                      for name in ("str", "int", "float", "bool", "null", "map", "seq"))}


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


class Refused(yaml.MarkedYAMLError):
    """Valid YAML that a rule file may not hold; ``hint`` says what to write instead."""

    def __init__(self, problem: str, mark: Any, hint: str = "") -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.where = Mark(mark.line + 1, mark.column + 1)
        self.hint = hint


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!", 1)


class _Loader(Composer, CParser, SafeConstructor, Resolver):
    """libyaml's events, composed by PyYAML's Python composer (it comes first in the MRO, so
    ``compose_node`` below sees every node), built by the safe constructor."""

    def __init__(self, text: str) -> None:
        CParser.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.nesting = 0
        self.values = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if event is not None:  # None only past the end, where the composer asks for no node
            self.refuse_shape(event)
        self.nesting += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.nesting -= 1

    def refuse_shape(self, event: yaml.Event) -> None:
        """Raise ``Refused`` at ``event`` when it would alias, tag or grow the file too far."""
        mark = event.start_mark
        anchor = getattr(event, "anchor", None)
        if anchor is not None:  # an alias needs an anchor before it: none gets that far
            raise Refused(f"anchors and aliases (&{anchor}, *{anchor}) are not allowed in rule "
                          "files", mark, "write the value out where it is used")
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _PLAIN_TAGS:
            raise Refused(f"the tag {_short_tag(tag)} is not allowed in rule files", mark,
                          "a rule file holds only text, numbers, true/false, lists and mappings")
        if self.nesting >= MAX_NESTING:
            raise Refused(f"lists and mappings nested deeper than {MAX_NESTING} levels", mark,
                          "a condition nests at most 32 levels of all / any / not")
        self.values += 1
        if self.values > MAX_VALUES:
            raise Refused(f"more than {MAX_VALUES:,} values (keys, texts, numbers, lists, "
                          "mappings) in one file", mark,
                          "a ruleset holds at most 1,000 rules, about 30,000 values")

    def construct_located_mapping(self, node: yaml.MappingNode) -> Located:
        mapping = Located()
        mapping.mark = _mark(node)
        mapping.key_marks = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise Refused("a key must be text or a number, not a list or a mapping",
                              key_node.start_mark)
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

    def construct_bounded_int(self, node: yaml.ScalarNode) -> int:
        """Python refuses to read integers of more than 4,300 digits (a ValueError, which
        would escape as a crash); here that is a problem at the number's position."""
        try:
            return SafeConstructor.construct_yaml_int(self, node)
        except ValueError:
            digits = sum(c.isdigit() for c in str(node.value))
            raise Refused(f"a number of {digits:,} digits", node.start_mark,
                          "no field needs more than 20 digits") from None


# YAML 1.1 (PyYAML) reads 9.04e12 as a string; analysts write budgets that way, so numbers are
# resolved as YAML 1.2 does. Dates are not resolved: no field is a date, and text is what a
# version or a description written as 2026-04-01 means. The resolver table is copied so
# PyYAML's own loaders are unchanged.
_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in value if tag != "tag:yaml.org,2002:timestamp"]
    for key, value in Resolver.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)
_Loader.yaml_constructors = {
    **SafeConstructor.yaml_constructors,
    Resolver.DEFAULT_MAPPING_TAG: _Loader.construct_located_mapping,
    Resolver.DEFAULT_SEQUENCE_TAG: _Loader.construct_located_sequence,
    "tag:yaml.org,2002:int": _Loader.construct_bounded_int,
}

def parse_yaml(text: str) -> Any:
    """Parse one YAML document; raises ``yaml.YAMLError`` with its position on bad input, and
    its subclass ``Refused`` (with a hint) on what a rule file may not hold."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
