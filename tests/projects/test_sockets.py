"""Plan events over the WebSocket: they reach the readers of the account's thread live, with
the matter's progress; people of other accounts, and for a privileged matter everyone but
its grantees, receive nothing."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from messaging import services as messaging_services
from projects import services
from tests import factories
from tests.messaging.sockets import TIMEOUT, connected

pytestmark = pytest.mark.django_db(transaction=True)


def thread_of(hello: dict, title: str) -> dict:
    return next(t for t in hello["threads"] if t["title"] == title)


async def subscribed(ws, hello: dict, title: str) -> str:
    thread = thread_of(hello, title)
    await ws.send_json_to(
        {"type": "subscribe", "thread": thread["id"], "after": thread["last_seq"]}
    )
    while (await ws.receive_json_from(timeout=TIMEOUT))["type"] != "subscribed":
        pass
    return thread["id"]


async def frames(ws, *types: str) -> dict[str, dict]:
    got: dict[str, dict] = {}
    while set(types) - set(got):
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        if frame["type"] in types:
            got[frame["type"]] = frame
    return got


async def test_a_tick_reaches_the_accounts_readers_only(plan, people):
    member, admin = people["client_member"], people["client_admin"]
    staff, outsider = people["staff_on_team"], people["other_client"]
    ws, hello = await connected(member)
    admin_ws, admin_hello = await connected(admin)
    other_ws, other_hello = await connected(outsider)
    off_ws, off_hello = await connected(people["staff_off_team"])
    general = await subscribed(ws, hello, "General")
    await subscribed(admin_ws, admin_hello, "General")
    await subscribed(other_ws, other_hello, "General")
    await subscribed(off_ws, off_hello, "General")

    await database_sync_to_async(services.task_set_done)(actor=staff, task=plan.mine, done=True)

    got = await frames(ws, "task.done", "notification")
    event = got["task.done"]
    assert event["thread"] == general
    assert event["summary"] == "Sam Staff ticked “Send the logo files”"
    assert event["matter"]["id"] == plan.matter.public_id
    assert event["matter"]["progress"] == 33
    assert event["task"]["id"] == plan.mine.public_id and event["task"]["done"] is True
    assert got["notification"]["kind"] == "task" and got["notification"]["seq"] == event["seq"]
    # The client admin reads General too: the event, but no notification (not theirs).
    admin_event = (await frames(admin_ws, "task.done"))["task.done"]
    assert admin_event["seq"] == event["seq"]
    assert await admin_ws.receive_nothing()
    assert await other_ws.receive_nothing()
    assert await off_ws.receive_nothing()
    for socket in (ws, admin_ws, other_ws, off_ws):
        await socket.disconnect()


async def test_a_privileged_matter_reaches_its_grantees_only(people, acme):
    staff, member, admin = people["staff_on_team"], people["client_member"], people["client_admin"]

    def privileged_plan():
        matter = factories.matter(acme, privileged=True, grants=(staff, member), title="Merger")
        messaging_services.thread_create(
            actor=staff, account=acme, title="Merger talks", matter=matter
        )
        return matter

    matter = await database_sync_to_async(privileged_plan)()
    ws, hello = await connected(member)
    admin_ws, admin_hello = await connected(admin)
    wall = await subscribed(ws, hello, "Merger talks")
    await subscribed(ws, hello, "General")
    await subscribed(admin_ws, admin_hello, "General")
    assert all(t["title"] != "Merger talks" for t in admin_hello["threads"])

    await database_sync_to_async(services.task_add)(
        actor=staff, matter=matter, title="Sign the NDA", assignee="client"
    )

    got = await frames(ws, "task.added", "notification")
    assert got["task.added"]["thread"] == wall
    assert got["task.added"]["matter"]["privileged"] is True
    assert got["task.added"]["task"]["title"] == "Sign the NDA"
    assert await ws.receive_nothing()
    # A client person of the account without the grant: no event, no notification.
    assert await admin_ws.receive_nothing()
    await ws.disconnect()
    await admin_ws.disconnect()
