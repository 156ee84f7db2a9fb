"""Signing in through the real form, against a real server, in a real browser."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import ClientAccount, Matter, User
from accounts.services.firm import firm_get
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SCREENSHOTS = Path(settings.BASE_DIR) / "test-results"
FIRM_NAME = "Harbour & Co"
PRIMARY = "#123456"
PRIMARY_RGB = "rgb(18, 52, 86)"
WRONG_LOGIN = "That e-mail address and password do not match an account."


@dataclass
class Portal:
    url: str
    acme: ClientAccount
    globex: ClientAccount
    matter: Matter
    client: User
    staff: User


@pytest.fixture
def portal(live_portal: str) -> Portal:
    """A branded firm; Acme with a client, a team member and a matter; Globex beside it.

    Synchronous on purpose: it runs before the test's event loop does, so the ORM is safe.
    """
    firm = firm_get()
    firm.name = FIRM_NAME
    firm.primary_colour = PRIMARY
    firm.save()
    acme = factories.account("Acme Shipping")
    globex = factories.account("Globex Freight")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    factories.staff(accounts=(globex,), name="Olive Other")
    client = factories.client(acme, role="admin", name="Alex Acme")
    matter = factories.matter(acme, title="Harbour lease renewal")
    factories.matter(globex, title="Globex customs dispute")
    return Portal(
        url=live_portal,
        acme=acme,
        globex=globex,
        matter=matter,
        client=client,
        staff=staff,
    )


async def _sign_in(page, portal: Portal, email: str, password: str = factories.PASSWORD) -> None:
    await page.goto(f"{portal.url}/login/")
    await page.fill("input[name=username]", email)
    await page.fill("input[name=password]", password)
    await page.get_by_role("button", name="Sign in").click()


async def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / name, full_page=True)


async def test_client_signs_in_to_a_branded_home(page, portal: Portal, expect) -> None:
    await _sign_in(page, portal, portal.client.email)

    await expect(page).to_have_url(f"{portal.url}/")
    await expect(page.get_by_role("heading", name="Welcome, Alex")).to_be_visible()
    await expect(page.locator(".topbar .brand-name")).to_have_text(FIRM_NAME)
    await expect(page).to_have_title(re.compile(re.escape(FIRM_NAME)))
    # The status page: what waits on them, where each matter is, what changed, their team;
    # the account page has the rest.
    await expect(page.get_by_role("heading", name="Waiting on you")).to_be_visible()
    where = page.locator("section[aria-labelledby=where-h]")
    await expect(where.locator("ul.status-matters")).to_contain_text("Harbour lease renewal")
    await expect(page.get_by_role("heading", name="Latest changes")).to_be_visible()
    await expect(page.get_by_role("heading", name="Your account team")).to_be_visible()
    await page.get_by_role("link", name=re.compile("^Acme Shipping: team")).click()
    await expect(page.get_by_role("heading", name="Account team")).to_be_visible()
    await expect(page.locator("ul.people").first).to_contain_text("Sam Staff")
    await expect(page.locator("main")).not_to_contain_text("Globex")
    await page.go_back()

    background = await page.locator(".topbar").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert background == PRIMARY_RGB
    await _screenshot(page, "client-home.png")


async def test_staff_sees_only_the_accounts_they_serve(page, portal: Portal, expect) -> None:
    await _sign_in(page, portal, portal.staff.email)

    await expect(page).to_have_url(f"{portal.url}/")
    await expect(page.get_by_role("heading", name="Your clients")).to_be_visible()
    rows = page.locator("table.clients-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first.get_by_role("rowheader")).to_have_text("Acme Shipping")
    await expect(rows.first).to_contain_text("Harbour lease renewal")
    await expect(page.locator("main")).not_to_contain_text("Globex")
    await expect(page.locator(".topbar .brand-name")).to_have_text(FIRM_NAME)
    await _screenshot(page, "staff-home.png")


async def test_wrong_password_stays_on_the_login_page(page, portal: Portal, expect) -> None:
    await _sign_in(page, portal, portal.client.email, password="not-the-password")

    await expect(page.locator(".form-errors")).to_have_text(WRONG_LOGIN)
    await expect(page).to_have_url(f"{portal.url}/login/")
    await expect(page.get_by_role("heading", name=f"Sign in to {FIRM_NAME}")).to_be_visible()
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    # Still signed out: the home page sends us back to the form.
    await page.goto(f"{portal.url}/")
    await expect(page).to_have_url(f"{portal.url}/login/?next=/")


async def test_sign_out_ends_the_session(page, portal: Portal, expect) -> None:
    await _sign_in(page, portal, portal.client.email)
    await expect(page.get_by_role("heading", name="Welcome, Alex")).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{portal.url}/login/")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    await page.goto(f"{portal.url}/")
    await expect(page).to_have_url(f"{portal.url}/login/?next=/")
    await expect(page.get_by_role("heading", name=f"Sign in to {FIRM_NAME}")).to_be_visible()
