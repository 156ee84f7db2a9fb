"""Pages that stay true while open, in a real browser against a real server: a matter's status
changed by someone else shows at once on the matter page, the account page, in the thread it
is recorded in and in the bell; and a conversation left a long way behind gets the newest
events on reconnecting and pages back to the rest with "Load earlier messages"."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async

from accounts.models import ClientAccount, Matter, User
from accounts.services.matters import matter_set_status
from messaging import services as messaging
from messaging import timeline
from messaging.consumers.threads import REPLAY_LIMIT
from messaging.models import Thread
from tests import factories
from tests.e2e.pages import open_page, session_key
from tests.vault.helpers import sealed_upload
from vault import services as vault

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@dataclass
class World:
    url: str
    acme: ClientAccount
    general: Thread
    matter: Matter
    staff: User
    client: User
    client_session: str
    staff_session: str


@pytest.fixture
def world(live_portal: str) -> World:
    acme = factories.account("Acme Shipping")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    client = factories.client(acme, name="Alex Acme")
    matter = factories.matter(acme, title="Harbour lease renewal")
    return World(
        url=live_portal,
        acme=acme,
        general=Thread.objects.get(account=acme, is_general=True),
        matter=matter,
        staff=staff,
        client=client,
        client_session=session_key(client),
        staff_session=session_key(staff),
    )


async def _signed_in(browser, world: World, path: str, expect, *, session: str = ""):
    page = await open_page(browser, url=world.url, session_key=session or world.client_session)
    await page.goto(f"{world.url}{path}")
    return page


async def test_a_status_change_shows_on_every_open_page(browser, world: World, expect) -> None:
    matter_page = await _signed_in(browser, world, f"/matters/{world.matter.public_id}/", expect)
    account_page = await matter_page.context.new_page()
    await account_page.goto(f"{world.url}/clients/{world.acme.public_id}/")
    thread_page = await matter_page.context.new_page()
    await thread_page.goto(f"{world.url}/threads/{world.general.public_id}/")
    await expect(thread_page.locator("[data-chat]")).to_have_attribute("data-live", "true")
    on_matter = matter_page.locator(f'[data-matter-status="{world.matter.public_id}"]')
    on_account = account_page.locator(f'[data-matter-status="{world.matter.public_id}"]')
    await expect(on_matter).to_have_text("Planned")
    await expect(on_account).to_have_text("Planned")
    for page in (matter_page, account_page):
        await expect(page.locator("[data-bell]")).to_have_attribute("data-unread", "0")

    # Someone on the account team changes it, in their own browser.
    staff_page = await _signed_in(
        browser, world, f"/matters/{world.matter.public_id}/", expect, session=world.staff_session
    )
    await staff_page.get_by_label("Status").select_option("waiting_on_client")
    await staff_page.get_by_role("button", name="Update").click()
    await expect(
        staff_page.locator(f'[data-matter-status="{world.matter.public_id}"]')
    ).to_have_text("Waiting on client")
    await expect(on_matter).to_have_text("Waiting on client")
    await expect(on_matter).to_have_attribute("data-status", "waiting_on_client")
    await expect(matter_page.locator("[data-matter-updated]")).to_contain_text("Sam Staff")
    await expect(on_account).to_have_text("Waiting on client")
    notice = thread_page.locator("li.notice-status")
    await expect(notice).to_contain_text("Sam Staff set Harbour lease renewal to Waiting on client")
    await expect(notice.get_by_role("link", name="Harbour lease renewal")).to_have_attribute(
        "href", f"/matters/{world.matter.public_id}/"
    )
    # The bell says what happened, not that someone mentioned you.
    bell = thread_page.locator("[data-bell]")
    await expect(bell).to_have_attribute("data-unread", "1")
    await bell.locator("[data-bell-button]").click()
    item = bell.locator(".bell-item").first
    await expect(item).to_contain_text("Sam Staff changed the matter status in General")
    await expect(item).to_contain_text("set Harbour lease renewal to Waiting on client")
    await expect(item).not_to_contain_text("mentioned")
    await matter_page.context.close()
    await staff_page.context.close()


def _post_many(author: User, thread: Thread, count: int) -> None:
    for n in range(1, count + 1):
        messaging.message_send(
            actor=author, thread_id=thread.public_id, client_id=uuid.uuid4(), body=f"Update {n}"
        )


async def test_far_behind_a_conversation_replays_the_newest_and_pages_back(
    browser, world: World, expect
) -> None:
    await sync_to_async(_post_many)(world.staff, world.general, 3)
    page = await _signed_in(browser, world, f"/threads/{world.general.public_id}/", expect)
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload)))
    confirmed = page.locator("ol.messages li.msg[data-seq] .msg-body")
    await expect(page.locator("[data-chat]")).to_have_attribute("data-live", "true")
    await expect(confirmed).to_have_count(3)

    # Offline while more than a replay's worth is written.
    await page.context.set_offline(True)
    await expect(page.locator(".conn-status")).to_have_attribute("data-connection", "offline")
    missed = REPLAY_LIMIT + 60
    await sync_to_async(_post_many)(world.staff, world.general, missed)
    await page.context.set_offline(False)
    await expect(page.locator(".conn-status")).to_have_attribute("data-connection", "open")

    # The newest REPLAY_LIMIT arrive, each once and in order; the older page is gone, and the
    # way back to it is the "earlier messages" button.
    await expect(confirmed).to_have_count(REPLAY_LIMIT)
    await expect(confirmed.last).to_have_text(f"Update {missed}")
    await expect(confirmed.first).to_have_text(f"Update {missed - REPLAY_LIMIT + 1}")
    earlier = page.locator("[data-load-earlier]")
    await expect(earlier).to_be_visible()
    assert any('"truncated":true' in f.replace(" ", "") for f in frames)

    await earlier.click()
    await expect(confirmed).to_have_count(REPLAY_LIMIT + 50)
    await expect(confirmed.first).to_have_text(f"Update {missed - REPLAY_LIMIT - 49}")
    seqs = await page.eval_on_selector_all(
        "ol.messages li.msg[data-seq]", "items => items.map(i => Number(i.dataset.seq))"
    )
    assert seqs == sorted(set(seqs))
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    await page.context.close()


def _add_document(world: World, title: str) -> None:
    vault.document_create(
        actor=world.staff,
        account=world.acme,
        upload=sealed_upload(b"agenda\n", "agenda.txt", content_type="text/plain"),
        title=title,
    )


def _append_unrendered(world: World) -> None:
    """An event of a type no renderer module draws (an app's, say, whose module failed)."""
    timeline.register(UNDRAWN)
    try:
        timeline.append(thread=world.general, event_type=UNDRAWN, payload={"n": 1})
    finally:
        timeline.unregister(UNDRAWN)


UNDRAWN = timeline.EventType("test.undrawn")


async def test_timeline_events_are_drawn_by_their_apps_renderers_live_and_after_a_reload(
    browser, world: World, expect
) -> None:
    """document.added is drawn by the vault's module, matter.status by messaging's, both
    loaded by the thread page from the list it is given; an event nothing draws is skipped
    and the conversation goes on."""
    path = f"/threads/{world.general.public_id}/"
    page = await _signed_in(browser, world, path, expect)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    await expect(page.locator("[data-chat]")).to_have_attribute("data-live", "true")

    await sync_to_async(_add_document)(world, "Kick-off agenda")
    await sync_to_async(matter_set_status)(
        actor=world.staff, matter=world.matter, status="in_progress"
    )
    await sync_to_async(_append_unrendered)(world)
    await sync_to_async(_post_many)(world.staff, world.general, 1)

    document = page.locator("li.notice-document")
    status = page.locator("li.notice-status")
    await expect(page.locator("ol.messages li.msg .msg-body")).to_have_text(["Update 1"])
    for at in ("live", "after a reload"):
        await expect(document).to_contain_text("Sam Staff added Kick-off agenda", timeout=10_000)
        await expect(document.get_by_role("link", name="Kick-off agenda")).to_be_visible()
        await expect(status).to_contain_text(
            "Sam Staff set Harbour lease renewal to In progress (was Planned)"
        )
        await expect(status.locator(".chip--info")).to_have_text("In progress")
        # Numbered in order, the undrawn event's number left out, the message after it shown.
        seqs = await page.eval_on_selector_all(
            "ol.messages li.msg[data-seq]", "items => items.map(i => Number(i.dataset.seq))"
        )
        assert len(seqs) == 3 and seqs == sorted(seqs), (at, seqs)
        assert seqs[2] - seqs[1] == 2, (at, seqs)
        if at == "live":
            await page.reload()
            await expect(page.locator("[data-chat]")).to_have_attribute("data-live", "true")
    assert problems == []
    await page.context.close()
