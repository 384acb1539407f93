"""The compiled evaluator turns rule files into Python: no text of a rule file may ever become
code, and every ruleset the language accepts must compile and mean what the reference says.

The generated source is checked structurally (``ast``): its only names are the compiler's own
(``f0``, ``fired1``, ``E12``…), its only calls are to those names and to ``get`` / ``append``,
and everything a rule file wrote is a constant.
"""

from __future__ import annotations

import ast
import copy
import re
from typing import Any

import pytest
from hypothesis import given, settings

from service.cli.main import main
from service.engine import CompiledRules, Engine, parse_ruleset
from service.engine.evaluation.compiled import literal
from service.engine.evaluation.engine import validate_proposal
from service.engine.evaluation.facts import build_fact
from service.engine.evaluation.interpreter import InterpretedRules
from service.engine.language import loader
from service.engine.language.catalog import field_catalog
from service.engine.language.model import Ruleset
from tests.strategies import proposals
from tests.unit.conftest import MINI, ROOT, SHIPPED, load_json, shipped

EXAMPLES = sorted((ROOT / "examples").glob("*.json"))

HEADER = MINI.read_text().split("rules:")[0]
OWN_NAMES = re.compile(r"(fact|get|ABSENT|FILLED|sum|float|out|(f|fired|points|E)\d+)")
ALLOWED_NODES = (ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Expr, ast.Assign,
                 ast.Name, ast.Load, ast.Store, ast.Attribute, ast.Call, ast.Constant,
                 ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.If,
                 ast.Return, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Is, ast.IsNot, ast.In,
                 ast.NotIn, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.IfExp,
                 ast.BinOp, ast.Add, ast.AugAssign, ast.Subscript)
# what a hostile analyst (or a compromised publishing account) could write where text goes:
# in ids, titles and sentences (which take one line of text) and in literal values (any text)
LINES = [
    "x'); import os; os.system('touch /tmp/compiled-pwned')  #",
    '"""; raise SystemExit; """',
    "\\'; __import__('os').system('id'); '",
    "{system.name}}}{{",
]
BREAKS = [
    "x')\nimport os; os.system('touch /tmp/compiled-pwned')  #",
    "line\u2028separator\x0cform feed\u0085next line\rreturn",
]

def assert_only_data(source: str) -> None:
    """Every node is one the compiler writes, every name its own, every call to its own."""
    for node in ast.walk(ast.parse(source)):
        assert isinstance(node, ALLOWED_NODES), ast.dump(node)[:200]
        if isinstance(node, ast.Name):
            assert OWN_NAMES.fullmatch(node.id), node.id
        if isinstance(node, ast.Attribute):
            assert node.attr in ("get", "append"), node.attr
        if isinstance(node, ast.Subscript):  # fact['a path']
            assert isinstance(node.slice, ast.Constant) and ast.unparse(node.value) == "fact"
        if isinstance(node, (ast.BinOp, ast.AugAssign)):
            assert isinstance(node.op, ast.Add)  # joining a sentence, adding up points
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            assert isinstance(node.operand, ast.Constant)  # a negative number
        if isinstance(node, ast.Dict):
            assert all(isinstance(key, ast.Constant) for key in node.keys)
        if isinstance(node, ast.Set):
            assert all(isinstance(item, ast.Constant) for item in node.elts)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, (ast.Name, ast.Attribute)), ast.dump(node)[:200]


def _yaml(text: str) -> str:
    """``text`` as a double-quoted YAML scalar."""
    for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"),
                         ("\x0c", "\\f"), ("\u2028", "\\L"), ("\u0085", "\\N")):
        text = text.replace(raw, escaped)
    return f'"{text}"'


def _rule(rule_id: str, value: str, number: int) -> str:
    return (f"  - id: {_yaml(rule_id)}\n    criterion: interoperability\n"
            f"    title: {_yaml(rule_id)}\n    points: 5\n"
            f"    because: {_yaml(rule_id.replace('{', '').replace('}', ''))}\n"
            f"    when:\n      any:\n"
            f"        - {{field: system.name, op: eq, value: {_yaml(value)}}}\n"
            f"        - {{field: system.name, op: in, value: [{_yaml(value)}, x{number}]}}\n")


def hostile_ruleset() -> Ruleset:
    rules = [_rule(text, text, n) for n, text in enumerate(LINES)]
    rules += [_rule(f"BREAK{n}", text, len(LINES) + n) for n, text in enumerate(BREAKS)]
    return parse_ruleset(HEADER + "rules:\n" + "".join(rules), "hostile.yaml", MINI.parent)


def _strengths(engine: Engine, proposal: dict[str, Any], name: str) -> list[str]:
    named = copy.deepcopy(proposal)
    named["system"]["name"] = name
    result = engine.evaluate(named)
    return [f["rule_id"] for c in result["criteria"] for f in c["strengths"]]


def test_rule_text_never_becomes_code(tomahawk: dict[str, Any]) -> None:
    ruleset = hostile_ruleset()
    ids = [*LINES, *(f"BREAK{n}" for n in range(len(BREAKS)))]
    assert [rule.id for rule in ruleset.rules] == ids  # the text arrived intact
    assert [rule.condition.items[0].value for rule in ruleset.rules] == [*LINES, *BREAKS]
    compiled = CompiledRules(ruleset)
    assert_only_data(compiled.source)
    for line in compiled.source.splitlines():
        assert not line.lstrip().startswith(("import", "raise")), line
    engine = Engine(ruleset, "native")
    for number, rule_id in enumerate(ids):
        assert _strengths(engine, tomahawk, f"x{number}") == [rule_id]
    for text in LINES:  # proposals hold one line of text without control characters
        assert _strengths(engine, tomahawk, text) == [text]


