"""``policy-eval evaluate FILE --set/--unset`` prints the what-if diff the API answers, and
``policy-eval compare`` the comparison; bad edits are bad input naming the edit. What is printed
is checked on 2026.1.0's numbers (its file pinned); that the JSON is the engine's and adds up,
on both shipped versions."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from service.cli.output import change
from service.engine import Engine, apply, comparison, counterfactuals, edits, what_if_diff
from tests.unit.conftest import ROOT, SHIPPED, VERSIONS, load_json, shipped
from tests.unit.test_cli import EXAMPLES, no_traceback, run

WEAK = str(EXAMPLES / "weak-no-partners.json")
PINNED = ("--ruleset", str(SHIPPED))  # 2026.1.0, whose numbers the printed tables show


def test_set_and_unset_print_the_diff() -> None:
    done = run("evaluate", WEAK, *PINNED, "--engine", "native", "--set",
               'capabilities.datalinks=["satcom","link16"]', "--set",
               "partners.co_developers=[\"AU\"]", "--unset", "acquisition.delivery_start_year")
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert 'capabilities.datalinks: ["satcom"] → ["satcom", "link16"]' in text
    assert "acquisition.delivery_start_year: 2030 → (absent)" in text
    assert "overall │ 44.35 │" in text and "Rules gained" in text and "IOP-01" in text


@pytest.mark.parametrize("version", VERSIONS, ids=lambda p: p.stem)
def test_the_json_diff_is_the_engines(version: Path) -> None:
    done = run("evaluate", WEAK, "--ruleset", str(version), "--engine", "native", "--json",
               "--set", "acquisition.quantity=2")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    engine: Engine = shipped("native", version)
    proposal = load_json(ROOT / "examples" / "weak-no-partners.json")
    changes = edits(proposal, {"acquisition.quantity": 2}, [])
    before, after = engine.evaluate(proposal), engine.evaluate(apply(proposal, changes))
    assert answer["changes"] == [{"field": "acquisition.quantity", "from": 10, "to": 2}]
    assert answer["after"] == after and answer["diff"] == what_if_diff(before, after)


def test_a_bad_edit_is_bad_input_naming_the_edit() -> None:
    for edit, named in ((["--set", 'capabilities.datalinks=["link99"]'],
                         "set.capabilities.datalinks"),
                        (["--unset", "title"], "unset.title"),
                        (["--set", "title.words=x"], "set.title.words")):
        done = run("evaluate", WEAK, "--engine", "native", *edit)
        no_traceback(done)
        assert done.returncode == 1 and named in done.stdout + done.stderr, (edit, done.stderr)
    done = run("evaluate", WEAK, "--set", "no-equals-sign")
    assert done.returncode == 2 and "field=value" in done.stderr


def test_explain_full_prints_what_it_would_take() -> None:
    done = run("evaluate", WEAK, *PINNED, "--engine", "native", "--explain", "full")
    text = " ".join(done.stdout.split())
    assert "What it would take: 10.65 points short of acceptable (55)" in text
    assert "lift the cap of PAR-09" in text


def test_compare_prints_side_by_side_and_the_json_adds_up() -> None:
    files = [str(EXAMPLES / name) for name in ("weak-no-partners.json", "tomahawk-2023.json",
                                               "weak-over-budget.json")]
    done = run("compare", *files, *PINNED, "--engine", "native")
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "overall │ 44.35 (3) │ 89.2 (1) │ 60.6 (2)" in text
    assert "weak-no-partners − tomahawk-2023: −44.85" in text
    for version in VERSIONS:
        answer = json.loads(run("compare", *files, "--ruleset", str(version), "--engine",
                                "native", "--json").stdout)
        engine = shipped("native", version)
        evaluated = [engine.evaluate(load_json(ROOT / "examples" / f.split("/")[-1]))
                     for f in files]
        assert answer == comparison(evaluated, [None] * 3)
        for pair in answer["pairs"]:
            total = sum(d["points"] for d in pair["differences"]) + pair["other"]
            assert abs(total - pair["score_difference"]) < 1e-6
    assert run("compare", files[0]).returncode == 2


@pytest.mark.parametrize("version", VERSIONS, ids=lambda p: p.stem)
def test_score_with_counterfactuals_writes_each_gap_and_best_option(tmp_path: Path,
                                                                    version: Path) -> None:
    proposals = [load_json(path) for path in sorted(EXAMPLES.glob("weak-*.json"))]
    upload = tmp_path / "weak.json"
    upload.write_text(json.dumps(proposals))
    done = run("score", str(upload), "--ruleset", str(version), "--counterfactuals",
               "--workers", "1", "-o", str(tmp_path / "ranked.csv"))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((tmp_path / "ranked.csv").open()))
    assert len(rows) == len(proposals)
    engine = shipped("native", version)
    for row in rows:
        answer = counterfactuals(engine, proposals[int(row["index"])])
        band, options = answer["next_band"], answer["options"]
        assert row["next_band_gap"] == ("" if band is None else repr(band["gap"]))
        assert row["best_option"] == (options[0]["sentence"] if options else answer["reason"])
    plain = run("score", str(upload), "--workers", "1", "-o", str(tmp_path / "plain.csv"))
    assert plain.returncode == 0
    assert "next_band_gap" not in (tmp_path / "plain.csv").read_text()


def test_a_difference_too_small_to_show_is_signed_plus_minus_zero() -> None:
    """What no rule explains is often a rounding remainder such as −0.0001: never "−0"."""
    assert [change(v) for v in (-0.0001, 0.0, 0.004, 3, -2.5)] == ["±0", "±0", "±0", "+3", "−2.5"]
