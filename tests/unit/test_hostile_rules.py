"""A hostile rule file is refused within a second, with a problem at its line and column.

Each case is what an attacker (or a careless generator) could publish: a YAML bomb, a tag that
would run code on an unsafe loader, a pattern built to backtrack, nesting that would exhaust
Python's recursion, more rules or bytes than any ruleset needs. The service must answer each
with a ``RulesetError`` (never a ``RecursionError``, ``ValueError`` or ``TypeError``, which
the API would turn into a 500) and must not spend more than a second finding it.
tests/integration/test_hostile_rules.py sends the same files over HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from service.engine import RulesetError, load_ruleset, parse_ruleset
from service.engine.language.diagnostics import RuleProblem
from service.engine.language.loader import (
    MAX_BREAKPOINTS,
    MAX_BYTES,
    MAX_DEPTH,
    MAX_GROUP_DEPTH,
    MAX_RULES,
)
from service.engine.language.source import MAX_NESTING, MAX_VALUES
from service.engine.language.templates import MAX_FORMAT_WIDTH
from tests.unit.conftest import MINI, ROOT

HEADER = MINI.read_text().split("rules:")[0]  # its `context:` is found beside MINI


def rule(rule_id: str = "R1", when: str = "{field: acquisition.quantity, op: gt, value: 1}",
         because: str = "x") -> str:
    return (f"  - {{id: {rule_id}, criterion: interoperability, title: t, when: {when}, "
            f"points: 1, because: \"{because}\"}}\n")


def with_rules(rules: str) -> str:
    return HEADER + "rules:\n" + rules


def nested(depth: int, opening: str, atom: str, closing: str) -> str:
    return opening * depth + atom + closing * depth


ATOM = "{field: acquisition.quantity, op: gt, value: 1}"


def billion_laughs() -> str:
    """Nine levels of ten aliases: 10⁹ strings once expanded."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    return HEADER.replace("name: ", "\n".join(lines) + "\nname: ", 1) + "rules: *i\n"


# (case, the file's text, what the problem says, line and column of the problem or None)
CASES: list[tuple[str, Callable[[], str], str, tuple[int, int] | None]] = [
    ("alias bomb", billion_laughs, "anchors and aliases (&a, *a) are not allowed", (1, 4)),
    ("python/object tag", lambda: with_rules(rule(when="!!python/object:os.system {}")),
     "the tag !!python/object:os.system is not allowed", None),
    ("python/name tag", lambda: "name: !!python/name:os.system\n" + HEADER,
     "the tag !!python/name:os.system is not allowed", (1, 7)),
    ("python/apply tag", lambda: with_rules(rule(
        when="!!python/object/apply:os.mkdir [/tmp/hostile-rule-was-run]")),
     "the tag !!python/object/apply:os.mkdir is not allowed", None),
    ("regex operator", lambda: with_rules(rule(
        when="{field: system.name, op: matches, value: '^(a+)+$'}")),
     "unknown operator 'matches'", None),
    ("10,000-deep all", lambda: with_rules(rule(when=nested(10_000, "{all: [", ATOM, "]}"))),
     f"nested deeper than {MAX_NESTING} levels", None),
    ("10,000-deep any", lambda: with_rules(rule(when=nested(10_000, "{any: [", ATOM, "]}"))),
     f"nested deeper than {MAX_NESTING} levels", None),
    ("10,000-deep not", lambda: with_rules(rule(when=nested(10_000, "{not: ", ATOM, "}"))),
     f"nested deeper than {MAX_NESTING} levels", None),
    ("10,000-deep block lists", lambda: with_rules("  - " + "- " * 10_000 + "x\n"),
     f"nested deeper than {MAX_NESTING} levels", None),
    ("10,000-deep flow lists", lambda: with_rules(rule(when=ATOM.replace(
        "value: 1", "value: " + nested(10_000, "[", "1", "]")))),
     "nesting depth", None),  # libyaml's own limit (1,000), met before ours when scanning `[`
    ("1,000-deep block mappings", lambda: with_rules("  - when:\n" + "".join(
        f"{' ' * (6 + level)}not:\n" for level in range(1_000)) + " " * 1_006 + ATOM + "\n"),
     f"nested deeper than {MAX_NESTING} levels", None),
    ("40-deep condition", lambda: with_rules(rule(when=nested(40, "{not: ", ATOM, "}"))),
     f"condition nested deeper than {MAX_DEPTH} levels", None),
    ("100,000 rules, compact", lambda: with_rules("  [" + "{}, " * 100_000 + "]\n"),
     f"more than {MAX_VALUES:,} values", None),
    ("100,000 rules", lambda: with_rules("".join(rule(f"R{i}") for i in range(100_000))),
     f"a rule file is at most {MAX_BYTES:,} bytes", (1, 1)),
    (f"{MAX_RULES + 1:,} rules", lambda: with_rules(
        "".join(rule(f"R{i}") for i in range(MAX_RULES + 1))),
     f"{MAX_RULES + 1} rules; at most {MAX_RULES} are allowed", None),
    ("10 MB description", lambda: HEADER.replace(
        "description: ", "description: " + "x" * 10_000_000, 1) + "rules: []\n",
     f"a rule file is at most {MAX_BYTES:,} bytes", (1, 1)),
    ("5,000-digit number", lambda: with_rules(rule(when=ATOM.replace("1}", "1" * 5_000 + "}"))),
     "a number of 5,000 digits", None),
    ("400,000-digit number with underscores", lambda: with_rules(rule(
        when=ATOM.replace("1}", "1_" * 400_000 + "1}"))),
     "a number of 400,001 digits", None),
    ("gigabyte format width", lambda: with_rules(rule(
        because="{derived.total_cost_jpy:>999999999}")),
     f"asks for a width or precision above {MAX_FORMAT_WIDTH}", None),
    ("list as a key", lambda: with_rules("  - ? [a, b]\n    : 1\n"),
     "a key must be text or a number", None),
]


