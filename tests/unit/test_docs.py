"""docs/rule-authoring.md cannot go stale: its operator examples, its table of derived fields
and its tutorial are run here exactly as written."""

from __future__ import annotations

import copy
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from werkzeug.serving import make_server

from schemas.vocabulary import CATEGORY_MEANINGS
from service.api import close_app, create_app
from service.batch.chunks import summarize
from service.config import Settings
from service.engine import Engine, Range, Uncertainty, load_ruleset, parse_ruleset
from service.engine.authoring.ruletests import FINDING_KINDS, fired_ids
from service.engine.language.catalog import DIRECTIONS
from service.engine.language.derived import DERIVED_FIELDS
from service.engine.language.operators import OPERATORS
from service.robustness.analysis import Plan, analyse
from service.robustness.proposals import from_summaries
from tests.unit.conftest import MINI, ROOT, SHIPPED, load_json

DOC = ROOT / "docs" / "rule-authoring.md"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.S | re.M)
DOC_URL = "http://127.0.0.1:8000"


def blocks() -> list[tuple[str, str]]:
    """(language, text) of each fenced block; a file name after the language (```json name)
    is kept as a first line ``# tutorial: write name``."""
    found = []
    for match in FENCE.finditer(DOC.read_text()):
        kind, name, text = match.group(1), match.group(2).strip(), match.group(3)
        found.append((kind, f"# tutorial: write {name}\n{text}" if name else text))
    return found


def examples() -> dict[str, dict[str, Any]]:
    found = {}
    for kind, text in blocks():
        first = text.splitlines()[0]
        if kind == "yaml" and first.startswith("# example: "):
            found[first.removeprefix("# example: ")] = yaml.safe_load(text)
    return found


def _patch(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _patch(merged[key], value)
        else:
            merged[key] = value
    return merged


@pytest.fixture(scope="module")
def example_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """One ruleset holding every example condition as a rule named after its example."""
    header = yaml.safe_load(MINI.read_text())
    header["context"] = str(ROOT / "rules" / "context" / "japan-fy2026.yaml")
    header["rules"] = [
        {"id": name, "criterion": "interoperability", "title": name, "when": body["when"],
         "points": 1, "because": "example"} for name, body in examples().items()
    ]
    path = tmp_path_factory.mktemp("doc") / "examples.yaml"
    path.write_text(yaml.safe_dump(header))
    return Engine.from_path(path)


def test_every_operator_has_an_example() -> None:
    assert set(OPERATORS) <= set(examples())


@pytest.mark.parametrize("name", sorted(examples()))
def test_operator_example_fires_as_documented(name: str, example_engine: Engine) -> None:
    base = load_json(ROOT / "examples" / "e2d-2023.json")
    body = examples()[name]
    assert name in fired_ids(example_engine.evaluate(_patch(base, body["fires for"])))
    assert name not in fired_ids(example_engine.evaluate(_patch(base, body["not for"])))


def test_derived_fields_table_matches_the_enrichment() -> None:
    rows = re.findall(r"^\| `(derived\.[a-z_]+)` \| (.*) \|$", DOC.read_text(), re.M)
    assert rows == [(spec.path, spec.description) for spec in DERIVED_FIELDS]


# --- uncertainty -------------------------------------------------------------------------


def uncertainty_example() -> str:
    [text] = [text for kind, text in blocks()
              if kind == "yaml" and text.startswith("# uncertainty example: japan-fy2026")]
    return text


def test_the_uncertainty_example_declares_what_the_guide_says_and_drives_an_analysis() -> None:
    shipped = SHIPPED.read_text()
    declared = parse_ruleset(shipped.rstrip("\n") + "\n" + uncertainty_example(), "guide",
                             SHIPPED.parent)
    written = yaml.safe_load(uncertainty_example())["uncertainty"]
    assert declared.content_hash != load_ruleset(SHIPPED).content_hash
    assert declared.uncertainty == Uncertainty(
        weights={name: Range(*pair) for name, pair in written["weights"].items()},
        cost_by_path={path: Range(*pair) for path, pair in written["cost_by_path"].items()},
        exchange_rate=Range(*written["exchange_rate"]))
    # the example proposals as a batch, analysed under the declaration
    engine = Engine(declared)
    summaries = []
    for index, path in enumerate(sorted((ROOT / "examples").glob("*.json"))):
        proposal = load_json(path)
        summaries.append({**summarize(engine.assess(proposal), proposal), "index": index})
    proposals = from_summaries(summaries, declared.criteria)
    found = analyse(proposals, declared.uncertainty,
                    Plan(samples=400, portfolio_samples=20, top_k=3))
    assert found.portfolio is not None and found.portfolio.samples == 20
    assert 0 < max(p.first for p in found.acceptability.proposals) <= 1
    for central in (p.central_weights for p in found.acceptability.proposals):
        for name, weight in (central or {}).items():
            interval = written["weights"][name]
            assert interval[0] <= weight <= interval[1]


def test_directions_and_categories_tables_match_the_catalog() -> None:
    text = DOC.read_text()
    directions = re.findall(r"^\| `([a-z_.]+)` \| ([^|]+) \| ([^|]+) \|$", text, re.M)
    assert directions == [(path, b.words, b.why) for path, b in DIRECTIONS.items()]
    categories = re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|$", text, re.M)
    assert [c for c in categories if c[0] in CATEGORY_MEANINGS] == list(
        CATEGORY_MEANINGS.items())


def rule_examples() -> dict[str, dict[str, Any]]:
    """The ``# rule example: NAME`` blocks: rules, and what they give on changed proposals."""
    found = {}
    for kind, text in blocks():
        first = text.splitlines()[0]
        if kind == "yaml" and first.startswith("# rule example: "):
            found[first.removeprefix("# rule example: ")] = yaml.safe_load(text)
    return found


def _points(result: dict[str, Any], rule: str) -> float | None:
    found = [f["points"] for c in result["criteria"] for kind in FINDING_KINDS
             for f in c[kind] if f["rule_id"] == rule]
    return found[0] if found else None


@pytest.mark.parametrize("name", sorted(rule_examples()))
def test_rule_example_scores_as_documented(name: str, tmp_path: Path) -> None:
    body = rule_examples()[name]
    header = yaml.safe_load(MINI.read_text())
    header["context"] = str(ROOT / "rules" / "context" / "japan-fy2026.yaml")
    header["rules"] = body["rules"]
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump(header, sort_keys=False))
    engine = Engine.from_path(path)
    base = load_json(ROOT / "examples" / "e2d-2023.json")
    for case in body["cases"]:
        result = engine.evaluate(_patch(base, case["proposal"]), "full")
        excluded = [r["rule_id"] for r in result["not_applicable"]]
        assert excluded == case.get("not_applicable", []), case
        fired = {r: _points(result, r) for r in case.get("points", {})}
        assert fired == case.get("points", {}), case


