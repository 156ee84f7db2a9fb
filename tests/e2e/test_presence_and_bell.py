"""Presence dots, the notification bell and muting, in two real browsers against a real
server: a person's dot follows their tabs live, an @mention rings the bell without a reload,
its excerpt is only ever text, reading it clears the badge for good, and muting a
conversation survives a reload."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest

from tests.e2e import test_chat as helpers

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# The same world as the chat tests: Acme, Sam Staff on its team, Alex Acme a client member.
chat = helpers.chat
Chat = helpers.Chat
Person = helpers.Person

XSS = helpers.XSS

HIDE_TAB = """() => {
  Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
  Object.defineProperty(document, "hidden", { value: true, configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW_TAB = """() => {
  delete document.visibilityState;
  delete document.hidden;
  document.dispatchEvent(new Event("visibilitychange"));
}"""


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait (up to 10 s) for something observed outside the page, such as a frame."""
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def _dot(person: Person, user_id: str):
    return person.page.locator(f'.people [data-presence-user="{user_id}"]')


def _bell(person: Person):
    return person.page.locator("[data-bell]")


async def _wait_hello(person: Person, expect) -> None:
    """The bell knows the unread count once the socket's hello has arrived."""
    await expect(_bell(person)).to_have_attribute("data-unread", re.compile(r"^\d+$"))


async def test_presence_follows_the_other_persons_tabs(browser, chat: Chat, expect) -> None:
    staff = await helpers._person(browser, chat, chat.staff)
    await helpers._open_thread(staff, chat.url, chat.general, expect)
    client_id = chat.client.public_id
    dot = _dot(staff, client_id)
    await expect(dot).to_have_attribute("data-status", "offline")
    await expect(dot).to_have_text("offline")
    # One's own dot is there too, and online.
    await expect(_dot(staff, chat.staff.public_id)).to_have_attribute("data-status", "online")

    client = await helpers._person(browser, chat, chat.client)
    await client.page.goto(f"{chat.url}/")  # any signed-in page opens the socket
    await _wait_hello(client, expect)
    await expect(dot).to_have_attribute("data-status", "online")
    await expect(dot).to_have_text("online")
    assert len(client.sockets) == 1
    assert client.sent("presence.subscribe")

    await client.page.evaluate(HIDE_TAB)
    await expect(dot).to_have_attribute("data-status", "away")
    await expect(dot).to_have_text("away")
    assert [f["status"] for _, f in client.sent("presence.set")] == ["away"]
    await client.page.evaluate(SHOW_TAB)
    await expect(dot).to_have_attribute("data-status", "online")

    # The thread page shares the tab's one socket with the bell and the dots.
    before = len(client.sockets)
    await helpers._open_thread(client, chat.url, chat.general, expect)
    await expect(_dot(client, chat.staff.public_id)).to_have_attribute("data-status", "online")
    assert len(client.sockets) == before + 1
    await helpers._send(client, "Morning, all")
    await expect(
        staff.page.locator(f'ol.messages li.msg[data-author="{client_id}"] .presence')
    ).to_have_attribute("data-status", "online")
    await helpers._screenshot(staff, "presence-staff-thread.png")

    await client.context.close()
    await expect(dot).to_have_attribute("data-status", "offline")
    await expect(dot).to_have_text("offline")
    await staff.context.close()


async def test_mention_rings_the_bell_and_reading_clears_it(browser, chat: Chat, expect) -> None:
    staff = await helpers._person(browser, chat, chat.staff)
    client = await helpers._person(browser, chat, chat.client)
    await helpers._open_thread(staff, chat.url, chat.general, expect)
    await client.page.goto(f"{chat.url}/")
    await _wait_hello(client, expect)
    badge = client.page.locator("[data-bell-count]")
    button = client.page.locator("[data-bell-button]")
    await expect(badge).to_be_hidden()
    await expect(button).to_have_attribute("aria-expanded", "false")

    text = f"@{chat.client.name} please look at {XSS} before Friday"
    await helpers._send(staff, text)
    await expect(badge).to_be_visible()
    await expect(badge).to_have_text("1")
    await expect(button).to_have_accessible_name("Notifications, 1 unread")
    assert client.received("notification")
    await helpers._screenshot(client, "bell-badge.png")

    await button.click()
    panel = client.page.locator("[data-bell-panel]")
    await expect(panel).to_be_visible()
    await expect(button).to_have_attribute("aria-expanded", "true")
    item = panel.locator(".bell-item a").first
    await expect(item.locator(".bell-excerpt")).to_have_text(text)
    await expect(item).to_contain_text("Sam Staff")
    await expect(item.locator(".bell-thread")).to_have_text("General")
    assert await panel.locator("img").count() == 0
    assert client.dialogs == []
    href = await item.get_attribute("href")
    assert href is not None
    assert href.startswith(f"/threads/{chat.general.public_id}/#seq-")
    # Opening the list reads what it shows.
    await expect(badge).to_be_hidden()
    await _until(
        lambda: any(f.get("for") == "notification.read" for _, f in client.received("ok")),
        "the server confirmed the notifications read",
    )
    await helpers._screenshot(client, "bell-open.png")

    await client.page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(button).to_be_focused()
    await expect(button).to_have_attribute("aria-expanded", "false")

    await client.page.reload()
    await _wait_hello(client, expect)
    await expect(_bell(client)).to_have_attribute("data-unread", "0")
    await expect(badge).to_be_hidden()

    # On a phone the list spans the screen under the top bar.
    await client.page.set_viewport_size({"width": 390, "height": 800})
    await button.click()
    await expect(panel.locator(".bell-excerpt")).to_have_text(text)
    await helpers._screenshot(client, "bell-mobile.png")
    await client.page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await client.page.set_viewport_size({"width": 1280, "height": 800})

    # The item leads to the message in its conversation.
    await button.click()
    await item.click()
    await expect(client.page).to_have_url(f"{chat.url}{href}")
    await expect(client.page.locator(f"li{href[href.index('#') :]}")).to_be_focused()
    await expect(client.page.locator(f"li{href[href.index('#') :]} .msg-body")).to_have_text(text)
    await expect(badge).to_be_hidden()
    await staff.context.close()
    await client.context.close()


async def test_muting_a_conversation_survives_a_reload(browser, chat: Chat, expect) -> None:
    client = await helpers._person(browser, chat, chat.client)
    await helpers._open_thread(client, chat.url, chat.general, expect)
    box = client.page.get_by_label("Mute e-mail about this conversation")
    await expect(box).not_to_be_checked()

    await box.check()
    await expect(client.page.locator("[data-mute-state]")).to_have_text(
        "No e-mail about new messages here."
    )
    assert [f["muted"] for _, f in client.sent("thread.mute")] == [True]
    await helpers._screenshot(client, "mute-on.png")
    await client.page.reload()
    await expect(box).to_be_checked()

    await helpers._open_thread(client, chat.url, chat.general, expect)
    await box.uncheck()
    await expect(client.page.locator("[data-mute-state]")).to_have_text("")
    await _until(
        lambda: any(
            f.get("for") == "thread.mute" and f.get("muted") is False
            for _, f in client.received("ok")
        ),
        "the server confirmed the unmute",
    )
    await client.page.reload()
    await expect(box).not_to_be_checked()
    await client.context.close()