def refused(text: str) -> list[RuleProblem]:
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(text, "hostile.yaml", MINI.parent)
    return caught.value.problems


@pytest.mark.parametrize(("text", "message", "where"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_hostile_rule_file_is_refused_by_the_limit_meant_for_it(
    text: Callable[[], str], message: str, where: tuple[int, int] | None
) -> None:
    """Each case is stopped by its own limit (the message names it), so before the work that
    limit exists to avoid: the limit, not the machine's speed that day, is what is tested."""
    problems = refused(text())
    found = [p for p in problems if message in p.message]
    assert found, [str(p) for p in problems]
    assert str(found[0]).startswith(f"hostile.yaml:{found[0].line}:{found[0].col}: ")
    if where is not None:
        assert (found[0].line, found[0].col) == where


def test_a_python_tag_is_never_run(tmp_path: Path) -> None:
    target = tmp_path / "created-by-the-rule-file"
    text = with_rules(rule(when=f"!!python/object/apply:os.mkdir [{target}]"))
    refused(text)
    assert not target.exists()


@pytest.mark.parametrize("op", ["matches", "regex", "like", "re"])
def test_a_pattern_operator_says_why_the_language_has_none(op: str) -> None:
    problems = refused(with_rules(rule(when=f"{{field: system.name, op: {op}, "
                                                "value: '^(a+)+$'}")))
    assert problems[0].message == f"unknown operator {op!r}"
    assert "no regular expressions" in problems[0].hint
    assert "exponential time" in problems[0].hint


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as sparse:  # 50 MB that take no disk space
        sparse.truncate(50_000_000)

    def never(*_: object, **__: object) -> str:
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_text", never)
    with pytest.raises(RulesetError, match=f"at most {MAX_BYTES:,} bytes"):
        load_ruleset(path)


def test_a_ruleset_at_the_limits_still_loads() -> None:
    """The limits leave room: 32-deep conditions and hostile-looking text as plain values."""
    deep = nested(MAX_DEPTH - 1, "{not: ", ATOM, "}")
    ruleset = parse_ruleset(with_rules(
        rule("DEEP", when=deep) + rule("TEXT", when="{field: system.name, op: eq, "
                                                    "value: '^(a+)+$'}")),
        "limits.yaml", MINI.parent)
    assert [r.id for r in ruleset.rules] == ["DEEP", "TEXT"]


def test_the_guide_states_the_limits_the_loader_enforces() -> None:
    limits = (ROOT / "docs" / "rule-authoring.md").read_text().split("## 11. Limits")[1]
    limits = re.sub(r"\s+", " ", limits.split("## 12.")[0])
    for stated in (f"nest at most {MAX_DEPTH} levels", f"at most {MAX_NESTING}",
                   f"at most {MAX_RULES:,} rules", f"at most {MAX_BYTES:,} bytes",
                   f"{MAX_VALUES:,} values", f"format is at most {MAX_FORMAT_WIDTH}",
                   f"at most {MAX_BREAKPOINTS} breakpoints",
                   f"groups nest at most {MAX_GROUP_DEPTH} deep"):
        assert stated in limits, stated


# --- names and text: what a rule file's one-line texts and its version may hold -------------

def _with_version(version: str) -> str:
    return with_rules(rule()).replace('version: "1.0.0"', f"version: {version}", 1)


HOSTILE_VERSIONS = ["a/b", "..", "../../../etc/passwd", "<script>alert(1)</script>",
                    "v" * 65, "x\\r\\nSet-Cookie: a=1", "1.0\\0", "1.0\\u202e", "1.0 beta",
                    "-1.0", "%2e%2e"]


@pytest.mark.parametrize("version", HOSTILE_VERSIONS)
def test_a_version_that_is_not_a_version_is_refused(version: str) -> None:
    problems = refused(_with_version(f'"{version}"'))
    assert any("is not a version" in p.message or "'version': Contains" in p.message
               for p in problems), [str(p) for p in problems]


@pytest.mark.parametrize("version", ["2026.1.0", "1", "2.0.0-rc.1+build.5", "v" * 64, "A-1"])
def test_a_version_of_letters_digits_dots_dashes_and_pluses_loads(version: str) -> None:
    assert parse_ruleset(_with_version(f'"{version}"'), "ok.yaml", MINI.parent).version == version


# (where, text): each refused with the proposal checks' own words
HOSTILE_RULE_TEXT = [
    ("title", "\\0title", "Contains U+0000, a control or bidirectional-override character"),
    ("title", "\\etitle", "Contains U+001B, a control or bidirectional-override character"),
    ("title", "tit\\u202ele", "Contains U+202E, a control or bidirectional-override character"),
    ("title", "two\\nlines", "Contains U+000A, a line break"),
    ("title", "zero\\u200bwidth", "Contains U+200B, an invisible character"),
    ("because", "{system.name:\\0<40}", "Contains U+0000, a control"),
    ("because", "first line\\u2028second", "Contains U+2028, a line break"),
    ("because", "mark\\u200fed", "Contains U+200F, an invisible character"),
    ("otherwise", "soft\\u00adhyphen", "Contains U+00AD, an invisible character"),
]


@pytest.mark.parametrize(("key", "text", "message"), HOSTILE_RULE_TEXT,
                         ids=[f"{k} {m.split(',')[0]}" for k, _, m in HOSTILE_RULE_TEXT])
def test_rule_text_refuses_control_line_break_bidi_and_invisible_characters(
        key: str, text: str, message: str) -> None:
    body = (f'  - {{id: R1, criterion: interoperability, title: "{text if key == "title" else "t"}"'
            f', when: {ATOM}, points: 1, because: "{text if key == "because" else "x"}"'
            + (f', otherwise: "{text}"' if key == "otherwise" else "") + "}\n")
    problems = refused(with_rules(body))
    found = [p for p in problems if message in p.message]
    assert found and found[0].message.startswith(f"{key!r}: "), [str(p) for p in problems]
    assert found[0].rule_id == "R1" and found[0].line > 1


def test_a_criterion_label_is_one_line_and_a_rationale_may_span_lines() -> None:
    text = with_rules(rule()).replace(
        "    rationale: Half the decision, to make arithmetic easy to check.",
        '    label: "Inter\\noperability"\n    rationale: "Half the decision,\\nto check."', 1)
    problems = refused(text)
    assert [p.message for p in problems] == [
        "'label': Contains U+000A, a line break; single-line text fields (ids, titles, names) "
        "refuse them."]
