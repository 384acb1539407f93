"""What a person expects of ``policy-eval``: a version, help for every command and option,
completion, errors without tracebacks and with the documented exit status, output that is not
cut when redirected, progress on stderr, and numbers and words as people write them."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import synthetic
from service.cli.main import main
from service.cli.parser import build_parser, version
from tests.unit.conftest import ROOT, SHIPPED

EXAMPLES = ROOT / "examples"


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """``policy-eval`` as a shell runs it, its output redirected (not a terminal)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    environment.update({"PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run([sys.executable, "-c", "from service.cli import run; run()", *args],
                          cwd=cwd, env=environment, capture_output=True, text=True, timeout=120,
                          check=False)


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr, done.stderr


def parsers(parser: argparse.ArgumentParser, name: str = "policy-eval"
            ) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(name, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                found.extend(parsers(sub, f"{name} {sub_name}"))
    return found


def test_every_command_and_option_has_help() -> None:
    missing = []
    for name, parser in parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{name} {choice.dest}" for choice in action._choices_actions
                            if not choice.help]
            elif not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_version() -> None:
    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"policy-eval {version()}"
    assert version()[0].isdigit()


def test_help_documents_exit_status_and_completion() -> None:
    done = run("--help")
    assert done.returncode == 0
    assert "exit status: 0 success; 1 the input was judged bad" in done.stdout
    assert 'eval "$(register-python-argcomplete policy-eval)"' in done.stdout


def test_shell_completion(tmp_path: Path) -> None:
    script = shutil.which("register-python-argcomplete",
                          path=str(Path(sys.executable).parent))
    assert script is not None
    shellcode = subprocess.run([script, "policy-eval"], capture_output=True, text=True,
                               check=True).stdout
    assert "complete" in shellcode and "policy-eval" in shellcode

    def complete(line: str) -> list[str]:
        answer = tmp_path / "completions"
        run(env={"_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
                 "_ARGCOMPLETE_IFS": "\n", "_ARGCOMPLETE_STDOUT_FILENAME": str(answer)})
        return answer.read_text().split()

    assert complete("policy-eval ru") == ["rules"]
    assert {"check", "test", "diff", "publish", "activate", "versions"} <= set(
        complete("policy-eval rules "))
    assert "--portfolio-output" in complete("policy-eval score --portf")


def test_an_invalid_proposal_lists_its_fields_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": "x", "fiscal_year": "2026"}')
    done = run("evaluate", str(bad))
    assert done.returncode == 1
    no_traceback(done)
    assert "invalid proposal" in done.stderr and "3 problems" in done.stderr
    assert "  fiscal_year: Not an integer" in done.stderr
    assert "  system: Missing data for required field." in done.stderr
    assert "{" not in done.stderr  # the field list, not marshmallow's dict


@pytest.mark.parametrize(("content", "status", "message"), [
    ("this is not JSON", 1, "is not JSON"),
    (None, 2, "cannot read"),
])
def test_a_proposal_file_that_is_not_json_is_bad_input(tmp_path: Path, content: str | None,
                                                        status: int, message: str) -> None:
    path = tmp_path / "proposal.json"
    if content is not None:
        path.write_text(content)
    done = run("evaluate", str(path))
    assert done.returncode == status and message in done.stderr
    no_traceback(done)


def test_a_ruleset_that_does_not_load_is_reported_at_its_context_line(tmp_path: Path) -> None:
    """A copy of the ruleset outside rules/: its `context:` path no longer resolves."""
    copy = tmp_path / "japan-fy2026.yaml"
    shutil.copy(SHIPPED, copy)
    context_line = next(i for i, line in enumerate(copy.read_text().splitlines(), 1)
                        if line.startswith("context:"))
    for args in (["evaluate", str(EXAMPLES / "tomahawk-2023.json"), "--ruleset", str(copy)],
                 ["rules", "diff", str(SHIPPED), str(copy), "--on", str(EXAMPLES)]):
        done = run(*args)
        assert done.returncode == 1
        no_traceback(done)
        assert f"{copy}:{context_line}:1: -: context file" in done.stderr
        assert "relative to the ruleset file's folder" in done.stderr
    missing = run("rules", "diff", str(tmp_path / "nope.yaml"), str(SHIPPED), "--on",
                  str(EXAMPLES))
    assert missing.returncode == 2 and "no ruleset file" in missing.stderr
    no_traceback(missing)


def long_named(tmp_path: Path, count: int = 30) -> Path:
    """A CSV of variants of the examples with ids longer than any column rich would give them
    at 80 columns."""
    programmes = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]
    items = [{**p, "id": f"{p['id']}-what-if-variant-with-a-long-name"}
             for p in synthetic.variants(programmes, count)]
    path = tmp_path / "variants.csv"
    synthetic.write(path, items)
    return path


