"""Browser pages for the end-to-end tests: each in a fresh context (no cookies shared),
optionally signed in with an existing session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from tests import factories

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000


async def open_page(browser: Browser, *, url: str = "", session_key: str = "") -> Page:
    """A page in a new context; with ``url`` and ``session_key``, signed in to the server at
    ``url`` with that session. Close it with ``page.context.close()``."""
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    if session_key:
        await context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": url}]
        )
    return await context.new_page()


def session_key(user) -> str:
    """A signed-in session of ``user``, as the key a browser's cookie carries (signing in
    through the form has tests of its own)."""
    return factories.session_cookie(user).split("=", 1)[1]
