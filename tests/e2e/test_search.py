"""Search in a real browser: "/" reaches the header's box, a result is marked, and its link
opens the conversation at that message even when it is older than the newest page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from accounts.models import User
from messaging import services as messaging_services
from messaging.models import Thread
from tests import factories
from tests.e2e.pages import open_page, session_key

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@dataclass
class World:
    url: str
    client: User
    general: Thread
    first_seq: int


@pytest.fixture
def world(live_portal: str) -> World:
    """Acme's General thread with 120 messages, the first one saying "heliotrope": far older
    than the 50 the conversation page starts with. Committed (the index follows commits)."""
    acme = factories.account("Acme Shipping")
    factories.staff(accounts=(acme,), name="Sam Staff")
    client = factories.client(acme, role="admin", name="Alex Acme")
    general = Thread.objects.get(account=acme, is_general=True)
    first = messaging_services.message_send(
        actor=client,
        thread_id=general.public_id,
        client_id=uuid.uuid4(),
        body="The heliotrope paint <b>samples</b> arrived",
    )
    for n in range(119):
        messaging_services.message_send(
            actor=client, thread_id=general.public_id, client_id=uuid.uuid4(), body=f"Note {n}"
        )
    return World(url=live_portal, client=client, general=general, first_seq=first.seq)


async def test_slash_searches_and_the_result_opens_the_message(browser, world, expect):
    key = await _session(world.client)
    page = await open_page(browser, url=world.url, session_key=key)
    await page.goto(world.url + "/")
    box = page.locator("#site-search")
    await page.keyboard.press("/")
    await expect(box).to_be_focused()
    await page.keyboard.type("heliotrope")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/search/?q=heliotrope")

    # The page's own field takes a "/" as text: the shortcut leaves typing alone.
    field = page.get_by_label("Search for")
    await field.focus()
    await page.keyboard.press("End")
    await page.keyboard.type("/x")
    await expect(field).to_have_value("heliotrope/x")
    await expect(field).to_be_focused()

    result = page.locator(".search-result").first
    await expect(result.locator("mark")).to_have_text("heliotrope")
    # The text around the match is text, never markup.
    await expect(result.locator(".search-snippet b")).to_have_count(0)
    await result.get_by_role("link", name="General").click()
    await page.wait_for_url(f"**/threads/{world.general.public_id}/#seq-{world.first_seq}")
    linked = page.locator(f"#seq-{world.first_seq}")
    await expect(linked).to_be_visible(timeout=20_000)
    await expect(linked).to_be_focused()
    await expect(linked).to_have_class("msg own is-linked")
    await page.context.close()


async def _session(user: User) -> str:
    from asgiref.sync import sync_to_async

    return await sync_to_async(session_key)(user)
