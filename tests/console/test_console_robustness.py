"""The robustness view of a batch page, as an analyst uses it: a CSV batch scored under a
published version of the shipped ruleset that declares the rule-authoring guide's uncertainty,
the analysis started with its samples, top set and budget, its progress followed, then the
API's three charts shown (fetched with the key, allowed by the page's policy) beside tables of
the very figures the job answered; a bad budget is told beside the form."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from service.api import close_app, create_app
from service.config import Settings
from tests.integration.servers import ThreadedServer
from tests.unit.test_docs import uncertainty_example

from .conftest import Watch, screenshot
from .test_console import PROPOSALS, csv_of

pytestmark = pytest.mark.console
# the pages are driven with ruleset 2026.1.0, whose rules (BUD-07...) and figures these tests
# name; the default, 2026.2.0, is tested in tests/unit/test_ruleset_2026_2.py
RULESET = Path(__file__).resolve().parents[2] / "rules" / "japan-fy2026.yaml"
VERSION = "2026.1.0-uncertain"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The embedded service, with the shipped ruleset and the guide's uncertainty declared
    in a version published and activated as an analyst would."""
    app = create_app(Settings(redis_url=None, ruleset=RULESET))
    server = ThreadedServer(app)
    text = RULESET.read_text().replace('version: "2026.1.0"', f'version: "{VERSION}"')
    published = requests.post(f"{server.url}/v1/rulesets", params={"activate": "true"},
                              data=f"{text.rstrip()}\n{uncertainty_example()}".encode(),
                              headers={"Content-Type": "application/yaml"}, timeout=30)
    assert published.status_code == 201, published.text
    yield server.url
    server.stop()
    close_app(app)


def same_request(url: str, batch_id: str) -> dict[str, Any]:
    """The request the page sends, through the API: the same answer (the seed is derived from
    the batch id), for the figures the page must show."""
    started = requests.post(f"{url}/v1/batches/{batch_id}/robustness", timeout=30,
                            json={"samples": 2000, "top_k": 5, "budget": 3e12,
                                  "currency": "JPY"})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 60
    while (job := requests.get(f"{url}{started.headers['Location']}", timeout=30).json())[
            "status"] != "done":
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    found: dict[str, Any] = job["result"]
    return found


def test_the_analysis_of_a_csv_batch_shows_the_apis_charts_and_figures(
        page: Page, url: str, tmp_path: Path, watch: Watch) -> None:
    upload = tmp_path / "programmes.csv"
    upload.write_text(csv_of(PROPOSALS))
    page.goto(f"{url}/console/batches")
    page.get_by_label("File", exact=True).set_input_files(upload)
    page.get_by_role("button", name="Upload and score").click()
    page.wait_for_url("**/console/batches/*")
    batch_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#progress-text")).to_contain_text("done: 18 scored")

    page.get_by_label("Portfolio budget").fill("-5")
    page.get_by_role("button", name="Analyse robustness").click()
    expect(page.locator("#robustness-errors")).to_be_hidden()  # the browser's own check first
    page.get_by_label("Portfolio budget").fill("")
    page.get_by_label("Budget currency").select_option("USD")
    watch.expect_status(422)
    page.get_by_role("button", name="Analyse robustness").click()
    expect(page.locator("#robustness-errors")).to_contain_text("currency: USD needs a budget")

    page.get_by_label("Samples").fill("2000")
    page.get_by_label("Top set").fill("5")
    page.get_by_label("Portfolio budget").fill("3000000000000")
    page.get_by_label("Budget currency").select_option("JPY")
    page.get_by_role("button", name="Analyse robustness").click()
    expect(page.locator("#robustness-status")).to_contain_text("Done: 2,000 samples")
    expect(page.locator("#robustness-errors")).to_be_hidden()
    expect(page.locator("#robustness-progress")).to_have_attribute("value", "100")

    result = same_request(url, batch_id)
    expect(page.locator("#robustness-summary")).to_contain_text(
        f"2,000 samples, seed {result['seed']}, ruleset {VERSION}")
    images = page.locator("#robustness-result figure img")
    expect(images).to_have_count(3)
    for image in images.all():  # drawn: the policy let the blob: image in, the SVG parsed
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
        assert image.get_attribute("src", timeout=1000).startswith("blob:")
        assert image.get_attribute("alt")
    stability = page.locator("#robustness-stability tbody tr")
    expect(stability).to_have_count(len(result["weight_stability"]))
    for row, criterion in zip(stability.all(), result["weight_stability"], strict=True):
        first = criterion["first"]
        expect(row.locator("td").nth(2)).to_have_text(
            f"{first['lower']:.3f} to {first['upper']:.3f}")
    ranked = page.locator("#robustness-acceptability tbody tr")
    expect(ranked.locator("td:first-child")).to_have_text(
        [p["title"] for p in result["rank_acceptability"]])  # 18: all shown
    expect(ranked.locator("td:nth-child(3)")).to_have_text(
        [f"{100 * p['first']:.1f}%" for p in result["rank_acceptability"]])
    funded = [p for p in result["portfolio"]["proposals"] if p["status"] != "exterior"]
    core = page.locator("#robustness-core tbody tr")
    expect(core.locator("td:first-child")).to_have_text([p["title"] for p in funded])
    expect(core.locator("td:nth-child(4)")).to_have_text([p["status"] for p in funded])
    page.locator("#robustness-summary").evaluate("summary => summary.scrollIntoView()")
    screenshot(page, "batch-robustness")
