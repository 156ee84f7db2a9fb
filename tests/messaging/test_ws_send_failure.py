"""A socket whose client has gone leaves everything it joined, on any server: when a send to
it fails (Uvicorn raises ``ClientDisconnected``; no ``websocket.disconnect`` may follow,
channels#1466), and when the server ends the consumer without a disconnect. Sockets join no
channel-layer group themselves (the process hub does, once per group, and renews it), so a
missed disconnect leaves no membership behind in the layer either (channels_redis#212)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from config.asgi import application
from messaging import events, presence
from messaging.hub import hub
from messaging.models import Thread
from tests.messaging.sockets import ORIGIN, TIMEOUT, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


class ClientGone(OSError):
    """What a server's ``send`` raises once the client has gone."""


class Failing:
    """The application behind a server whose ``send`` (or, with ``receiving``, ``receive``)
    starts failing when told to."""

    def __init__(self, *, receiving: bool = False) -> None:
        self.failing = False
        self.receiving = receiving

    async def __call__(self, scope, receive, send):
        async def failing_send(message):
            if self.failing and not self.receiving:
                raise ClientGone("the client has gone")
            await send(message)

        async def failing_receive():
            message = await receive()
            if self.failing and self.receiving:
                raise ClientGone("the server gave up on the connection")
            return message

        await application(scope, failing_receive, failing_send)


async def open_socket(user, app) -> WebsocketCommunicator:
    headers = [
        (b"host", b"127.0.0.1"),
        (b"origin", ORIGIN),
        (b"cookie", await session_cookie(user)),
    ]
    ws = WebsocketCommunicator(app, "/ws/", headers=headers)
    ok, _ = await ws.connect(timeout=TIMEOUT)
    assert ok
    assert (await ws.receive_json_from(timeout=TIMEOUT))["type"] == "hello"
    return ws


async def subscribed(ws, thread: str) -> None:
    await ws.send_json_to({"type": "subscribe", "thread": thread})
    while (await ws.receive_json_from(timeout=TIMEOUT))["type"] != "subscribed":
        pass


async def general(account) -> Thread:
    return await Thread.objects.aget(account=account, is_general=True)


def groups_of(user, thread_pk: int) -> tuple[str, str]:
    return events.user_group(user.pk), events.thread_group(thread_pk)


async def assert_gone(user, groups) -> None:
    for group in groups:
        assert not hub().listeners.get(group), group
    assert (await presence.store().statuses([user.pk]))[user.pk] == presence.OFFLINE


async def test_a_failed_answer_leaves_the_hub_and_presence(people, acme):
    member = people["client_member"]
    thread = await general(acme)
    app = Failing()
    ws = await open_socket(member, app)
    await subscribed(ws, thread.public_id)
    groups = groups_of(member, thread.pk)
    assert all(hub().listeners.get(group) for group in groups)

    app.failing = True
    await ws.send_json_to({"type": "ping"})
    with pytest.raises(ClientGone):
        await asyncio.wait_for(ws.future, TIMEOUT)
    await assert_gone(member, groups)


async def test_a_failed_live_event_leaves_at_once_and_quietly(people, acme, caplog):
    member = people["client_member"]
    thread = await general(acme)
    app = Failing()
    ws = await open_socket(member, app)
    await subscribed(ws, thread.public_id)
    groups = groups_of(member, thread.pk)

    app.failing = True
    caplog.set_level(logging.ERROR, logger="messaging.hub")
    await hub().dispatch(
        {
            "type": "hub.user_notice",
            "group": events.user_group(member.pk),
            "notice": {"kind": "read", "thread": thread.public_id, "seq": 1},
        }
    )
    # Gone without waiting for a disconnect the server may never deliver.
    await assert_gone(member, groups)
    assert not caplog.records
    await ws.disconnect()  # the disconnect that may follow finds nothing left to do
    await assert_gone(member, groups)


async def test_a_consumer_ended_without_a_disconnect_leaves_the_layer_group(people, acme):
    member = people["client_member"]
    thread = await general(acme)
    app = Failing(receiving=True)
    ws = await open_socket(member, app)
    await subscribed(ws, thread.public_id)
    groups = groups_of(member, thread.pk)
    layer = get_channel_layer()
    own = getattr(layer, "groups", None)  # the in-memory layer's memberships, if that is it
    if own is not None:
        # One member per group: the process hub's channel, never a socket's.
        assert {channel for group in groups for channel in own.get(group, {})} == {
            hub().transport.channel
        }

    # The consumer ends on an error from the server, no disconnect delivered.
    app.failing = True
    await ws.send_json_to({"type": "ping"})
    with pytest.raises(ClientGone):
        await asyncio.wait_for(ws.future, TIMEOUT)
    await assert_gone(member, groups)
    if own is not None:
        assert not any(own.get(group) for group in groups)
