"""Real-browser fixtures: Debian's chromium driven by Playwright for Python.

Import the fixtures into a test module (`from tests.browser import browser, open_page`).
Chromium must be installed (.ci/run installs it when missing); its absence fails the tests.
Every page records console errors and uncaught exceptions; a test fails when any appear
that it did not declare as expected.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pytest
from playwright.async_api import Browser
from playwright.async_api import BrowserContext
from playwright.async_api import Page
from playwright.async_api import async_playwright

from tests.conftest import DEFAULT_PASSWORD
from tests.servers import ROOT

CHROMIUM = os.environ.get("ENGAGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


@dataclass
class BrowserPage:
    """A page in its own browser context, with what its console said."""

    context: BrowserContext
    page: Page
    base_url: str
    errors: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    expected: list[re.Pattern] = field(default_factory=list)

    def expect_console_error(self, pattern: str) -> None:
        """Declare an error line this test causes on purpose (e.g. a 409 the UI handles)."""
        self.expected.append(re.compile(pattern))

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.expected)]

    async def goto(self, path: str) -> None:
        await self.page.goto(self.base_url + path)

    async def login(self, path: str, email: str, password: str = DEFAULT_PASSWORD) -> None:
        """Open a page and log in through its form."""
        await self.goto(path)
        form = self.page.locator("form.auth").first
        await form.get_by_label("Email").fill(email)
        await form.get_by_label("Password").fill(password)
        await form.get_by_role("button", name="Log in").click()
        await self.page.wait_for_selector("body[data-state=ready]")

    async def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=False)
        return path

    async def wait_socket(self, timeout: float = 10_000) -> None:
        await self.page.wait_for_selector("body[data-socket=connected]", timeout=timeout)

    async def transport(self) -> str | None:
        return await self.page.evaluate("window.engageLive && window.engageLive.transport")


@pytest.fixture(scope="session")
async def browser() -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does this)")
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        await instance.close()


@pytest.fixture
async def open_page(browser, web):
    """Factory: a fresh browser context (its own storage) with one page; checks its console at the end."""
    pages: list[BrowserPage] = []

    async def make(viewport: dict | None = None, base_url: str | None = None) -> BrowserPage:
        context = await browser.new_context(viewport=viewport or DESKTOP)
        page = await context.new_page()
        page.set_default_timeout(10_000)
        bp = BrowserPage(context, page, base_url or web.url)

        def on_console(msg) -> None:
            if msg.type == "error":
                bp.errors.append(f"console: {msg.text} ({msg.location.get('url', '')})")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: bp.errors.append(f"pageerror: {exc}"))
        page.on("websocket", lambda ws: bp.websockets.append(ws.url))
        pages.append(bp)
        return bp

    yield make
    problems = []
    for bp in pages:
        problems += bp.unexpected_errors()
        await bp.context.close()
    assert not problems, "browser console errors:\n" + "\n".join(problems)
