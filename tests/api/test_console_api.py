"""The endpoints the console needs, through the API as any client calls them: who the key is,
the examples and the proposal's fields, a ruleset in plain words, the check, the rule tests, the
diff of two versions, a batch as a filtered table, and the one-page reports.

One embedded app with keys (no Redis: embedded mode may have keys) serves the module.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from schemas.vocabulary import CAPABILITY_AREAS, DATALINKS
from service.api import close_app, create_app
from service.batch import csvmap
from service.config import Settings
from service.console.policy import DOCS_CSP, PAGE_CSP
from service.engine import Engine, coverage, run_test_file
from tests.keys import API_KEYS, bearer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
ANALYST, EVALUATOR, ADMIN = bearer("analyst"), bearer("evaluator"), bearer("admin")
# the console reads, checks, tests and compares ruleset 2026.1.0 here: its rules are the ones
# these tests name (the default, 2026.2.0, is tested in tests/unit/test_ruleset_2026_2.py)
RULESET = ROOT / "rules" / "japan-fy2026.yaml"
YAML_TEXT = RULESET.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    app = create_app(Settings(redis_url=None, api_keys=API_KEYS, ruleset=RULESET))
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def batch(client: FlaskClient) -> str:
    """The examples scored as one batch, finished."""
    proposals = [json.loads(path.read_text()) for path in EXAMPLES]
    response = client.post("/v1/batches", json=proposals, headers=EVALUATOR)
    assert response.status_code == 202, response.text
    batch_id: str = response.json["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/v1/batches/{batch_id}", headers=EVALUATOR).json["status"] != "done":
        assert time.monotonic() < deadline, "the batch did not finish"
        time.sleep(0.05)
    return batch_id


def pdf_text(content: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return len(reader.pages), " ".join(page.extract_text() for page in reader.pages)


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


# --- who, examples, fields --------------------------------------------------------------------


def test_caller_is_named_by_its_key(client: FlaskClient) -> None:
    assert client.get("/v1/caller", headers=ANALYST).json == {
        "name": "analyst", "role": "analyst", "authenticated": True}
    assert client.get("/v1/caller").status_code == 401


def test_examples_are_the_shipped_files_ready_to_evaluate(client: FlaskClient) -> None:
    examples = client.get("/v1/examples", headers=EVALUATOR).json["examples"]

    assert [e["name"] for e in examples] == [path.stem for path in EXAMPLES]
    for example, path in zip(examples, EXAMPLES, strict=True):
        assert example["proposal"] == json.loads(path.read_text())
        assert example["title"] == example["proposal"]["title"]


def test_fields_describe_every_proposal_field_for_a_form(client: FlaskClient) -> None:
    fields = {f["path"]: f for f in client.get("/v1/fields", headers=EVALUATOR).json["fields"]}

    sent = {path for path, field in fields.items() if not field["derived"]}
    # the proposal's leaves, as CSV columns name them; a list of records (the phasing) is
    # sent whole, and rules read it through derived fields
    assert sent == {path for path, column in csvmap.columns().items()
                    if column.kind != "records"}
    assert fields["title"]["required"] and fields["title"]["kind"] == "string"
    assert fields["requesting_country"] == {**fields["requesting_country"], "required": False,
                                            "default": "JP", "pattern": "^[A-Z]{2}$"}
    assert fields["acquisition.capability_area"]["values"] == list(CAPABILITY_AREAS)
    assert fields["capabilities.datalinks"]["kind"] == "list"
    assert fields["capabilities.datalinks"]["values"] == list(DATALINKS)
    assert fields["acquisition.unit_cost.amount"]["required"]  # within its optional section
    assert fields["derived.total_cost_jpy"]["derived"]
    assert fields["derived.total_cost_jpy"]["unit"] == "JPY"


# --- a ruleset as it reads, checked, tested, compared -----------------------------------------


def test_a_ruleset_reads_in_plain_words(client: FlaskClient) -> None:
    ruleset = client.get("/v1/rulesets/active/rules", headers=EVALUATOR).json
    rules = {rule["id"]: rule for rule in ruleset["rules"]}

    assert ruleset["active"] and ruleset["version"] == "2026.1.0"
    assert [c["name"] for c in ruleset["criteria"]] == ["interoperability", "budget_fit",
                                                        "threat_alignment", "partner_coverage"]
    assert rules["BUD-07"]["condition"] == ("Share of the remaining envelope is more than 5% "
                                            "and Share of the remaining envelope is at most 25%")
    assert rules["BUD-07"]["points"] == 8
    assert rules["BUD-07"]["because"].startswith("{system.name} uses "
                                                 "{derived.share_of_remaining_envelope:.1%}")
    assert rules["IOP-01"]["condition"] == "Datalinks contains link16"
    assert client.get("/v1/rulesets/2026.1.0/rules", headers=EVALUATOR).json == ruleset
    assert client.get("/v1/rulesets/9.9.9/rules", headers=EVALUATOR).status_code == 404


def test_a_draft_with_a_typo_is_refused_at_its_line(client: FlaskClient) -> None:
    draft = YAML_TEXT.replace("{field: derived.share_of_remaining_envelope, op: gt, value: "
                              "0.05}", "{field: derived.share_of_remaning_envelope, op: gt, "
                              "value: 0.05}")
    before = client.get("/v1/rulesets", headers=ANALYST).json

    response = client.post("/v1/rulesets/check?source=draft.yaml", data=draft,
                           content_type="application/yaml", headers=ANALYST)

    assert response.status_code == 422
    problem, = response.json["problems"]
    assert (problem["file"], problem["line"]) == ("draft.yaml",
                                                  line_of(draft, "share_of_remaning_envelope"))
    assert problem["rule_id"] == "BUD-07" and "share_of_remaning_envelope" in problem["message"]
    assert client.get("/v1/rulesets", headers=ANALYST).json == before  # nothing published


def test_a_draft_that_loads_gets_its_warnings_at_their_lines(client: FlaskClient) -> None:
    twin = ("  - id: PAR-99\n    criterion: partner_coverage\n    title: Twin of PAR-13\n"
            "    when:\n      all:\n"
            "        - {field: acquisition.path, op: eq, value: licensed_production}\n"
            "        - {field: derived.partner_operator_count, op: gte, value: 4}\n"
            "    points: 1\n    because: x\n")
    draft = f"{YAML_TEXT.rstrip()}\n\n{twin}"

    report = client.post("/v1/rulesets/check", data=draft, content_type="application/yaml",
                         headers=ANALYST).json

    assert report["rules"] == 64
    warning, = report["warnings"]
    assert (warning["rule_id"], warning["line"]) == ("PAR-99", line_of(draft, "- id: PAR-99"))
    assert "same condition as PAR-13" in warning["message"]


def test_the_check_reports_defensibility_as_rules_check_does(client: FlaskClient) -> None:
    start = YAML_TEXT.index("  - check: overlap\n    rules: [PAR-09, PAR-12]")
    end = YAML_TEXT.index("  - check: overlap", start + 1)
    draft = YAML_TEXT[:start] + YAML_TEXT[end:]  # the overlap of PAR-09 and PAR-12 unexcused

    report = client.post("/v1/rulesets/check?source=draft.yaml", data=draft,
                         content_type="application/yaml", headers=ANALYST).json["defensibility"]
    shipped = client.post("/v1/rulesets/active/check", headers=ANALYST).json["defensibility"]

    failing, = (f for f in report["findings"] if not f["acknowledged"])
    assert (failing["check"], failing["rules"]) == ("overlap", ["PAR-09", "PAR-12"])
    assert failing["line"] == line_of(draft, "- id: PAR-12")
    assert failing["text"].startswith(f"draft.yaml:{failing['line']}:1: PAR-09, PAR-12: error:")
    assert not report["passed"] and report["failing"] == 1
    assert shipped["passed"] and shipped["acknowledged"] == report["acknowledged"] + 1
    assert {f["check"] for f in shipped["findings"]} >= {"cliff", "overlap"}
    assert all(f["line"] is None and f["reason"] for f in shipped["findings"])


def test_checks_tests_and_diffs_need_the_analyst_role(client: FlaskClient) -> None:
    for action in ("check", "tests", "diff"):
        path = f"/v1/rulesets/active/{action}"
        body = {} if action == "diff" else None
        assert client.post(path, json=body, headers=EVALUATOR).status_code == 403, action
        assert client.post(path, json=body, headers=ANALYST).status_code == 200, action
    assert client.post("/v1/rulesets/active/check", headers=ANALYST).json["warnings"] == []


def test_rule_tests_run_against_a_version_as_the_command_line_runs_them(
        client: FlaskClient) -> None:
    report = client.post("/v1/rulesets/active/tests", headers=ANALYST).json
    engine = Engine.from_path(RULESET, mode="native")
    expected = run_test_file(RULESET.parent / "tests/japan-fy2026.test.yaml", engine)

    assert report["files"] == ["tests/japan-fy2026.test.yaml"]
    assert (report["passed"], report["failed"]) == (len(expected), 0)
    assert [c["fired"] for c in report["cases"]] == [c.fired for c in expected]
    assert report["coverage"]["percent"] == round(coverage(engine.ruleset, expected).percent, 1)


def _changed_version() -> dict[str, Any]:
    """The shipped ruleset with BUD-07 worth 20, PAR-13 gone, IOP-99 new, `good` from 72."""
    document = yaml.safe_load(YAML_TEXT)
    document["version"] = "2026.9.0"
    rules = {rule["id"]: rule for rule in document["rules"]}
    rules["BUD-07"]["points"] = 20
    document["rules"] = [r for r in document["rules"] if r["id"] != "PAR-13"]
    document["rules"].append({"id": "IOP-99", "criterion": "interoperability",
                              "title": "Carries Link 22",
                              "when": {"field": "capabilities.datalinks", "op": "contains",
                                       "value": "link22"},
                              "points": 3, "because": "{system.name} carries Link 22."})
    next(b for b in document["bands"] if b["rating"] == "good")["min_score"] = 72
    return document


def test_a_diff_names_what_changed_and_the_tests_see_it(client: FlaskClient) -> None:
    published = client.post("/v1/rulesets?note=diff", json=_changed_version(), headers=ANALYST)
    assert published.status_code in (200, 201), published.text

    diff = client.post("/v1/rulesets/2026.9.0/diff", json={"against": "2026.1.0"},
                       headers=ANALYST).json

    assert [r["id"] for r in diff["added"]] == ["IOP-99"]
    assert diff["added"][0]["condition"] == "Datalinks contains link22"
    assert [r["id"] for r in diff["removed"]] == ["PAR-13"]
    assert diff["changed"] == [{"id": "BUD-07", "parts": [
        {"part": "points", "old": 8.0, "new": 20.0}]}]
    assert diff["bands"] == [{"id": "good", "parts": [
        {"part": "min_score", "old": 70.0, "new": 72.0}]}]
    assert (diff["unchanged"], diff["context_changed"]) == (61, False)
    assert diff["old"]["version"] == "2026.1.0" and diff["new"]["version"] == "2026.9.0"
    tests = client.post("/v1/rulesets/2026.9.0/tests", headers=ANALYST).json
    tomahawk = next(c for c in tests["cases"] if c["name"].startswith("Tomahawk"))
    assert not tomahawk["passed"]
    assert "budget_fit score: expected 76..76, actual 88.0" in tomahawk["failures"]


# --- a batch as a table -----------------------------------------------------------------------


def test_rows_rank_like_the_results_and_filter_without_losing_their_rank(
        client: FlaskClient, batch: str) -> None:
    rows = client.get(f"/v1/batches/{batch}/rows?page_size=100", headers=EVALUATOR).json
    results = client.get(f"/v1/batches/{batch}/results?page_size=100", headers=EVALUATOR).json
    by_index = {row["index"]: row for row in rows["items"]}

    assert rows["status"] == "done" and rows["scored"] == rows["total"] == len(EXAMPLES)
    assert rows["ruleset"]["version"] == "2026.1.0"
    assert [(r["rank"], r["index"]) for r in rows["items"]] == [
        (r["rank"], r["index"]) for r in results["items"]]
    outstanding = client.get(f"/v1/batches/{batch}/rows?rating=outstanding",
                             headers=EVALUATOR).json["items"]
    assert outstanding and all(r["rating"] == "outstanding" for r in outstanding)
    assert all(by_index[r["index"]]["rank"] == r["rank"] for r in outstanding)
    assert len(outstanding) == sum(r["rating"] == "outstanding" for r in rows["items"])
    found = client.get(f"/v1/batches/{batch}/rows?q=TOMAHAWK", headers=EVALUATOR).json["items"]
    assert [r["proposal_id"] for r in found] == ["tomahawk-2023"]
    area = client.get(f"/v1/batches/{batch}/rows?capability_area=stand_off_defense",
                      headers=EVALUATOR).json["items"]
    assert {r["proposal_id"] for r in area} == {"tomahawk-2023", "jassm-er-2023"}


def test_rows_sort_by_a_criterion_and_refuse_an_unknown_one(client: FlaskClient,
                                                             batch: str) -> None:
    rows = client.get(f"/v1/batches/{batch}/rows?sort=budget_fit&order=asc&page_size=5",
                      headers=EVALUATOR).json["items"]
    scores = [r["scores"]["budget_fit"] for r in rows]
    assert scores == sorted(scores) and [r["rank"] for r in rows] == [18, 17, 16, 15, 14]

    refused = client.get(f"/v1/batches/{batch}/rows?sort=budget", headers=EVALUATOR)
    assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "sort"
    assert client.get("/v1/batches/nope/rows", headers=EVALUATOR).status_code == 404


def test_an_item_is_the_evaluation_of_its_upload_position(client: FlaskClient,
                                                          batch: str) -> None:
    item = client.get(f"/v1/batches/{batch}/items/3", headers=EVALUATOR).json
    engine = Engine.from_path(RULESET, mode="native")

    assert item["evaluation"] == engine.evaluate(json.loads(EXAMPLES[3].read_text()))
    assert item["proposal_id"] == EXAMPLES[3].stem
    assert item["line"] == 1  # the array was sent as one line of JSON
    assert client.get(f"/v1/batches/{batch}/items/99", headers=EVALUATOR).status_code == 404


# --- reports ----------------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_reports_on_one_page_with_its_identity(client: FlaskClient,
                                                             example: Path) -> None:
    job = client.post("/v1/evaluations?explain=full", data=example.read_bytes(),
                      content_type="application/json", headers=EVALUATOR).json

    response = client.get(f"/v1/evaluations/{job['id']}/report.pdf", headers=EVALUATOR)

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages, text = pdf_text(response.data)
    evaluation = job["evaluation"]
    assert pages == 1
    for identity in (evaluation["decision_id"], evaluation["input_hash"],
                     evaluation["ruleset"]["hash"], job["id"]):
        assert identity in text.replace("\n", "")
    assert f"Overall {evaluation['overall_score']:.2f} / 100" in text


def test_a_report_needs_a_finished_evaluation(client: FlaskClient) -> None:
    assert client.get("/v1/evaluations/nope/report.pdf", headers=EVALUATOR).status_code == 404
    assert client.get("/v1/evaluations/nope/report.pdf").status_code == 401


def test_portfolio_report_is_the_portfolio_with_its_decision_ids(client: FlaskClient,
                                                                 batch: str) -> None:
    query = "budget=1000000000000&currency=JPY"
    report = client.get(f"/v1/batches/{batch}/portfolio/report?{query}", headers=EVALUATOR).json
    portfolio = client.get(f"/v1/batches/{batch}/portfolio?{query}", headers=EVALUATOR).json
    rows = client.get(f"/v1/batches/{batch}/rows?page_size=100", headers=EVALUATOR).json

    assert report["portfolio"] == portfolio
    assert report["portfolio"]["spent"] <= 1e12
    assert report["decisions"] == {str(r["index"]): r["decision_id"] for r in rows["items"]}
    assert report["batch"]["id"] == batch and report["ruleset"] == rows["ruleset"]
    pdf = client.get(f"/v1/batches/{batch}/portfolio/report.pdf?{query}", headers=EVALUATOR)
    pages, text = pdf_text(pdf.data)
    assert pages == 1
    for entry in portfolio["chosen"]:
        assert report["decisions"][str(entry["index"])] in text.replace("\n", "")


def test_portfolio_report_refuses_as_the_portfolio_does(client: FlaskClient, batch: str) -> None:
    usd = client.get(f"/v1/batches/{batch}/portfolio/report.pdf?currency=USD", headers=EVALUATOR)
    assert usd.status_code == 422 and usd.json["errors"][0]["field"] == "currency"
    assert client.get("/v1/batches/nope/portfolio/report", headers=EVALUATOR).status_code == 404


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/console/evaluate", "/console/compare", "/console/batches",
                                  "/console/batches/any-id", "/console/rules",
                                  "/console/reports/evaluations/any-id",
                                  "/console/reports/portfolios/any-id", "/docs"])
def test_pages_are_public_and_allow_this_origin_only(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert policy == (DOCS_CSP if path == "/docs" else PAGE_CSP)
    assert "default-src 'self';" in policy and "http" not in policy
    assert "http://" not in response.text and "https://" not in response.text


def test_docs_start_swagger_ui_on_the_document_from_local_files(client: FlaskClient) -> None:
    page = client.get("/docs").text

    assert 'data-spec-url="/openapi.json"' in page and 'id="swagger-ui"' in page
    for asset in ("vendor/swagger-ui-dist/swagger-ui-bundle.js",
                  "vendor/swagger-ui-dist/swagger-ui.css", "js/swagger-init.js"):
        assert f"/console/static/{asset}" in page
        served = client.get(f"/console/static/{asset}")
        assert served.status_code == 200
        assert served.headers["Content-Security-Policy"] == PAGE_CSP


def test_each_version_is_tested_by_the_rule_tests_written_for_it(client: FlaskClient) -> None:
    """2026.1.0 and 2026.2.0 each have their own test file; a version runs its own."""
    current = ROOT / "rules" / "japan-fy2026-2.yaml"
    published = client.post("/v1/rulesets?note=beside", data=current.read_bytes(),
                            headers={**ANALYST, "Content-Type": "application/yaml"})
    assert published.status_code in (200, 201), published.text
    report = client.post("/v1/rulesets/2026.2.0/tests", headers=ANALYST).json
    assert report["files"] == ["tests/japan-fy2026-2.test.yaml"]
    assert report["failed"] == 0 and report["coverage"]["percent"] == 100
    previous = client.post("/v1/rulesets/2026.1.0/tests", headers=ANALYST).json
    assert previous["files"] == ["tests/japan-fy2026.test.yaml"] and previous["failed"] == 0
