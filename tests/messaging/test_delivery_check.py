"""The hub's check (``messaging.hub``, ``Hub.check``): a subscribed socket that missed a
stored event, with no later event to reveal the gap, gets it replayed from the database,
once and in order."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async

from messaging import events, services
from messaging.hub import running_hub
from tests.messaging.sockets import TIMEOUT, connected
from tests.messaging.test_protocol import general, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def send_unannounced(actor, thread: str, body: str) -> int:
    """Store a message whose push to the sockets is lost."""
    original = events._send
    events._send = lambda group, message: None
    try:
        return services.message_send(
            actor=actor, thread_id=thread, client_id=uuid.uuid4(), body=body
        ).seq
    finally:
        events._send = original


async def test_the_check_replays_what_an_idle_socket_missed_once(people):
    staff, client = people["staff_on_team"], people["client_member"]
    ws, hello = await connected(client)
    try:
        thread = general(hello, "Acme")
        assert await subscribe(ws, thread) == []
        assert await send_unannounced(staff, thread, "lost push") == 1
        assert await send_unannounced(staff, thread, "lost too") == 2
        assert await ws.receive_nothing(timeout=0.3)

        hub = running_hub()
        # Found missing once: maybe only on its way, so not read from the database yet.
        await hub.check()
        assert await ws.receive_nothing(timeout=0.3)
        # Still missing at the next check: replayed.
        await hub.check()
        first = await ws.receive_json_from(timeout=TIMEOUT)
        second = await ws.receive_json_from(timeout=TIMEOUT)
        assert [first["seq"], second["seq"]] == [1, 2]
        assert second["message"]["body"] == "lost too"

        # Checked again with nothing new: nothing is sent twice.
        await hub.check()
        await hub.check()
        assert await ws.receive_nothing(timeout=0.3)
        # And live events go on from there.
        await database_sync_to_async(services.message_send)(
            actor=staff, thread_id=thread, client_id=uuid.uuid4(), body="live"
        )
        live = await ws.receive_json_from(timeout=TIMEOUT)
        assert live["seq"] == 3
        assert await ws.receive_nothing(timeout=0.3)
    finally:
        await ws.disconnect()


async def test_the_check_leaves_a_socket_that_is_up_to_date_alone(people):
    staff, client = people["staff_on_team"], people["client_member"]
    ws, hello = await connected(client)
    try:
        thread = general(hello, "Acme")
        await database_sync_to_async(services.message_send)(
            actor=staff, thread_id=thread, client_id=uuid.uuid4(), body="before"
        )
        replay = await subscribe(ws, thread)
        assert [e["seq"] for e in replay] == [1]
        await running_hub().check()
        await running_hub().check()
        assert await ws.receive_nothing(timeout=0.3)
    finally:
        await ws.disconnect()
