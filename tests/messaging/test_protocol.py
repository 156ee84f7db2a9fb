"""The core frames of docs/protocol.md, end to end through the ASGI application."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async

from messaging.models import Message, Thread
from tests.messaging.sockets import TIMEOUT, connected

pytestmark = pytest.mark.django_db(transaction=True)


def general(hello: dict, account_name: str) -> str:
    return next(t["id"] for t in hello["threads"] if t["account"]["name"] == account_name)


async def send(ws, thread: str, body: str, client_id: str | None = None) -> dict:
    client_id = client_id or str(uuid.uuid4())
    await ws.send_json_to(
        {"type": "message.send", "thread": thread, "client_id": client_id, "body": body}
    )
    return {"client_id": client_id}


async def receive_types(ws, *types: str) -> dict[str, dict]:
    """Read frames until one of each wanted type has arrived (order among them free)."""
    got: dict[str, dict] = {}
    while set(types) - set(got):
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        assert frame["type"] in types, frame
        got[frame["type"]] = frame
    return got


async def subscribe(ws, thread: str, after: int = 0) -> list[dict]:
    """Subscribe and return the replayed events (everything before ``subscribed``)."""
    await ws.send_json_to({"type": "subscribe", "thread": thread, "after": after})
    replay = []
    while True:
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == "subscribed":
            assert frame["thread"] == thread
            return replay
        replay.append(frame)


async def test_two_people_chat_live_both_ways(people):
    staff, client = people["staff_on_team"], people["client_member"]
    staff_ws, staff_hello = await connected(staff)
    client_ws, client_hello = await connected(client)
    thread = general(client_hello, "Acme")
    assert general(staff_hello, "Acme") == thread
    assert await subscribe(staff_ws, thread) == []
    assert await subscribe(client_ws, thread) == []

    sent = await send(client_ws, thread, "Hello from Acme")
    got = await receive_types(client_ws, "message.ack", "message.new")
    ack = got["message.ack"]
    assert (ack["client_id"], ack["seq"]) == (sent["client_id"], 1)
    new = await staff_ws.receive_json_from(timeout=TIMEOUT)
    assert new["type"] == "message.new"
    assert (new["thread"], new["seq"]) == (thread, 1)
    assert new["message"]["id"] == ack["id"]
    assert new["message"]["body"] == "Hello from Acme"
    assert new["message"]["author"]["id"] == client.public_id
    assert new["message"]["client_id"] == sent["client_id"]

    await send(staff_ws, thread, "Hello back")
    back = await client_ws.receive_json_from(timeout=TIMEOUT)
    assert (back["type"], back["seq"], back["message"]["body"]) == ("message.new", 2, "Hello back")
    await staff_ws.disconnect()
    await client_ws.disconnect()


async def test_the_same_client_id_stores_one_message(people):
    ws, hello = await connected(people["client_member"])
    thread = general(hello, "Acme")
    await subscribe(ws, thread)
    client_id = str(uuid.uuid4())
    await send(ws, thread, "once", client_id)
    first = (await receive_types(ws, "message.ack", "message.new"))["message.ack"]
    await send(ws, thread, "once", client_id)
    second = await ws.receive_json_from(timeout=TIMEOUT)
    assert second["type"] == "message.ack"
    assert (second["id"], second["seq"], second["duplicate"]) == (first["id"], first["seq"], True)
    assert await ws.receive_nothing()
    assert await database_sync_to_async(Message.objects.count)() == 1
    await ws.disconnect()


async def test_reconnect_catches_up_in_order_without_doubles(people):
    staff, client = people["staff_on_team"], people["client_member"]
    client_ws, hello = await connected(client)
    thread = general(hello, "Acme")
    await subscribe(client_ws, thread)
    await send(client_ws, thread, "one")
    await receive_types(client_ws, "message.ack", "message.new")
    seen = 1
    await client_ws.disconnect()

    staff_ws, _ = await connected(staff)
    for body in ("two", "three", "four"):
        await send(staff_ws, thread, body)
        await staff_ws.receive_json_from(timeout=TIMEOUT)

    client_ws, hello = await connected(client)
    summary = next(t for t in hello["threads"] if t["id"] == thread)
    assert (summary["last_seq"], summary["unread"]) == (4, 3)
    replay = await subscribe(client_ws, thread, after=seen)
    assert [(f["seq"], f["message"]["body"]) for f in replay] == [
        (2, "two"),
        (3, "three"),
        (4, "four"),
    ]
    await send(staff_ws, thread, "five")
    live = await client_ws.receive_json_from(timeout=TIMEOUT)
    assert (live["seq"], live["message"]["body"]) == (5, "five")
    assert await client_ws.receive_nothing()
    await client_ws.disconnect()
    await staff_ws.disconnect()


async def test_other_accounts_threads_are_not_found_and_nothing_leaks(people):
    outsider_ws, outsider_hello = await connected(people["other_client"])
    member_ws, member_hello = await connected(people["client_member"])
    acme = general(member_hello, "Acme")
    assert acme not in {t["id"] for t in outsider_hello["threads"]}
    await outsider_ws.send_json_to({"type": "subscribe", "thread": acme, "after": 0, "ref": 7})
    error = await outsider_ws.receive_json_from(timeout=TIMEOUT)
    assert (error["type"], error["code"], error["ref"]) == ("error", "not_found", 7)
    await send(outsider_ws, acme, "sneaky")
    error = await outsider_ws.receive_json_from(timeout=TIMEOUT)
    assert (error["type"], error["code"]) == ("error", "not_found")
    await subscribe(member_ws, acme)
    await send(member_ws, acme, "private to Acme")
    await receive_types(member_ws, "message.ack", "message.new")
    assert await outsider_ws.receive_nothing()
    assert await database_sync_to_async(Message.objects.filter(body="sneaky").exists)() is False
    last_seq = await database_sync_to_async(
        lambda: Thread.objects.values_list("last_seq", flat=True).get(public_id=acme)
    )()
    assert last_seq == 1
    await outsider_ws.disconnect()
    await member_ws.disconnect()


async def test_signing_out_closes_the_sockets_of_that_session_only(people):
    from django.contrib.auth.signals import user_logged_out
    from django.test import RequestFactory

    from messaging.consumers import CLOSE_ACCESS_ENDED
    from tests.messaging.sockets import communicator, session_cookie

    member = people["client_member"]
    cookie = await session_cookie(member)
    ws = communicator(cookie)
    assert (await ws.connect(timeout=TIMEOUT))[0]
    await ws.receive_json_from(timeout=TIMEOUT)
    other_tab, _ = await connected(member)  # another session of the same person

    request = RequestFactory().post("/logout/")

    class Session:
        session_key = cookie.decode().split("=", 1)[1]

    request.session = Session()
    await database_sync_to_async(user_logged_out.send)(
        sender=type(member), request=request, user=member
    )
    error = await ws.receive_json_from(timeout=TIMEOUT)
    assert (error["type"], error["code"]) == ("error", "signed_out")
    assert (await ws.receive_output(timeout=TIMEOUT))["code"] == CLOSE_ACCESS_ENDED
    await other_tab.send_json_to({"type": "ping"})
    assert (await other_tab.receive_json_from(timeout=TIMEOUT))["type"] == "pong"
    await other_tab.disconnect()


async def test_subscribing_beyond_the_end_still_gets_what_comes_next(people):
    ws, hello = await connected(people["client_member"])
    thread = general(hello, "Acme")
    await ws.send_json_to({"type": "subscribe", "thread": thread, "after": 999})
    subscribed = await ws.receive_json_from(timeout=TIMEOUT)
    assert (subscribed["type"], subscribed["last_seq"]) == ("subscribed", 0)
    await send(ws, thread, "first")
    got = await receive_types(ws, "message.ack", "message.new")
    assert got["message.new"]["seq"] == 1
    await ws.disconnect()
