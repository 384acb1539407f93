"""The console on a service with API keys: it asks for a key, refuses a wrong one, keeps the
key for the tab only, and offers each role what the API lets it do (the API still decides)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from playwright.sync_api import Page, expect

from service.api import close_app, create_app
from service.config import DEFAULT_RULESET, Settings
from tests.integration.servers import ThreadedServer
from tests.keys import API_KEYS, KEYS, bearer

from .conftest import Watch

pytestmark = pytest.mark.console

TOMAHAWK = Path(__file__).resolve().parents[2] / "examples" / "tomahawk-2023.json"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The service with a second version published, 2026.2.1, not active."""
    app = create_app(Settings(redis_url=None, api_keys=API_KEYS))
    server = ThreadedServer(app)
    document = yaml.safe_load(DEFAULT_RULESET.read_text())
    document["version"] = "2026.2.1"
    published = requests.post(f"{server.url}/v1/rulesets", json=document, timeout=30,
                              headers=bearer("analyst"))
    assert published.status_code == 201, published.text
    yield server.url
    server.stop()
    close_app(app)


def sign_in(page: Page, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def test_a_key_is_asked_for_checked_and_kept_for_the_tab(page: Page, url: str,
                                                         watch: Watch) -> None:
    watch.expect_status(401)  # each page asks who it is before it has a key
    page.goto(f"{url}/console/evaluate?example=tomahawk-2023")
    expect(page.locator("#session-status")).to_have_text("This service needs an API key.")
    expect(page.locator("#main")).to_contain_text("Sign in with your API key")

    sign_in(page, "not-a-key")
    expect(page.locator("#session-status")).to_have_text(
        "That key was refused. Sign in with an API key.")

    sign_in(page, KEYS["evaluator"])
    expect(page.locator("#session-status")).to_have_text("Signed in as evaluator (evaluator)")
    expected = json.loads(TOMAHAWK.read_text())["title"]
    expect(page.locator("#evaluation .proposal-title")).to_contain_text(expected)
    page.goto(f"{url}/console/batches")  # the key stays with the tab
    expect(page.locator("#session-status")).to_have_text("Signed in as evaluator (evaluator)")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()


@pytest.mark.parametrize("role", ["evaluator", "analyst", "admin"])
def test_each_role_is_offered_what_it_may_do(page: Page, url: str, watch: Watch,
                                             role: str) -> None:
    watch.expect_status(401)
    page.goto(f"{url}/console/rules")
    sign_in(page, KEYS[role])
    page.locator("#criteria-table").wait_for()

    analyst_controls = [page.get_by_role("button", name="Publish", exact=True),
                        page.get_by_role("button", name="Run the rule tests on this version"),
                        page.get_by_role("button", name="Show what changed")]
    activate = page.get_by_role("button", name="Activate 2026.2.1")
    for control in analyst_controls:
        if role == "evaluator":
            expect(control).to_be_disabled()
            expect(control).to_have_attribute("title", "Needs the analyst role")
        else:
            expect(control).to_be_enabled()
    if role != "admin":
        expect(activate).to_be_disabled()
        return
    activate.click()
    expect(page.locator("#versions-status")).to_have_text("2026.2.1 is now active.")
    page.get_by_role("button", name="Roll back to 2026.2.0").click()
    expect(page.locator("#versions-status")).to_have_text("2026.2.0 is now active.")
    assert requests.get(f"{url}/v1/rulesets", headers=bearer("admin"),
                        timeout=10).json()["active"] == "2026.2.0"