def test_context_excerpts_are_the_context() -> None:
    """The guide's excerpts of the context file are what it says."""
    context = yaml.safe_load((ROOT / "rules" / "context" / "japan-fy2026.yaml").read_text())
    excerpts = [yaml.safe_load(text) for kind, text in blocks()
                if kind == "yaml" and text.startswith("# from rules/context/japan-fy2026.yaml")]
    assert excerpts
    def within(part: dict[str, Any], whole: dict[str, Any]) -> bool:
        return all(whole.get(k) == v for k, v in part.items())

    for excerpt in excerpts:
        for key, value in excerpt.items():
            if isinstance(value, list):  # each item is one of the file's, perhaps abridged
                assert all(any(within(item, entry) for entry in context[key])
                           for item in value), key
            else:
                assert all(context[key][k] == v for k, v in value.items()), key


# --- the tutorial --------------------------------------------------------------------------


def _expected_lines_found(expected: list[str], output: str) -> None:
    lines = [" ".join(line.split()) for line in output.splitlines()]
    position = 0
    for want in expected:
        if want == "...":
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in want.split("...")))
        while position < len(lines) and not pattern.search(lines[position]):
            position += 1
        assert position < len(lines), f"not in the output, in order: {want!r}\n{output}"
        position += 1


def _run_console(text: str, workdir: Path, url: str) -> None:
    command, *expected = text.strip().splitlines()
    args = shlex.split(command.removeprefix("$ ").replace(DOC_URL, url))
    if args[0] == "policy-eval":
        args = [sys.executable, "-c", "from service.cli import run; run()", *args[1:]]
    env = {**os.environ, "COLUMNS": "300", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    _expected_lines_found([" ".join(e.split()) for e in expected], done.stdout + done.stderr)


def _edit(text: str, workdir: Path) -> None:
    first, *rest = text.splitlines()
    action, _, target = first.removeprefix("# tutorial: ").partition(" ")
    path = workdir / target.split(" ", 1)[-1]
    if action == "write":
        path.write_text("\n".join(rest) + "\n")
        return
    if action == "append":
        path.write_text(path.read_text().rstrip("\n") + "\n\n" + "\n".join(rest) + "\n")
        return
    content = path.read_text()
    for line in rest:
        old, new = line.split(" => ")
        assert old in content, f"{old!r} is not in {path.name}"
        content = content.replace(old, new, 1)
    path.write_text(content)


def test_tutorial_runs_as_written(tmp_path: Path) -> None:
    for folder in ("rules", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    # the service the tutorial publishes to, as `scripts/serve` runs it (embedded)
    app = create_app(Settings(redis_url=None, ruleset=tmp_path / "rules" / "japan-fy2026.yaml"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    steps = [(kind, text) for kind, text in blocks()
             if kind == "console" or text.startswith("# tutorial: ")]
    assert len(steps) >= 12
    try:
        for kind, text in steps:
            if kind == "console":
                _run_console(text, tmp_path, f"http://127.0.0.1:{server.server_port}")
            else:
                _edit(text, tmp_path)
    finally:
        server.shutdown()
        close_app(app)
