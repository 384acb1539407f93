"""The README's example answer is what the service answers today, and its commands work as
written (tests/readme.py runs them)."""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from service.api import close_app, create_app
from service.batch.chunks import summarize
from service.cli.main import main
from service.config import DEFAULT_RULESET, Settings
from service.engine import Engine, parse_ruleset
from service.robustness.analysis import Plan, analyse, document
from service.robustness.proposals import from_summaries
from tests import readme
from tests.unit.conftest import ROOT, SHIPPED, load_json
from tests.unit.test_docs import uncertainty_example

README = (ROOT / "README.md").read_text()


def _example_answer() -> dict[str, Any]:
    section = README.split("## Try it", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block is not None
    answer: dict[str, Any] = json.loads(block.group(1))
    return answer


def _default() -> Engine:
    """The ruleset a service runs by default (2026.2.0), which the README's answers show."""
    return Engine.from_path(DEFAULT_RULESET)


def test_readme_example_matches_the_engine() -> None:
    shown = _example_answer()["evaluation"]
    actual = _default().evaluate(load_json(ROOT / "examples" / "tomahawk-2023.json"))
    for key in ("decision_id", "input_hash", "ruleset", "overall_score", "rating",
                "recommendation", "summary"):
        assert shown[key] == actual[key], key
    [budget] = [c for c in shown["criteria"] if isinstance(c, dict)]
    actual_budget = next(c for c in actual["criteria"] if c["criterion"] == budget["criterion"])
    assert budget["score"] == actual_budget["score"]
    for finding in budget["strengths"]:  # abridged: some evidence may be left out
        same = next(f for f in actual_budget["strengths"] if f["rule_id"] == finding["rule_id"])
        assert (finding["points"], finding["sentence"]) == (same["points"], same["sentence"])
        assert all(item in same["evidence"] for item in finding["evidence"])


# --- the README's commands, run as written ------------------------------------------------


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    """The service as `scripts/serve` runs it (embedded, no keys), in a thread: its address."""
    app = create_app(Settings(redis_url=None))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    close_app(app)


def succeeded(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args[-1][-300:]}\n{done.stdout[-2000:]}{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_takes_another_port() -> None:
    """`scripts/serve --port 9000`: the script hands its arguments to `policy-eval serve`,
    which serves on the port given."""
    assert "`scripts/serve --port 9000` serves on another port" in " ".join(README.split())
    assert (ROOT / "scripts" / "serve").read_text().rstrip().endswith(
        'exec policy-eval serve "$@"')
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "from service.cli import run; run()", "serve", "--port",
         str(port)], env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz",
                                            timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(10)


def test_try_it_answers_as_shown(service: str, tmp_path: Path) -> None:
    first, bad = readme.commands("Try it")
    work = readme.scratch(tmp_path)

    answer = json.loads(succeeded(readme.shell(first, work, service)))
    shown = _example_answer()
    assert answer["status"] == shown["status"] == "done"
    for key in ("decision_id", "input_hash", "ruleset", "overall_score", "rating",
                "recommendation", "summary", "title"):
        assert answer["evaluation"][key] == shown["evaluation"][key], key

    problem = json.loads(succeeded(readme.shell(bad, work, service)))
    shown_problem = json.loads(re.findall(r"```json\n(.*?)```", readme.section("Try it"),
                                          re.S)[1])
    assert problem["status"] == shown_problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == [e["field"] for e in
                                                       shown_problem["errors"]]
    assert problem["detail"] == shown_problem["detail"]


def _generator(title: str) -> str:
    found = re.search(r"`(python -m bench\.synthetic [^`]*)`", readme.section(title))
    assert found is not None
    return found.group(1)


def test_batches_commands_run_as_written(service: str, tmp_path: Path) -> None:
    work = readme.scratch(tmp_path)
    succeeded(readme.shell(_generator("Batches"), work))
    submit, status, *rest = readme.commands("Batches")

    accepted = json.loads(succeeded(readme.shell(submit, work, service)))
    assert accepted["status"] in ("queued", "running", "done") and accepted["total"] == 10_000
    placeholder = "6f1c…"
    status = status.replace(placeholder, accepted["id"])
    deadline = time.monotonic() + 240
    while json.loads(succeeded(readme.shell(status, work, service)))["status"] != "done":
        assert time.monotonic() < deadline, "the batch did not finish"
        time.sleep(1)
    outputs = [succeeded(readme.shell(command.replace(placeholder, accepted["id"]), work,
                                      service)) for command in rest]

    results, _, failures, portfolio, cancel = outputs
    assert json.loads(results)["page"] == 2 and json.loads(results)["sort"] == "budget_fit"
    ranked = list(csv.DictReader((work / "ranked.csv").open()))
    assert len(ranked) == 10_000 and ranked[0]["rank"] == "1"
    assert json.loads(failures)["total"] == 0
    assert json.loads(portfolio)["exact"] is True
    assert json.loads(cancel)["status"] == 409  # it had finished: nothing left to cancel


def test_command_line_runs_as_written(service: str, tmp_path: Path) -> None:
    work = readme.scratch(tmp_path)
    for name in ("programmes.csv", "programmes.xlsx"):
        succeeded(readme.shell(_generator("Batches").replace("programmes.csv", name)
                               .replace("10000", "300"), work))
    ran = []
    for command in readme.commands("The command line"):
        if command.startswith("policy-eval serve") or command.startswith("policy-eval worker"):
            continue  # they serve until stopped: test_serve_takes_another_port, and the Redis
            # sections' test (tests/integration/test_readme_redis.py) run them
        done = readme.shell(command, work, service)
        ran.append((command, succeeded(done)))
        if command.startswith("cp rules/"):  # the edit the comment below it asks for
            ruleset = work / "rules" / DEFAULT_RULESET.name
            ruleset.write_text(ruleset.read_text().replace('version: "2026.2.0"',
                                                           'version: "2026.3.0"', 1))
    out = {command.split("#")[0].strip(): text for command, text in ran}
    assert out["policy-eval --version"].startswith("policy-eval ")
    assert "exit status:" in out["policy-eval --help"]
    assert "decision dec_" in out["policy-eval evaluate examples/tomahawk-2023.json"]
    diff = next(text for command, text in out.items() if command.startswith(
        "policy-eval rules diff"))
    assert "18 proposals: 0 changed" in " ".join(diff.split())
    versions = next(text for command, text in out.items() if "rules versions" in command)
    assert "2026.2.0" in versions and "2026.3.0" in versions
    assert (work / "ranked.csv").is_file() and (work / "portfolio.csv").is_file()
    remote = next(text for command, text in out.items() if "programmes.xlsx --url" in command)
    assert "Portfolio within each capability area's remaining envelope" in " ".join(
        remote.split())
    analysed = [" ".join(text.split()) for command, text in out.items()
                if command.startswith("policy-eval robustness")]
    assert len(analysed) == 2 and all("Rank acceptability over 10,000 samples" in text
                                      for text in analysed)
    report = json.loads((work / "report.json").read_text())  # the service's, written last
    assert report["batch_id"] and report["samples"] == 10_000
    for name, file in report["charts"].items():
        assert file == f"report-{name}.svg" and (work / file).read_text().startswith("<svg")


# sections whose commands no test here runs, and why
NOT_RUN = {
    "Procurement policy evaluation": "scripts/test runs this very suite (and CI runs it: "
                                     ".ci/run); scripts/serve is policy-eval serve, run above",
    "In containers": "no Docker engine runs on the build machines; tests/unit/test_deployment.py"
                     " reads the Dockerfile and docker-compose.yml against the code",
}
# sections tests/integration/test_readme_redis.py runs, against a real Redis
RUN_WITH_REDIS = ("Running with Redis and separate workers", "Operating it")


def test_every_command_of_the_readme_is_run_by_a_test() -> None:
    """A section given commands must be given a test that runs them."""
    with_commands = {title for title in readme.sections() if readme.commands(title)}
    assert with_commands == {"Try it", "What it would take", "Batches", "Robustness",
                             "The command line",
                             *RUN_WITH_REDIS, *NOT_RUN}


def _robustness_answer() -> dict[str, Any]:
    block = re.search(r"```json\n(.*?)```", readme.section("Robustness"), re.S)
    assert block is not None
    answer: dict[str, Any] = json.loads(block.group(1))
    return answer


def _shown(items: list[Any]) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)]  # "… the rest" lines are text


