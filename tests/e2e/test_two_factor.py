"""Two-factor sign-in in a real browser, by keyboard: a staff member of a firm that requires it
signs in, is sent to set it up, types the key's code from the page into the form, keeps the
recovery codes, and on the next sign-in gets past the code step with one of them; the same
recovery code does not work twice."""

from __future__ import annotations

import base64
import re

import pytest
from asgiref.sync import sync_to_async
from django_otp.oath import TOTP

from accounts.models import Firm
from accounts.services.firm import firm_get
from tests import factories
from tests.e2e.pages import open_page

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PASSWORD = "a-long-and-unusual-passphrase"


def _code_for(secret_text: str) -> str:
    secret = secret_text.replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key).token():06d}"


@pytest.fixture
def staff(live_portal: str):
    firm = firm_get()
    Firm.objects.filter(pk=firm.pk).update(require_two_factor=True)
    person = factories.staff(name="Sam Staff", email="sam@firm.test")
    person.set_password(PASSWORD)
    person.save(update_fields=["password"])
    return live_portal, person


async def _sign_in(page, url: str, email: str) -> None:
    await page.goto(url + "/login/")
    await page.get_by_label("E-mail address").focus()
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")


async def test_setting_up_and_using_two_factor_by_keyboard(browser, staff, expect):
    url, person = staff
    page = await open_page(browser, url=url)
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    try:
        await _sign_in(page, url, person.email)
        # The firm requires it: every page leads to the set-up first.
        await expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")
        await page.goto(url + "/threads/")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")

        # Held at the set-up, the page opens no socket the server would refuse.
        await expect(page.locator('script[src*="portal.js"]')).to_have_count(0)
        assert sockets == []
        secret = await page.locator("code.secret").inner_text()
        await page.get_by_label("The six-digit code your app shows now").focus()
        await page.keyboard.type(_code_for(secret))
        await page.keyboard.press("Enter")
        await expect(page.locator("ul.recovery-codes code").first).to_be_visible()
        codes = await page.locator("ul.recovery-codes code").all_inner_texts()
        assert len(codes) == 10
        await page.get_by_role("link", name="I have saved them").focus()
        # Set up, the next page connects its socket again.
        async with page.expect_websocket():
            await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Security"))
    finally:
        await page.context.close()

    # A new browser: the password, then a recovery code instead of the app's.
    page = await open_page(browser, url=url)
    try:
        await _sign_in(page, url, person.email)
        await expect(page.get_by_role("heading", level=1)).to_have_text("Enter your sign-in code")
        await page.get_by_label("Code from your authenticator app").focus()
        await page.keyboard.type(codes[0])
        await page.keyboard.press("Enter")
        await page.wait_for_url(url + "/")
    finally:
        await page.context.close()

    # The same recovery code is spent.
    page = await open_page(browser, url=url)
    try:
        await _sign_in(page, url, person.email)
        await expect(page.get_by_role("heading", level=1)).to_have_text("Enter your sign-in code")
        await page.get_by_label("Code from your authenticator app").focus()
        await page.keyboard.type(codes[0])
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Enter your sign-in code")
        await expect(page.get_by_role("alert").first).to_be_visible()
    finally:
        await page.context.close()
    used = await sync_to_async(lambda: person.staticdevice_set.get().token_set.count())()
    assert used == 9
