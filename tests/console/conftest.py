"""The console in a real browser: Debian's headless Chromium driven by Playwright, one browser
for the session, a fresh context (no key, no cache) per test, at 1280×800.

Every page a test opens is watched: a console error or an uncaught exception fails the test,
and any request to a host other than 127.0.0.1 is refused and fails it too, so the console is
proven to work without internet. A test that provokes an error answer on purpose (a 422 for a
bad ruleset) says which status it expects.

``CONSOLE_SCREENSHOTS=1`` also saves the views' screenshots to ``docs/console/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# headless, and nothing that phones home (updates, sync, field trials, QUIC probes)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "docs" / "console"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
_FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")
# how long an assertion waits for the page to get there: a bound, not a measure. Playwright's 5 s
# is too short for a batch or an analysis job on a loaded machine (2 cores, several test runs)
expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the console tests drive Debian's chromium "
                    "(`apt-get install chromium`; .ci/run installs it).", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@dataclass
class Watch:
    """What went wrong in the pages of one test."""

    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def expect_status(self, *statuses: int) -> None:
        """The browser logs every error answer; these are the test's own doing."""
        self.expected_statuses.update(statuses)

    def console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        failed = _FAILED_LOAD.search(message.text)
        if failed and int(failed.group(1)) in self.expected_statuses:
            return
        self.errors.append(f"{message.text} ({message.location.get('url')})")

    def route(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def context(browser: Browser, watch: Watch) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=VIEWPORT)
    context.route("**/*", watch.route)
    context.on("page", lambda page: _observe(page, watch))
    yield context
    context.close()
    assert not watch.outside, f"requests left 127.0.0.1: {watch.outside}"
    assert not watch.errors, "errors in the browser:\n" + "\n".join(watch.errors)


def _observe(page: Page, watch: Watch) -> None:
    page.on("console", watch.console)
    page.on("pageerror", lambda error: watch.errors.append(f"uncaught: {error}"))


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    """docs/console/NAME.png, when CONSOLE_SCREENSHOTS=1."""
    if os.environ.get("CONSOLE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=full_page)
