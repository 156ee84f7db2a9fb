"""Browser end-to-end fixtures: a real Daphne process on the test database, driven by a real
Chromium through Playwright.

``live_portal`` starts ``daphne config.asgi:application`` as a subprocess (``tests.live``) whose
``DATABASE_URL`` points at the database this test process is using, so a test must commit its
data (``transactional_db``) for the server to see it. ``browser`` launches the system Chromium
(``ATRIUM_CHROMIUM`` overrides the path); when it or Playwright is missing the tests are skipped,
or fail under ``ATRIUM_REQUIRE_ALL=1``.

The tests use Playwright's async API and are themselves coroutines run by pytest-asyncio, each
on its own function-scoped event loop; the browser is launched per test on that loop (it takes
well under a second) and is gone when the test ends. Database setup happens in synchronous
fixtures, which run before the test's loop starts; anything the ORM must do while a test's loop
is running goes through ``asgiref.sync.sync_to_async``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests import live
from tests.conftest import require_or_skip
from tests.e2e.pages import open_page

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

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
def live_portal(transactional_db, tmp_path: Path) -> Iterator[str]:
    """A real Daphne serving Atrium on the test database; yields its base URL."""
    with live.running_daphnes([tmp_path / "daphne.log"]) as (server,):
        yield server.url


# --- the browser ------------------------------------------------------------------------


def _chromium_path() -> str:
    return os.environ.get("ATRIUM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """The system Chromium, headless, for one test on that test's event loop."""
    executable = _chromium_path()
    if not Path(executable).is_file():
        require_or_skip(f"Chromium not found at {executable} (set ATRIUM_CHROMIUM)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        require_or_skip("the playwright Python package is not installed")

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
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
