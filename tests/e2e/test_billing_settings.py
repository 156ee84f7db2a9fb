"""The billing settings page in a real browser: the next number follows the format as a firm
admin types it, from the counters' real next values, and saving keeps it."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from sequences import get_next_value

from billing.selectors.settings import settings_get
from billing.services.invoices import firm_today
from tests import factories
from tests.e2e.pages import open_page, session_key

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def admin_key(live_portal: str) -> str:
    year = firm_today().year
    for _ in range(12):
        get_next_value(f"billing.invoice.{year}")
    for _ in range(4):
        get_next_value("billing.invoice")
    settings_get()
    return session_key(factories.firm_admin(name="Ada Admin"))


async def test_the_next_number_follows_the_format_typed(browser, live_portal, admin_key, expect):
    year = firm_today().year
    page = await open_page(browser, url=live_portal, session_key=admin_key)
    try:
        await page.goto(f"{live_portal}/settings/billing/")
        shown = page.locator('[data-next-number="invoice"]')
        await expect(shown).to_have_text(f"INV-{year}-00013")
        field = page.get_by_label("Invoice numbers")
        await field.fill("A/{year}/{seq:03}")
        await expect(shown).to_have_text(f"A/{year}/013")
        # Without {year}, the counter that runs for ever.
        await field.fill("NW-{seq}")
        await expect(shown).to_have_text("NW-5")
        await field.fill("NW-{month}")
        await expect(shown).to_contain_text("not a number format yet")
        await field.fill("NW-{seq:06}")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_text("Billing settings saved.")).to_be_visible()
        await expect(shown).to_have_text("NW-000005")
    finally:
        await page.context.close()
    saved = await sync_to_async(settings_get)()
    assert saved.invoice_number_format == "NW-{seq:06}"