def _agrees(part: dict[str, Any], whole: dict[str, Any]) -> None:
    """Every figure of the abridged ``part`` is ``whole``'s (floats to their printed digits)."""
    for key, value in part.items():
        if isinstance(value, dict):
            _agrees(value, whole[key])
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            assert [{k: w[k] for k in v} for v, w in zip(value, whole[key],
                                                          strict=True)] == value, key
        elif isinstance(value, float):
            assert whole[key] == pytest.approx(value, abs=5e-5), key
        else:
            assert whole[key] == value, key


def _shows(found: dict[str, Any]) -> None:
    """``found``, a robustness result, is the one the README shows, abridged."""
    shown = _robustness_answer()
    for key in ("samples", "top_k", "seed", "uncertainty"):
        assert found[key] == shown[key], key
    by_criterion = {s["criterion"]: s for s in found["weight_stability"]}
    for criterion in _shown(shown["weight_stability"]):
        _agrees(criterion, by_criterion[criterion["criterion"]])
    ranked = _shown(shown["rank_acceptability"])
    for entry, actual in zip(ranked, found["rank_acceptability"], strict=False):
        _agrees(entry, actual)
    by_index = {p["index"]: p for p in found["portfolio"]["proposals"]}
    for entry in _shown(shown["portfolio"]["proposals"]):
        _agrees(entry, by_index[entry["index"]])
    assert shown["portfolio"]["inexact_samples"] == found["portfolio"]["inexact_samples"]


