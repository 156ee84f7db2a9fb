"""Overload (``docs/protocol.md``, "Overload"): a socket that sends faster than it is served
gets ``overloaded`` with ``retry_after`` for what it cannot queue, or is closed with 1013 if
it keeps on far beyond that, alone; a worker behind on delivering refuses new sends rather
than acking what it cannot deliver in time."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from messaging import events
from messaging.consumers import connection
from messaging.models import Message
from tests.messaging.sockets import TIMEOUT, connected
from tests.messaging.test_protocol import general, send

pytestmark = pytest.mark.django_db(transaction=True)


async def pings(ws, count: int) -> None:
    # Queued faster than the socket is served: the socket is handed all of them at once.
    for n in range(count):
        await ws.send_json_to({"type": "ping", "ref": n})


async def test_frames_beyond_the_inbound_bound_are_refused_with_retry_after(people):
    ws, _ = await connected(people["client_member"])
    try:
        count = connection.INBOUND_LIMIT * 2
        await pings(ws, count)
        answers = {}
        for _ in range(count):
            frame = await ws.receive_json_from(timeout=TIMEOUT)
            assert frame["ref"] not in answers
            answers[frame["ref"]] = frame
        assert sorted(answers) == list(range(count))
        refused = [r for r, f in answers.items() if f["type"] == "error"]
        assert refused, "nothing was refused"
        for ref in refused:
            assert answers[ref]["code"] == "overloaded"
            assert answers[ref]["retry_after"] == connection.RETRY_AFTER_SECONDS
        assert len(refused) < count and all(
            answers[r]["type"] == "pong" for r in answers if r not in refused
        )
        # Served normally again once caught up.
        await ws.send_json_to({"type": "ping", "ref": "after"})
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "pong", "ref": "after"}
    finally:
        await ws.disconnect()


async def test_a_socket_far_beyond_the_bound_is_closed_alone(people):
    member = people["client_member"]
    flooding, _ = await connected(member)
    other, _ = await connected(member)
    try:
        await pings(flooding, connection.INBOUND_CLOSE_LIMIT + 10)
        while True:
            output = await flooding.receive_output(timeout=TIMEOUT)
            if output["type"] == "websocket.close":
                break
            frame = output.get("text", "")
            assert '"pong"' not in frame
        assert output["code"] == connection.CLOSE_OVERLOADED
        await other.send_json_to({"type": "ping", "ref": 1})
        assert await other.receive_json_from(timeout=TIMEOUT) == {"type": "pong", "ref": 1}
    finally:
        await flooding.disconnect()
        await other.disconnect()


@pytest.mark.parametrize(
    ("module", "limit"),
    [(events, "PUBLISH_BACKLOG_LIMIT"), (connection, "STORING_LIMIT")],
    ids=["publishes waiting", "stores in progress"],
)
async def test_a_worker_behind_refuses_sends_and_stores_nothing(people, monkeypatch, module, limit):
    ws, hello = await connected(people["client_member"])
    try:
        thread = general(hello, "Acme")
        original = getattr(module, limit)
        monkeypatch.setattr(module, limit, -1 if module is events else 0)
        sent = await send(ws, thread, "not now")
        refused = await ws.receive_json_from(timeout=TIMEOUT)
        assert refused["code"] == "overloaded" and refused["ref"] == sent["client_id"]
        assert refused["retry_after"] == connection.RETRY_AFTER_SECONDS
        # What does not store anything is still served.
        await ws.send_json_to({"type": "ping", "ref": 1})
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "pong", "ref": 1}
        assert not await database_sync_to_async(Message.objects.exists)()

        monkeypatch.setattr(module, limit, original)
        await send(ws, thread, "now", client_id=sent["client_id"])
        ack = await ws.receive_json_from(timeout=TIMEOUT)
        assert ack["type"] == "message.ack" and ack["seq"] == 1
        assert ack["client_id"] == sent["client_id"] and ack["duplicate"] is False
    finally:
        await ws.disconnect()
