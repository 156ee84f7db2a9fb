"""Tickets over the WebSocket: a ticket's thread is read by exactly the people who may see
the ticket; a client's ``message.send`` into it moves the ticket to ``waiting_on_firm`` and
the ``ticket.updated`` event reaches its readers live; a send into a closed ticket's thread
is stored but moves nothing (documented in docs/support.md)."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async

from support.models import Ticket
from support.services import ticket_reply, ticket_update
from tests import factories
from tests.factories import ROLES
from tests.messaging.sockets import TIMEOUT, connected
from tests.messaging.test_protocol import subscribe

pytestmark = pytest.mark.django_db(transaction=True)

READERS = {"firm_admin", "staff_on_team", "client_admin", "client_member"}


@database_sync_to_async
def opened(acme, people) -> Ticket:
    return factories.ticket(
        acme, by=people["client_member"], category=factories.category("Help"), subject="VPN"
    )


async def answer(ws, frame: dict) -> dict:
    await ws.send_json_to(frame)
    return await ws.receive_json_from(timeout=TIMEOUT)


def send_frame(thread: str, body: str) -> dict:
    return {
        "type": "message.send",
        "thread": thread,
        "client_id": str(uuid.uuid4()),
        "body": body,
        "ref": "r",
    }


@database_sync_to_async
def status_of(ticket: Ticket) -> str:
    return Ticket.objects.get(pk=ticket.pk).status


@pytest.mark.parametrize("role", ROLES)
async def test_only_those_who_see_the_ticket_read_or_send_into_its_thread(acme, people, role):
    ticket = await opened(acme, people)
    thread = ticket.thread.public_id
    ws, hello = await connected(people[role])
    assert (thread in {t["id"] for t in hello["threads"]}) is (role in READERS)
    if role in READERS:
        replay = await subscribe(ws, thread)
        assert [f["type"] for f in replay] == ["ticket.opened", "message.new"]
    else:
        refused = await answer(ws, {"type": "subscribe", "thread": thread, "after": 0, "ref": "r"})
        assert (refused["type"], refused["code"]) == ("error", "not_found")
        refused = await answer(ws, send_frame(thread, "sneaky"))
        assert (refused["type"], refused["code"]) == ("error", "not_found")
        assert await status_of(ticket) == "open"
    assert await ws.receive_nothing()
    await ws.disconnect()


async def test_a_client_s_send_moves_the_ticket_to_waiting_on_firm_live(acme, people):
    ticket = await opened(acme, people)
    thread = ticket.thread.public_id
    await database_sync_to_async(ticket_reply)(
        actor=people["staff_on_team"], ticket=ticket, body="Which client version?"
    )
    assert await status_of(ticket) == "waiting_on_client"
    staff_ws, _ = await connected(people["staff_on_team"])
    await subscribe(staff_ws, thread)
    client_ws, _ = await connected(people["client_member"])
    await subscribe(client_ws, thread)

    await client_ws.send_json_to(send_frame(thread, "Version 4.2"))
    seen = []
    while "ticket.updated" not in seen:
        frame = await staff_ws.receive_json_from(timeout=TIMEOUT)
        seen.append(frame["type"])
        if frame["type"] == "ticket.updated":
            assert frame["ticket"]["status"] == "waiting_on_firm"
            assert frame["changes"]["status"]["to"] == "waiting_on_firm"
    assert seen == ["message.new", "ticket.updated"]
    assert await status_of(ticket) == "waiting_on_firm"
    await staff_ws.disconnect()
    await client_ws.disconnect()


async def test_a_send_into_a_closed_ticket_s_thread_moves_nothing(acme, people):
    ticket = await opened(acme, people)
    await database_sync_to_async(ticket_update)(
        actor=people["staff_on_team"], ticket=ticket, status="closed"
    )
    ws, _ = await connected(people["client_member"])
    await subscribe(ws, ticket.thread.public_id)
    await ws.send_json_to(send_frame(ticket.thread.public_id, "Hello?"))
    frames = []
    while not await ws.receive_nothing(timeout=0.5):
        frames.append((await ws.receive_json_from(timeout=TIMEOUT))["type"])
    assert "ticket.updated" not in frames
    assert await status_of(ticket) == "closed"
    await ws.disconnect()
