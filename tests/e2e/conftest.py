"""Browser end-to-end fixtures: a real Daphne process on the test database, driven by a real
Chromium through Playwright.

``live_portal`` starts ``daphne config.asgi:application`` as a subprocess (``tests.live``) whose
``DATABASE_URL`` points at the database this test process is using, so a test must commit its
data (``transactional_db``) for the server to see it. ``browser`` launches the system Chromium
(``ATRIUM_CHROMIUM`` overrides the path); when it or Playwright is missing the tests are skipped,
or fail under ``ATRIUM_REQUIRE_ALL=1``.

The tests use Playwright's async API and are themselves coroutines run by pytest-asyncio, all
on one session-wide event loop (``pytest.mark.asyncio(loop_scope="session")`` in each module),
so that one Playwright driver and one Chromium serve every test of a worker: starting the
driver and the browser costs seconds per test on a busy machine. What a test opens in it (its
browser contexts, their cookies, storage and pages) is closed when the test ends, so no test
sees another's; a browser that crashed is launched again for the next test. Database setup
happens in synchronous fixtures, which run before the test's coroutine starts; anything the ORM
must do while the loop is running goes through ``asgiref.sync.sync_to_async``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from tests import live
from tests.conftest import require_or_skip
from tests.e2e.pages import open_page

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Playwright

HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in this package drives a browser."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


# --- the server -------------------------------------------------------------------------


@pytest.fixture
def live_portal(transactional_db, settings, tmp_path: Path) -> Iterator[str]:
    """A real Daphne serving Atrium on the test database and the test's own vault (what
    the test stores, the server reads; what the server seals, the test reads); yields its
    base URL."""
    vault = {
        "ATRIUM_VAULT_STORAGE_OPTIONS": json.dumps(
            {"location": settings.STORAGES["vault"]["OPTIONS"]["location"]}
        ),
        "ATRIUM_VAULT_SPOOL_DIR": str(settings.ATRIUM_VAULT_SPOOL_DIR),
    }
    with live.running_daphnes([tmp_path / "daphne.log"], env=vault) as (server,):
        yield server.url


# --- the browser ------------------------------------------------------------------------


def _chromium_path() -> str:
    return os.environ.get("ATRIUM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


class SharedChromium:
    """The system Chromium, headless, launched once and again only if it went away."""

    def __init__(self, playwright: Playwright, executable: str) -> None:
        self.playwright = playwright
        self.executable = executable
        self.browser: Browser | None = None

    async def get(self) -> Browser:
        if self.browser is None or not self.browser.is_connected():
            self.browser = await self.playwright.chromium.launch(
                executable_path=self.executable, headless=True, args=CHROMIUM_ARGS
            )
        return self.browser

    async def close(self) -> None:
        if self.browser is not None and self.browser.is_connected():
            await self.browser.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def shared_chromium() -> AsyncIterator[SharedChromium]:
    """One Playwright driver and one Chromium for the whole run of this worker."""
    executable = _chromium_path()
    if not Path(executable).is_file():
        require_or_skip(f"Chromium not found at {executable} (set ATRIUM_CHROMIUM)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        require_or_skip("the playwright Python package is not installed")

    async with async_playwright() as playwright:
        shared = SharedChromium(playwright, executable)
        try:
            yield shared
        finally:
            await shared.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(shared_chromium: SharedChromium) -> AsyncIterator[Browser]:
    """The shared Chromium, for one test: every context the test opened in it (and so its
    cookies, storage, pages and routes) is closed when the test ends."""
    chromium = await shared_chromium.get()
    try:
        yield chromium
    finally:
        if chromium.is_connected():
            for context in list(chromium.contexts):
                await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page in a fresh browser context (no cookies shared between tests)."""
    page = await open_page(browser)
    try:
        yield page
    finally:
        await page.context.close()


@pytest.fixture
def expect(browser: Browser):
    """Playwright's retrying assertions, imported only once the browser is known present."""
    from playwright.async_api import expect as playwright_expect

    playwright_expect.set_options(timeout=10_000)
    return playwright_expect
