"""The console as an analyst uses it, on the embedded service as `scripts/serve` runs it (no
Redis, no keys): every view loads cleanly and offline, an example evaluates to the API's very
numbers, a CSV batch scores, ranks and funds a portfolio within its budget, a spreadsheet is
sent as one, a ruleset with a typo is refused at its line, versions compare and rule tests run,
/docs lists the operations, and the keyboard reaches the controls."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest
import requests
import yaml
from playwright.sync_api import Page, Request, expect

from bench.synthetic import header_for, proposal_to_row, write
from service.api import close_app, create_app
from service.config import Settings
from tests.integration.servers import ThreadedServer

from .conftest import Watch, screenshot

pytestmark = pytest.mark.console
# the pages are driven with ruleset 2026.1.0, whose rules (BUD-07...) and figures these tests
# name; the default, 2026.2.0, is tested in tests/unit/test_ruleset_2026_2.py
RULESET = Path(__file__).resolve().parents[2] / "rules" / "japan-fy2026.yaml"

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
PROPOSALS = [json.loads(path.read_text()) for path in EXAMPLES]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    app = create_app(Settings(redis_url=None, ruleset=RULESET))
    server = ThreadedServer(app)
    yield server.url
    server.stop()
    close_app(app)


def finished(url: str, batch_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        batch: dict[str, Any] = requests.get(f"{url}/v1/batches/{batch_id}", timeout=10).json()
        if batch["status"] == "done":
            return batch
        assert time.monotonic() < deadline, "the batch did not finish"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def batch_id(url: str) -> str:
    """The examples, scored as a batch through the API."""
    response = requests.post(f"{url}/v1/batches", json=PROPOSALS, timeout=30)
    assert response.status_code == 202, response.text
    finished(url, response.json()["id"])
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def evaluation_id(url: str) -> str:
    """The example with the longest explanation (weak-over-budget: deficiencies, weaknesses)."""
    response = requests.post(f"{url}/v1/evaluations?explain=full", json=PROPOSALS[-1],
                             timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def csv_of(proposals: list[dict[str, Any]]) -> str:
    header = header_for(proposals)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(proposal_to_row(p, header) for p in proposals)
    return out.getvalue()


def test_every_view_loads_cleanly_offline_and_reports_print_on_one_page(
        page: Page, url: str, batch_id: str, evaluation_id: str) -> None:
    views = [  # (name, path, what shows once the view has its data)
        ("evaluate", "/console/evaluate?example=tomahawk-2023", "#evaluation .verdict"),
        ("compare", "/console/compare", "#compare-examples input"),
        ("batches-upload", "/console/batches", "#upload-form"),
        ("batch", f"/console/batches/{batch_id}", "#ranked tbody tr"),
        ("rules", "/console/rules", "#criteria-table"),
        ("report-evaluation", f"/console/reports/evaluations/{evaluation_id}", ".verdict"),
        ("report-portfolio", f"/console/reports/portfolios/{batch_id}", "#report-robustness"),
        ("api-docs", "/docs", ".opblock"),
    ]
    for name, path, ready in views:
        page.goto(url + path)
        page.locator(ready).first.wait_for()
        page.wait_for_load_state("networkidle")
        screenshot(page, name)
        if name == "report-portfolio":  # how robust the portfolio is, from the service
            expect(page.locator("#report-robustness")).to_contain_text("Over 10,000 samples")
        if name.startswith("report"):
            assert len(pypdf.PdfReader(io.BytesIO(page.pdf(format="A4"))).pages) == 1, name
    page.goto(f"{url}/console/batches/{batch_id}")
    page.locator("#portfolio-groups").wait_for()
    page.locator("#portfolio-heading").scroll_into_view_if_needed()
    screenshot(page, "batch-portfolio")


def test_an_example_evaluates_to_the_apis_numbers(page: Page, url: str) -> None:
    expected = requests.post(f"{url}/v1/evaluations?explain=full", json=PROPOSALS[4],
                             timeout=30).json()["evaluation"]  # the console asks for the why-not

    page.goto(f"{url}/console/evaluate?example={EXAMPLES[4].stem}")

    expect(page.locator('[data-figure="overall"]')).to_have_text(
        f"{expected['overall_score']:.2f}")
    expect(page.locator('[data-figure="rating"]')).to_have_text(expected["rating"])
    expect(page.locator('[data-figure="recommendation"]')).to_have_text(
        expected["recommendation"].replace("_", " "))
    for criterion in expected["criteria"]:
        expect(page.locator(f'[data-score="{criterion["criterion"]}"]')).to_have_text(
            f"{criterion['score']:g}")
    expect(page.locator(".identity")).to_contain_text(expected["decision_id"])
    assert requests.get(f"{url}/v1/caller", timeout=10).json() == {
        "name": "anonymous", "role": "admin", "authenticated": False}
    expect(page.locator("#session-status")).to_contain_text("No keys on this service")


def test_the_form_puts_the_apis_problems_beside_their_fields(page: Page, url: str,
                                                             watch: Watch) -> None:
    watch.expect_status(422)
    page.goto(f"{url}/console/evaluate")
    page.get_by_role("tab", name="Form").click()
    form = page.locator("#proposal-form")
    form.get_by_label("Title").fill("A coastal radar, quantity forgotten")
    form.get_by_label("Fiscal year").fill("2026")
    form.get_by_role("textbox", name="System", exact=True).fill("Coastal radar")
    form.get_by_label("System category").select_option("radar")
    form.get_by_label("Acquisition path").select_option("indigenous")
    form.get_by_label("Capability area").select_option("command_control_intelligence")
    form.get_by_role("group", name="Total cost").get_by_label("Amount").fill("120000000")
    form.get_by_role("group", name="Total cost").get_by_label("Currency").select_option("USD")
    form.get_by_role("group", name="Datalinks").get_by_label("link16").check()
    form.get_by_role("button", name="Evaluate").click()

    quantity = form.locator('[name="acquisition.quantity"]')
    expect(quantity).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#field-acquisition-quantity-error")).to_contain_text("Missing data")
    expect(page.locator("#input-errors")).to_contain_text("acquisition.quantity: Missing data")
    expect(form.locator('[name="title"]')).not_to_have_attribute("aria-invalid", "true")

    quantity.fill("4")
    form.get_by_role("button", name="Evaluate").click()
    expect(page.locator("#evaluation .proposal-title")).to_contain_text("quantity forgotten")
    expect(page.locator("#input-errors")).to_be_hidden()


def test_a_csv_batch_scores_ranks_and_funds_a_portfolio_within_budget(
        page: Page, url: str, tmp_path: Path) -> None:
    upload = tmp_path / "programmes.csv"
    upload.write_text(csv_of(PROPOSALS))
    budget = 1e12

    page.goto(f"{url}/console/batches")
    page.get_by_label("File", exact=True).set_input_files(upload)
    page.get_by_role("button", name="Upload and score").click()
    page.wait_for_url("**/console/batches/*")
    batch_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#progress-text")).to_contain_text("done: 18 scored, 0 failed")
    expect(page.locator("#batch-progress")).to_have_attribute("value", "100")

    rows = requests.get(f"{url}/v1/batches/{batch_id}/rows?page_size=100", timeout=10).json()
    ranked = page.locator("#ranked tbody tr")
    expect(ranked).to_have_count(18)
    assert ranked.evaluate_all("rows => rows.map(row => Number(row.dataset.index))") == [
        r["index"] for r in rows["items"]]
    page.get_by_role("button", name="budget fit").click()
    expect(page.locator("th[aria-sort]")).to_contain_text("budget fit")
    page.get_by_label("Rating").select_option("outstanding")
    expect(ranked.locator("td:nth-child(8)")).to_have_text(["outstanding"] * sum(
        r["rating"] == "outstanding" for r in rows["items"]))
    page.get_by_label("Title or id contains").fill("tomahawk")
    expect(ranked).to_have_count(1)
    ranked.get_by_role("button").click()
    expect(page.locator("#item-dialog .proposal-title")).to_contain_text("Tomahawk")
    page.get_by_role("button", name="Close").click()

    page.get_by_label("Budget", exact=True).fill(f"{budget:.0f}")
    page.get_by_role("button", name="Build the portfolio").click()
    portfolio = requests.get(f"{url}/v1/batches/{batch_id}/portfolio?budget={budget:.0f}",
                             timeout=10).json()
    assert 0 < portfolio["spent"] <= budget
    funded = page.locator("#portfolio-funded tbody tr td:first-child")
    expect(funded).to_have_text([entry["title"] for entry in portfolio["chosen"]])
    expect(page.locator("#portfolio-summary")).to_contain_text("of ¥1 trillion")
    expect(page.locator("#portfolio-excluded")).to_contain_text("over budget")
    assert page.locator("#portfolio-result canvas").count() == 1


def test_an_xlsx_batch_scores_ranks_funds_a_portfolio_and_shows_its_robustness(
        page: Page, url: str, tmp_path: Path) -> None:
    workbook = tmp_path / "programmes.xlsx"
    write(workbook, PROPOSALS)  # number cells hold numbers, as a person types them
    sent: list[Request] = []
    page.on("request", lambda r: sent.append(r) if r.method == "POST" else None)
    budget = 3e12

    page.goto(f"{url}/console/batches")
    page.get_by_label("File", exact=True).set_input_files(workbook)
    page.get_by_label("Also what it would take for each").check()
    page.get_by_role("button", name="Upload and score").click()
    page.wait_for_url("**/console/batches/*")
    batch_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#progress-text")).to_contain_text("done: 18 scored, 0 failed")
    assert requests.get(f"{url}/v1/batches/{batch_id}", timeout=10).json()["counterfactuals"]
    body = (sent[0].post_data_buffer or b"").decode("latin-1")
    assert f"Content-Type: {XLSX}" in body and 'filename="programmes.xlsx"' in body

    rows = requests.get(f"{url}/v1/batches/{batch_id}/rows?page_size=100", timeout=10).json()
    ranked = page.locator("#ranked tbody tr")
    expect(ranked).to_have_count(18)
    assert ranked.evaluate_all("rows => rows.map(row => Number(row.dataset.index))") == [
        r["index"] for r in rows["items"]]
    page.get_by_label("Budget", exact=True).fill(f"{budget:.0f}")
    page.get_by_role("button", name="Build the portfolio").click()
    portfolio = requests.get(f"{url}/v1/batches/{batch_id}/portfolio?budget={budget:.0f}",
                             timeout=10).json()
    assert 0 < portfolio["spent"] <= budget
    expect(page.locator("#portfolio-funded tbody tr td:first-child")).to_have_text(
        [entry["title"] for entry in portfolio["chosen"]])

    page.get_by_label("Samples").fill("2000")
    page.get_by_label("Portfolio budget").fill(f"{budget:.0f}")
    page.get_by_role("button", name="Analyse robustness").click()
    expect(page.locator("#robustness-status")).to_contain_text("Done: 2,000 samples")
    images = page.locator("#robustness-result figure img")
    expect(images).to_have_count(3)  # tornado, rank acceptability, portfolio core
    for image in images.all():
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")


def test_a_ruleset_with_a_typo_is_refused_at_its_line(page: Page, url: str, tmp_path: Path,
                                                      watch: Watch) -> None:
    watch.expect_status(422)
    text = RULESET.read_text().replace("op: gt, value: 0.05}", "op: gt, valeu: 0.05}")
    line = text[:text.index("valeu")].count("\n") + 1
    draft = tmp_path / "japan-fy2026-draft.yaml"
    draft.write_text(text)

    page.goto(f"{url}/console/rules")
    page.locator("#criteria-table").wait_for()
    page.get_by_label("Read a ruleset file").set_input_files(draft)
    expect(page.get_by_label("Ruleset (YAML)")).to_have_value(text)
    page.get_by_role("button", name="Publish", exact=True).click()

    errors = page.locator("#publish-errors")
    expect(errors).to_contain_text(f"Line {line}, column")
    expect(errors).to_contain_text("BUD-07")
    expect(page.locator("#ruleset-gutter .error-line")).to_have_text(f"{line}\n")
    errors.get_by_role("button", name=f"Line {line}").first.click()
    selected = page.locator("#ruleset-text").evaluate(
        "area => area.value.slice(area.selectionStart, area.selectionEnd)")
    assert "valeu: 0.05" in selected
    errors.evaluate("list => list.scrollIntoView({block: 'end'})")
    screenshot(page, "rules-publish-error")
    versions = requests.get(f"{url}/v1/rulesets", timeout=10).json()["versions"]
    assert [v["version"] for v in versions] == ["2026.1.0"]


def test_a_drafts_check_runs_the_defensibility_checks_at_their_lines(page: Page,
                                                                   url: str) -> None:
    text = RULESET.read_text()  # 2026.1.0, whose acknowledgements the draft drops one of
    start = text.index("  - check: overlap\n    rules: [PAR-09, PAR-12]")
    draft = text[:start] + text[text.index("  - check: overlap", start + 1):]
    line = draft[:draft.index("- id: PAR-12")].count("\n") + 1

    page.goto(f"{url}/console/rules")
    page.locator("#criteria-table").wait_for()
    page.get_by_label("Ruleset (YAML)").fill(draft)
    page.get_by_role("button", name="Check without publishing").click()

    expect(page.locator("#defensibility-summary")).to_contain_text(
        "Not defensible: 1 finding(s), 22 acknowledged")
    failing = page.locator("#findings-failing > li")
    expect(failing).to_have_count(1)
    expect(failing).to_contain_text("overlap (PAR-09, PAR-12)")
    expect(page.locator("#ruleset-gutter .error-line")).to_have_text(f"{line}\n")
    failing.get_by_role("button", name=f"Line {line}").click()
    selected = page.locator("#ruleset-text").evaluate(
        "area => area.value.slice(area.selectionStart, area.selectionEnd)")
    assert selected.strip() == "- id: PAR-12"
    page.locator("#draft-check").scroll_into_view_if_needed()
    screenshot(page, "rules-check")


def test_versions_compare_with_their_impact_and_rule_tests_run(page: Page, url: str) -> None:
    document = yaml.safe_load(RULESET.read_text())
    document["version"] = "2026.1.1"
    next(r for r in document["rules"] if r["id"] == "BUD-07")["points"] = 20
    published = requests.post(f"{url}/v1/rulesets?note=BUD-07+worth+20", json=document,
                              timeout=30)
    assert published.status_code == 201, published.text

    page.goto(f"{url}/console/rules")
    page.get_by_label("From", exact=True).select_option("2026.1.0")
    page.get_by_label("To", exact=True).select_option("2026.1.1")
    page.get_by_role("button", name="Show what changed").click()
    expect(page.locator("#diff-summary")).to_contain_text(
        "0 rules added, 0 removed, 1 changed, 62 unchanged")
    expect(page.locator("#diff-result")).to_contain_text("BUD-07")
    page.get_by_role("button", name="Compute the impact").click()
    expect(page.locator("#impact-status")).to_contain_text("18 proposals evaluated")
    expect(page.locator("#impact")).to_contain_text("BUD-07")

    page.get_by_role("button", name="Run the rule tests on this version").click()
    expect(page.locator("#tests-status")).to_contain_text("22 passed, 0 failed")
    expect(page.locator("#coverage")).to_be_visible()
    page.get_by_role("button", name="Check this version").click()
    expect(page.locator("#warnings")).to_contain_text("No warnings")
    expect(page.locator("#defensibility-summary")).to_contain_text(
        "Defensible: 0 finding(s), 23 acknowledged")


def test_docs_list_every_operation_without_internet(page: Page, url: str) -> None:
    paths = requests.get(f"{url}/openapi.json", timeout=10).json()["paths"]
    operations = sum(method in ("get", "put", "post", "delete", "patch")
                     for path in paths.values() for method in path)

    page.goto(f"{url}/docs")

    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.locator(".opblock-summary-path").first).to_be_visible()


def test_the_keyboard_reaches_the_main_controls(page: Page, url: str) -> None:
    page.goto(f"{url}/console/evaluate")
    page.locator("#example option").nth(1).wait_for(state="attached")

    def focused() -> str:
        return str(page.evaluate(
            "() => { const e = document.activeElement;"
            " return (e.getAttribute('aria-label') || e.labels?.[0]?.textContent"
            " || e.textContent || e.id).trim(); }"))

    page.keyboard.press("Tab")
    assert focused() == "Skip to the content"
    page.keyboard.press("Enter")
    reached = []
    for _ in range(4):
        page.keyboard.press("Tab")
        reached.append(focused())
    assert reached == ["Example", "Example proposal", "Evaluate",
                       "Also explain the why-not and what it would take"], reached
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("ArrowRight")  # the tabs follow the arrow keys
    expect(page.get_by_role("tab", name="JSON")).to_be_focused()
    expect(page.get_by_label("Proposal as JSON")).to_be_visible()

    page.goto(f"{url}/console/evaluate")
    names = []
    for _ in range(7):
        page.keyboard.press("Tab")
        names.append(focused())
    assert names[1:7] == ["Policy evaluation", "Evaluate", "Compare", "Batches", "Rules",
                          "API"], names