def _assert_always_given(proposal: dict[str, Any]) -> None:
    """The compiled evaluator reads such fields without a presence test (``fact[path]``)."""
    always = {path for path, spec in field_catalog().items() if not spec.optional}
    fact = build_fact(validate_proposal(proposal), shipped().ruleset.context)
    assert always <= set(fact), always - set(fact)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(proposal=proposals())
def test_a_fact_holds_every_field_the_catalog_says_is_always_given(
    proposal: dict[str, Any]
) -> None:
    _assert_always_given(proposal)
    for example in EXAMPLES:
        _assert_always_given(load_json(example))


def test_the_shipped_and_fixture_rulesets_compile_to_data_only() -> None:
    for path in (SHIPPED, MINI):
        assert_only_data(CompiledRules(loader.load_ruleset(path)).source)


@pytest.mark.parametrize("value", [1, None, ["a"], {"a": 1}, b"a", ("a", 1)])
def test_a_literal_of_an_unexpected_type_stops_the_compilation(value: Any) -> None:
    with pytest.raises(TypeError, match="no compiled form"):
        literal(value)


@pytest.mark.parametrize(("value", "source"), [
    ("it's", '"it\'s"'), (2.5, "2.5"), (1e300, "1e+300"), (True, "True"),
    (float("inf"), "float('inf')"), (float("-inf"), "float('-inf')"), (("a",), "('a',)"),
    (("a", 0.5), "('a', 0.5)"),
])
def test_literals_read_back_equal(value: Any, source: str) -> None:
    assert literal(value) == source
    assert eval(source, {"__builtins__": {"float": float}}) == value


def _reference_agrees(ruleset: Ruleset, proposal: dict[str, Any]) -> None:
    fact = build_fact(validate_proposal(proposal), ruleset.context)
    assert CompiledRules(ruleset).fired(fact) == InterpretedRules(ruleset).fired(fact)


def test_infinite_thresholds_compile(tomahawk: dict[str, Any]) -> None:
    text = HEADER + "rules:\n" + "".join(
        f"  - {{id: R{n}, criterion: budget_fit, title: t, points: 1, because: x, "
        f"when: {{field: derived.total_cost_jpy, op: {op}, value: {value}}}}}\n"
        for n, (op, value) in enumerate([("lt", ".inf"), ("gt", "-.inf"), ("gt", ".inf"),
                                         ("in", "[.inf, 1]")]))
    ruleset = loader.parse_ruleset(text, "inf.yaml", MINI.parent)
    fact = build_fact(validate_proposal(tomahawk), ruleset.context)
    assert CompiledRules(ruleset).fired(fact) == {"R0", "R1"}
    _reference_agrees(ruleset, tomahawk)


def test_the_deepest_condition_the_language_allows_compiles(tomahawk: dict[str, Any]) -> None:
    """32 levels of alternating all / any / not (durable-rules' own limit is not applied:
    the compiler must take whatever the language accepts)."""
    atom = "{field: acquisition.quantity, op: gt, value: 1}"
    when = atom
    for level in range(loader.MAX_DEPTH):
        when = (f"{{all: [{when}, {atom}]}}", f"{{any: [{when}, {atom}]}}",
                f"{{not: {when}}}")[level % 3]
    ruleset = loader.parse_ruleset(HEADER + "rules:\n  - {id: DEEP, criterion: budget_fit, "
                                   f"title: t, points: 1, because: x, when: {when}}}\n",
                                   "deep.yaml", MINI.parent)
    _reference_agrees(ruleset, tomahawk)
    result = Engine(ruleset, "native").evaluate(tomahawk, "full")
    assert result["criteria"]


def test_the_largest_ruleset_the_language_allows_compiles(tomahawk: dict[str, Any]) -> None:
    rules = "".join(
        f"  - {{id: R{n}, criterion: budget_fit, title: t, points: 1, because: x, when: "
        f"{{any: [{{field: acquisition.quantity, op: gt, value: {n}}}, {{all: ["
        f"{{field: capabilities.datalinks, op: contains_any, value: [link16, cec]}}, "
        f"{{field: derived.total_cost_jpy, op: lte, value: {{field: "
        f"derived.envelope_remaining_jpy}}}}]}}]}}}}\n"
        for n in range(loader.MAX_RULES))
    ruleset = loader.parse_ruleset(HEADER + "rules:\n" + rules, "large.yaml", MINI.parent)
    _reference_agrees(ruleset, tomahawk)


def test_rules_compile_shows_the_generated_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "compile", str(MINI), "--show"]) == 0
    source = capsys.readouterr().out
    assert source.startswith("# 'mini' '1.0.0': 11 rules")
    assert "def decide(fact):" in source and "def not_fired_10(fact):" in source
    assert_only_data(source)
    assert main(["rules", "compile", str(MINI)]) == 0
    assert "11 rules" in capsys.readouterr().out


def test_rules_compile_refuses_a_broken_ruleset(tmp_path: Any,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(MINI.read_text().replace("op: contains,", "op: containz,").replace(
        "context: context.yaml", f"context: {MINI.parent / 'context.yaml'}"))
    assert main(["rules", "compile", str(broken)]) == 1
    assert "unknown operator 'containz'" in capsys.readouterr().out
