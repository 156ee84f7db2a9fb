"""Browser end-to-end fixtures: a real Daphne process on the test database, driven by a real
Chromium through Playwright.

``live_portal`` starts ``daphne config.asgi:application`` as a subprocess whose
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
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings

from tests.conftest import require_or_skip

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

HERE = Path(__file__).resolve().parent
SERVER_START_TIMEOUT = 20.0
SERVER_STOP_TIMEOUT = 5.0
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


def _database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL that makes another process open exactly this (test) database."""
    engine = settings_dict["ENGINE"]
    name = str(settings_dict["NAME"])
    if engine.endswith("sqlite3"):
        path = Path(name)
        if name == ":memory:" or "mode=memory" in name or not path.is_absolute():
            pytest.fail(f"the live server cannot share the SQLite database {name!r}")
        return f"sqlite:///{path}"  # sqlite:////absolute/path
    if engine.endswith("postgresql"):
        user = quote(settings_dict.get("USER") or "", safe="")
        password = settings_dict.get("PASSWORD") or ""
        credentials = user + (f":{quote(password, safe='')}" if password else "")
        host = str(settings_dict.get("HOST") or "")
        port = str(settings_dict.get("PORT") or "")
        options = {
            key: value
            for key, value in (settings_dict.get("OPTIONS") or {}).items()
            if isinstance(value, str | int) and not isinstance(value, bool)
        }
        query = f"?{urlencode(options)}" if options else ""
        if host.startswith("/"):
            # A Unix socket directory travels in the path: postgres://user@/%2Frun%2Fpg/name
            return f"postgres://{credentials}@/{quote(host, safe='')}/{quote(name)}{query}"
        netloc = host + (f":{port}" if port else "")
        return f"postgres://{credentials}@{netloc}/{quote(name)}{query}"
    pytest.fail(f"the live server does not know how to share a {engine} database")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _tail(path: Path, limit: int = 6000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-limit:] or "(no output)"


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SERVER_STOP_TIMEOUT)


@pytest.fixture
def live_portal(transactional_db, tmp_path: Path) -> Iterator[str]:
    """A real Daphne serving Atrium on the test database; yields its base URL."""
    from django.db import connection

    port = _free_port()
    server_env = dict(os.environ)
    server_env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=_database_url(connection.settings_dict),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        ATRIUM_VAR_DIR=str(settings.VAR_DIR),
        PYTHONUNBUFFERED="1",
    )
    # REDIS_URL, if this run has one, is inherited with the rest of the environment.
    log_path = tmp_path / "daphne.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "config.asgi:application",
            ],
            cwd=settings.BASE_DIR,
            env=server_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _answers(port):
            if process.poll() is not None:
                pytest.fail(
                    f"Daphne exited with code {process.returncode} before serving:\n"
                    + _tail(log_path),
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Daphne did not answer on port {port} within {SERVER_START_TIMEOUT:.0f} s:\n"
                    + _tail(log_path),
                    pytrace=False,
                )
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)
        # Shown by pytest only when the test fails.
        print(f"--- live server output ---\n{_tail(log_path)}")


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
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


@pytest.fixture
def expect(browser: Browser):
    """Playwright's retrying assertions, imported only once the browser is known present."""
    from playwright.async_api import expect as playwright_expect

    playwright_expect.set_options(timeout=10_000)
    return playwright_expect