def test_redirected_output_is_not_cut_and_progress_goes_to_stderr(tmp_path: Path) -> None:
    done = run("score", str(long_named(tmp_path)), "--workers", "1", "--engine", "native",
               "--portfolio", "envelopes")
    assert done.returncode == 0
    no_traceback(done)
    assert "…" not in "".join(line for line in done.stdout.splitlines() if "│" in line)
    best = [line for line in done.stdout.splitlines() if "-what-if-variant-with-a-long-name"
            in line]
    assert len(best) >= 10  # whole ids, one row each: neither cut nor folded
    assert "scoring" not in done.stdout and "scoring" in done.stderr
    assert "recommend with conditions" in done.stdout or "recommend " in done.stdout
    assert "_" not in " ".join(line for line in done.stdout.splitlines()
                               if "│" in line and "variant" not in line)  # labels, not codes


def test_portfolio_is_printed_and_written(tmp_path: Path) -> None:
    source = long_named(tmp_path, 60)
    written = tmp_path / "portfolio.csv"
    document = tmp_path / "portfolio.json"
    done = run("score", str(source), "--workers", "1", "--engine", "native", "--portfolio",
               "3e12", "--portfolio-output", str(written))
    assert done.returncode == 0, done.stderr
    again = run("score", str(source), "--workers", "1", "--engine", "native", "--portfolio",
                "3e12", "--portfolio-output", str(document))
    doc: dict[str, Any] = json.loads(document.read_text())
    rows = list(csv.DictReader(written.open()))

    assert again.returncode == 0
    assert len(rows) == 60 and {r["funded"] for r in rows} == {"yes", "no"}
    funded = [r for r in rows if r["funded"] == "yes"]
    assert {r["proposal_id"] for r in funded} == {e["proposal_id"] for e in doc["chosen"]}
    assert all(r["reason"] for r in rows if r["funded"] == "no")
    assert sum(float(r["cost"]) for r in funded) <= 3e12
    assert all(float(r["cost"]).is_integer() for r in funded)  # yen to the yen
    out = " ".join(done.stdout.split())
    assert f"Portfolio within the budget: {len(funded)} proposals funded" in out
    assert "of ¥3 trillion" in out
    best = max(funded, key=lambda r: (float(r["overall_score"]), -int(r["index"])))
    assert best["proposal_id"] in out  # the funded list, best first
    assert f"wrote {written}" in out


def test_portfolio_output_needs_a_portfolio(tmp_path: Path) -> None:
    done = run("score", str(long_named(tmp_path, 2)), "--portfolio-output",
               str(tmp_path / "p.csv"))
    assert done.returncode == 2 and "give --portfolio" in done.stderr


def test_counts_read_as_words(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "typo.yaml"
    broken.write_text(SHIPPED.read_text().replace("field: capabilities.datalinks",
                                                  "field: capabilites.datalinks", 1)
                      .replace("context: context/", f"context: {SHIPPED.parent}/context/"))
    assert main(["rules", "check", str(broken)]) == 1
    assert main(["rules", "check", str(SHIPPED)]) == 0
    out = capsys.readouterr().out
    assert f"{broken}: 1 error\n" in out and "0 warnings" in out and "(s)" not in out
