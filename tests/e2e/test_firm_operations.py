"""The firm runs itself in the portal, by keyboard, in a real browser against a real server:
a firm admin opens a client account, puts a staff member on its team as lead, and removes a
client person after confirming; the client sees their account lead. A legal hold is set
and released, and a password link sent, the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async

from accounts.models import ClientAccount, Membership, TeamAssignment, User
from tests import factories
from tests.e2e.pages import open_page, session_key

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@dataclass
class Firm:
    url: str
    admin_key: str
    sam: User
    member: User
    acme: ClientAccount


@pytest.fixture
def firm(live_portal: str) -> Firm:
    acme = factories.account("Acme Shipping")
    admin = factories.firm_admin(name="Ada Admin")
    sam = factories.staff(name="Sam Staff")
    member = factories.client(acme, name="Morgan Member")
    return Firm(live_portal, session_key(admin), sam, member, acme)


async def test_a_firm_admin_opens_a_client_and_names_its_lead_by_keyboard(browser, firm, expect):
    page = await open_page(browser, url=firm.url, session_key=firm.admin_key)
    try:
        await page.goto(firm.url + "/")
        await page.get_by_role("link", name="Clients", exact=True).focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Clients")
        await page.get_by_label("Client name").focus()
        await page.keyboard.type("Initech Holdings")
        await page.keyboard.press("Enter")
        await expect(page.get_by_text("Initech Holdings is open")).to_be_visible()
        await expect(page).to_have_url(re.compile(r"/clients/acc_[a-z0-9]+/settings/$"))

        await page.get_by_label("Staff member").select_option(label="Sam Staff")
        await page.get_by_label("Staff member").focus()
        await page.keyboard.press("Tab")  # to "Make them the account lead"
        await page.keyboard.press("Space")
        await page.keyboard.press("Tab")  # to "Add to the team"
        await page.keyboard.press("Enter")
        await expect(page.get_by_text("Sam Staff is on the team.")).to_be_visible()
        await expect(page.get_by_text("Account lead", exact=True)).to_be_visible()
    finally:
        await page.context.close()
    initech = await sync_to_async(ClientAccount.objects.get)(name="Initech Holdings")
    lead = await sync_to_async(
        lambda: TeamAssignment.objects.get(account=initech, user=firm.sam).lead
    )()
    assert lead


async def test_removing_a_client_person_is_confirmed_first(browser, firm, expect):
    page = await open_page(browser, url=firm.url, session_key=firm.admin_key)
    try:
        await page.goto(f"{firm.url}/clients/{firm.acme.public_id}/settings/")
        remove = page.get_by_role("button", name="Remove Morgan Member")
        await remove.focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Remove Morgan Member from Acme Shipping?"
        )
        still_in = await sync_to_async(
            Membership.objects.filter(account=firm.acme, user=firm.member).exists
        )()
        assert still_in
        # The confirming button takes the focus (once the browser has applied autofocus,
        # after the page is shown): Enter confirms.
        await expect(page.locator("form.actions button[type=submit]")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(
            page.get_by_text("Morgan Member is no longer in Acme Shipping.")
        ).to_be_visible()
    finally:
        await page.context.close()
    member = await sync_to_async(User.objects.get)(pk=firm.member.pk)
    assert not member.is_active


async def test_a_legal_hold_is_set_and_released_by_keyboard(browser, firm, expect):
    page = await open_page(browser, url=firm.url, session_key=firm.admin_key)
    try:
        await page.goto(f"{firm.url}/clients/{firm.acme.public_id}/settings/")
        await page.get_by_label("Why the hold is set").focus()
        await page.keyboard.type("Litigation expected")
        await page.keyboard.press("Enter")
        await expect(page.get_by_text("Acme Shipping is on legal hold.")).to_be_visible()
        await expect(page.get_by_text("Why: Litigation expected")).to_be_visible()
        await page.get_by_role("button", name="Release the hold").focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Release the legal hold on Acme Shipping?"
        )
        await page.get_by_role("button", name="Release the hold").focus()
        await page.keyboard.press("Enter")
        await expect(
            page.get_by_text("The legal hold on Acme Shipping is released.")
        ).to_be_visible()
    finally:
        await page.context.close()
    acme = await sync_to_async(ClientAccount.objects.get)(pk=firm.acme.pk)
    assert not acme.legal_hold


async def test_a_password_link_is_sent_by_keyboard_after_confirming(browser, firm, expect):
    page = await open_page(browser, url=firm.url, session_key=firm.admin_key)
    try:
        await page.goto(f"{firm.url}/people/")
        await page.get_by_role("button", name="Send a password link to Sam Staff").focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Send Sam Staff a link to choose a new password?"
        )
        await page.get_by_role("button", name="Send the link").focus()
        await page.keyboard.press("Enter")
        # Ending Sam's sessions and their sockets may take a moment on a busy machine.
        await expect(
            page.get_by_text("A link to choose a new password is on its way")
        ).to_be_visible(timeout=15_000)
    finally:
        await page.context.close()
    sam = await sync_to_async(User.objects.get)(pk=firm.sam.pk)
    assert not sam.has_usable_password()
