"""The analyst's workflow on the command line: check (errors and lint), test with coverage,
and the impact of a change before publishing it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli.main import main
from service.engine import Engine, impact, load_ruleset
from service.engine.authoring.lint import lint
from tests.unit.conftest import ROOT

LINT_CASES = ROOT / "tests" / "fixtures" / "lint" / "ruleset.yaml"
SHIPPED = ROOT / "rules" / "japan-fy2026.yaml"


def test_lint_finds_each_kind_of_suspect_rule() -> None:
    warnings = {(w.rule_id, w.message.split(":")[0]) for w in lint(load_ruleset(LINT_CASES))}
    assert warnings == {
        ("", "band outstanding (from 95) cannot be reached"),
        ("NEVER-RANGE", "this rule can never fire"),
        ("NEVER-LIST", "this rule can never fire"),
        ("NEVER-ABSENT", "this rule can never fire"),
        ("LINK16-AGAIN", "same condition as LINK16 (line 40)"),
        ("LINK16-AND-MODE5", "fires only when LINK16 (line 40) fires too, so their points "
                             "always add up"),
        ("LINK16-AND-MODE5", "fires only when LINK16-AGAIN (line 46) fires too, so their points "
                             "always add up"),
    }


def test_shipped_ruleset_is_lint_clean() -> None:
    assert lint(load_ruleset(SHIPPED)) == []


def test_check_exit_codes_fit_ci(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["rules", "check", str(SHIPPED)]) == 0
    assert main(["rules", "check", str(LINT_CASES)]) == 0  # warnings alone pass...
    assert main(["rules", "check", "--strict", str(LINT_CASES)]) == 1  # ...unless strict
    broken = tmp_path / "typo.yaml"
    broken.write_text(SHIPPED.read_text().replace("field: capabilities.datalinks",
                                                  "field: capabilites.datalinks", 1)
                      .replace("context: context/", f"context: {SHIPPED.parent}/context/"))
    capsys.readouterr()
    assert main(["rules", "check", str(broken)]) == 1
    out = capsys.readouterr().out
    line = next(i for i, text in enumerate(broken.read_text().splitlines(), 1)
                if "capabilites" in text)
    assert f"typo.yaml:{line}:" in out.replace("\n", "")
    assert "did you mean 'capabilities.datalinks'?" in out.replace("\n", "")


def test_rule_tests_report_coverage_and_enforce_a_minimum(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["rules", "test", "--min-coverage", "100"]) == 0
    out = capsys.readouterr().out
    assert "Rule coverage: 100.0%" in out
    assert "0 failed" in out
    # a suite with a single case covers a few rules only, and says which are missed
    suite = tmp_path / "one.test.yaml"
    suite.write_text(f"ruleset: {SHIPPED}\ncases:\n  - name: only Tomahawk\n"
                     f"    example: {ROOT / 'examples' / 'tomahawk-2023.json'}\n")
    assert main(["rules", "test", "--min-coverage", "90", str(suite)]) == 1
    out = capsys.readouterr().out
    assert "fired by no test:" in out and "is below 90%" in out


def test_failing_case_shows_expected_against_actual(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    suite = tmp_path / "wrong.test.yaml"
    suite.write_text(f"ruleset: {SHIPPED}\ncases:\n  - name: wrong expectations\n"
                     f"    example: {ROOT / 'examples' / 'weak-no-datalink.json'}\n"
                     "    fired: [IOP-01]\n    rating: outstanding\n")
    assert main(["rules", "test", str(suite)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "FAILED" in out
    assert "expected to fire, did not: IOP-01" in out
    assert "actually fired: " in out
    assert "rating: expected outstanding, actual unacceptable" in out


def test_diff_names_changed_proposals_and_the_rules_responsible(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(
        SHIPPED.read_text()
        .replace("context: context/", f"context: {SHIPPED.parent}/context/")
        .replace('version: "2026.1.0"', 'version: "2026.2.0"')
        .replace("op: gte, value: 0.9}\n    points: 25", "op: gte, value: 0.9}\n    points: 5", 1)
    )
    assert main(["rules", "diff", str(SHIPPED), str(candidate), "--on",
                 str(ROOT / "examples"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total"] == len(list((ROOT / "examples").glob("*.json")))
    tomahawk = next(c for c in report["changes"] if c["proposal"] == "tomahawk-2023")
    assert tomahawk["rules"] == ["THR-01"]
    assert tomahawk["old"]["overall"] - tomahawk["new"]["overall"] == pytest.approx(0.3 * 20)
    assert (tomahawk["old"]["rating"], tomahawk["new"]["rating"]) == ("outstanding", "good")


def _bud07_at_20_points(tmp_path: Path) -> Path:
    """The shipped ruleset with BUD-07 worth 20 points instead of 8: six examples' scores
    change, none of their ratings or recommendations."""
    text = SHIPPED.read_text()
    start = text.index("id: BUD-07")
    at = text.index("points: 8", start)
    candidate = tmp_path / "bud07.yaml"
    candidate.write_text(
        (text[:at] + "points: 20" + text[at + len("points: 8"):])
        .replace("context: context/", f"context: {SHIPPED.parent}/context/")
        .replace('version: "2026.1.0"', 'version: "2026.2.0"'))
    return candidate


def test_impact_lists_every_score_change_and_counts_what_it_lists(tmp_path: Path) -> None:
    examples = [json.loads(p.read_text()) for p in sorted((ROOT / "examples").glob("*.json"))]
    old, new = Engine.from_path(SHIPPED), Engine.from_path(_bud07_at_20_points(tmp_path))

    report = impact(old, new, examples)

    moved = {}
    for proposal in examples:
        before, after = old.evaluate(proposal), new.evaluate(proposal)
        if before["overall_score"] != after["overall_score"]:
            moved[proposal["id"]] = round(after["overall_score"] - before["overall_score"], 2)
    assert len(moved) == 6
    listed = {c.proposal: c for c in report.changes}
    for proposal_id, delta in moved.items():
        change = listed[proposal_id]
        assert change.overall_delta == delta == 3.0
        assert change.score_deltas == {"budget_fit": 12.0}
        assert change.rules == ("BUD-07",)
        assert {"overall_score", "criterion_scores"} <= set(change.what)
    summary = report.summary()
    assert summary["changed"] == len(report.changes)
    assert summary["overall_score"] == summary["criterion_scores"] == 6
    for kind in ("overall_score", "criterion_scores", "rating", "recommendation", "rank"):
        assert summary[kind] == sum(kind in c.as_dict()["changed"] for c in report.changes)
    # those listed for their rank alone moved because others did: no rule of theirs changed
    assert all(c.rules == () for c in report.changes if c.what == ["rank"])


def test_diff_prints_each_score_change_and_a_summary_that_adds_up(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["rules", "diff", str(SHIPPED), str(_bud07_at_20_points(tmp_path)), "--on",
                 str(ROOT / "examples")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "89.2 → 92.2 (+3)" in out and "budget fit 76 → 88 (+12)" in out  # tomahawk
    assert "65.65 → 68.65 (+3)" in out  # f15j
    assert "18 proposals: 10 changed: overall score for 6, a criterion score for 6, rating " \
           "for 0, recommendation for 0, rank for 6" in out
