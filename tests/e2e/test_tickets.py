"""Support tickets in a real browser against a real server: a client opens a ticket on the
new-ticket page, a staff member answers it in the ticket's conversation from their own
browser, and the client's open ticket page shows the reply arrive and the status turn to
"Waiting on client" without reloading; closed by the firm, its reply box gives way to a note."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async

from accounts.models import User
from support.models import Category, Ticket
from support.services import ticket_update
from tests import factories
from tests.e2e.pages import open_page, session_key

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@dataclass
class World:
    url: str
    category: Category
    staff: User
    client: User
    staff_session: str
    client_session: str


@pytest.fixture
def world(live_portal: str) -> World:
    acme = factories.account("Acme Shipping")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    client = factories.client(acme, name="Alex Acme", role="admin")
    category = factories.category("Technical question", targets={"high": (60, 480)})
    return World(
        url=live_portal,
        category=category,
        staff=staff,
        client=client,
        staff_session=session_key(staff),
        client_session=session_key(client),
    )


async def test_a_client_opens_a_ticket_and_sees_the_reply_arrive(browser, world, expect):
    client_page = await open_page(browser, url=world.url, session_key=world.client_session)
    await client_page.goto(f"{world.url}/tickets/")
    await client_page.get_by_role("link", name="New ticket").click()
    await client_page.get_by_label("What is it about?").select_option(label="Technical question")
    await client_page.get_by_label("Subject").fill("Exports come out empty")
    await client_page.get_by_label("Your message").fill("Since Monday the CSV export has no rows.")
    await client_page.get_by_label("Priority").select_option("high")
    await client_page.get_by_role("button", name="Open the ticket").click()

    await expect(client_page.locator(".toasts")).to_contain_text("Your ticket is open")
    ticket = await sync_to_async(Ticket.objects.select_related("assignee", "thread").get)()
    assert ticket.subject == "Exports come out empty" and ticket.assignee == world.staff
    head = client_page.locator('[data-region="ticket-head"]')
    await expect(head.locator("[data-ticket-status]")).to_contain_text("Open")
    await expect(head.locator("[data-ticket-assignee]")).to_have_text("Sam Staff")
    await expect(client_page.locator("[data-chat]")).to_have_attribute("data-live", "true")
    await expect(client_page.locator("ol.messages")).to_contain_text(
        "Since Monday the CSV export has no rows."
    )
    # A mark that a reload would wipe.
    await client_page.evaluate("window.__stillThisPage = true")

    staff_page = await open_page(browser, url=world.url, session_key=world.staff_session)
    await staff_page.goto(f"{world.url}/tickets/")
    await staff_page.get_by_role("link", name="Exports come out empty").click()
    await expect(staff_page.locator("[data-chat]")).to_have_attribute("data-live", "true")
    composer = staff_page.locator("#composer-input")
    await expect(composer).to_be_enabled()
    await composer.fill("The export job lost its schedule; it runs again now. Could you check?")
    await composer.press("Enter")

    # The client sees the reply and the new status, on the same page.
    await expect(client_page.locator("ol.messages")).to_contain_text(
        "The export job lost its schedule; it runs again now."
    )
    await expect(head.locator("[data-ticket-status]")).to_contain_text("Waiting on client")
    await expect(
        client_page.locator('[data-region="ticket-head"] [data-sla="first_response"]')
    ).to_contain_text("Met")
    assert await client_page.evaluate("window.__stillThisPage === true")

    # Closed by the firm: the client's composer gives way to a note, live.
    await sync_to_async(ticket_update)(actor=world.staff, ticket=ticket, status="closed")
    await expect(head.locator("[data-ticket-status]")).to_contain_text("Closed")
    await expect(client_page.locator("form.composer")).to_be_hidden()
    await expect(client_page.locator("[data-composer-closed]")).to_be_visible()
    assert await client_page.evaluate("window.__stillThisPage === true")
    await staff_page.context.close()
    await client_page.context.close()