def _declaring_ruleset(version: str) -> str:
    """The shipped ruleset as ``version``, with the guide's uncertainty declared."""
    text = SHIPPED.read_text().replace('version: "2026.1.0"', f'version: "{version}"')
    return f"{text.rstrip()}\n{uncertainty_example()}"


def test_readme_robustness_answer_is_what_the_analysis_answers() -> None:
    """The examples as one batch (in file order), under the shipped ruleset with the guide's
    declaration, analysed as the job does with the README's request: every figure shown."""
    shown = _robustness_answer()
    ruleset = parse_ruleset(_declaring_ruleset(shown["ruleset_version"]), "readme",
                            SHIPPED.parent)
    engine = Engine(ruleset, "native")
    summaries = []
    for index, path in enumerate(sorted((ROOT / "examples").glob("*.json"))):
        proposal = load_json(path)
        summaries.append({**summarize(engine.assess(proposal), proposal), "index": index})
    plan = Plan(shown["samples"], shown["portfolio"]["samples"], shown["top_k"], shown["seed"])
    _shows(document(analyse(from_summaries(summaries, ruleset.criteria), ruleset.uncertainty,
                            plan, shown["portfolio"]["budget"],
                            shown["portfolio"]["currency"])))


def test_robustness_commands_run_as_written(service: str, tmp_path: Path) -> None:
    """As the README sets it up: the shipped ruleset published with the guide's declaration
    as the version it names (active while the batch of the examples is submitted, then the
    version in force again), and the section's commands with the batch's and the job's ids."""
    work = readme.scratch(tmp_path)
    base = f"http://{service}"
    shown = _robustness_answer()
    before = json.loads(urllib.request.urlopen(f"{base}/v1/rulesets/active").read())["version"]
    published = urllib.request.Request(
        f"{base}/v1/rulesets?activate=true", method="POST",
        data=_declaring_ruleset(shown["ruleset_version"]).encode(),
        headers={"Content-Type": "application/yaml"})
    urllib.request.urlopen(published).close()
    examples = [load_json(path) for path in sorted((ROOT / "examples").glob("*.json"))]
    try:
        with urllib.request.urlopen(urllib.request.Request(
                f"{base}/v1/batches", data=json.dumps(examples).encode(),
                headers={"Content-Type": "application/json"})) as answer:
            batch = json.loads(answer.read())["id"]
    finally:
        urllib.request.urlopen(urllib.request.Request(
            f"{base}/v1/rulesets/active", method="PUT", data=json.dumps(
                {"version": before}).encode(), headers={"Content-Type": "application/json"}))
    deadline = time.monotonic() + 60
    while json.loads(urllib.request.urlopen(f"{base}/v1/batches/{batch}").read())[
            "status"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    start, poll, chart, cancel = (command.replace("6f1c…", batch)
                                  for command in readme.commands("Robustness"))
    job = json.loads(succeeded(readme.shell(start, work, service)))
    assert job["kind"] == "robustness" and job["status"] in ("queued", "running", "done")
    while (found := json.loads(succeeded(readme.shell(poll.replace("9b2e…", job["id"]), work,
                                                      service))))["status"] != "done":
        assert found["status"] in ("queued", "running") and time.monotonic() < deadline
        time.sleep(0.2)
    assert found["result"]["ruleset_version"] == shown["ruleset_version"]
    _shows(found["result"])
    succeeded(readme.shell(chart.replace("9b2e…", job["id"]), work, service))
    assert (work / "tornado.svg").read_text().startswith("<svg")
    refused = json.loads(succeeded(readme.shell(cancel.replace("9b2e…", job["id"]), work,
                                                service)))
    assert refused["status"] == 409  # done: nothing left to cancel


def test_readme_rating_stability_is_tomahawks() -> None:
    full = _default().evaluate(load_json(ROOT / "examples" / "tomahawk-2023.json"), "full")
    [budget_fit] = [s for s in full["rating_stability"] if s["criterion"] == "budget_fit"]
    assert " ".join(json.dumps(budget_fit).split()) in " ".join(README.split())


def test_readme_check_reports_are_what_rules_check_prints(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Each line the README shows of a `rules check` report is in the report, in order."""
    section = README.split("## Rules are the analysts'", 1)[1].split("\n## ", 1)[0]
    reports = re.findall(r"```console\n\$ policy-eval (rules check \S+)\n(.*?)```", section, re.S)
    assert len(reports) == 3
    for command, shown in reports:
        *words, path = command.split()
        main([*words, str(ROOT / path)])
        out = capsys.readouterr().out.replace(f"{ROOT}/", "")
        printed = [" ".join(line.split()) for line in out.splitlines()]
        position = 0
        for line in shown.splitlines():
            want = " ".join(line.split()).split("…")[0]
            while position < len(printed) and not printed[position].startswith(want):
                position += 1
            assert position < len(printed), f"not printed, in order: {want!r}"



# --- What it would take -------------------------------------------------------------------


def _in_order(shown: list[Any], actual: list[Any]) -> None:
    """Every entry the README shows (not the "… more" texts) is the actual one, in order."""
    position = 0
    for entry in _shown(shown):
        while position < len(actual) and actual[position] != entry:
            position += 1
        assert position < len(actual), f"not answered, in order: {entry}"


def _printed_in_order(shown: str, printed: str) -> None:
    lines = [" ".join(line.split()) for line in printed.splitlines()]
    position = 0
    for line in shown.splitlines():
        want = " ".join(line.split()).split("…")[0]
        if not want:
            continue
        while position < len(lines) and not lines[position].startswith(want):
            position += 1
        assert position < len(lines), f"not printed, in order: {want!r}"


def test_what_it_would_take_answers_and_prints_as_shown(service: str, tmp_path: Path) -> None:
    """The section's request answers the counterfactuals it shows (all but the search's time),
    and its commands print what it shows."""
    section = readme.section("What it would take")
    request, what_if, compare = readme.commands("What it would take")
    work = readme.scratch(tmp_path)
    answer = json.loads(succeeded(readme.shell(request, work, service)))
    found = answer["evaluation"]["counterfactuals"]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block is not None
    shown = json.loads(block.group(1))["counterfactuals"]
    for key in ("next_band", "reason"):
        assert found[key] == shown[key], key
    assert {k: found["searched"][k] for k in ("single_field", "pairs")} == {
        k: shown["searched"][k] for k in ("single_field", "pairs")}
    for key in ("options", "why_not"):
        _in_order(shown[key], found[key])
    assert [c["rule_id"] for c in found["caps"]] == [c["rule_id"] for c in shown["caps"]]
    consoles = re.findall(r"```console\n\$ [^\n]*\n(.*?)```", section, re.S)
    assert len(consoles) == 2
    for command, printed in zip((what_if, compare), consoles, strict=True):
        _printed_in_order(printed, succeeded(readme.shell(command, work, service)))
