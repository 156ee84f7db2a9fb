"""People and team changes reach open sockets at once: a person taken out of an account
loses its threads on every open socket; one taken out of their last account is switched
off and their sockets close; staff taken off a team, or a firm admin made staff, lose the
account; a person switched off on the People page is disconnected. What they said stays,
under their name."""

from __future__ import annotations

import json
import time
from uuid import uuid4

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse

from accounts.services import client_accounts
from messaging import selectors as thread_selectors
from messaging import services as messaging_services
from tests.messaging.sockets import TIMEOUT, connected
from tests.messaging.test_protocol import subscribe
from tests.messaging.test_ws_permissions import general_of

pytestmark = pytest.mark.django_db(transaction=True)

# The access-change log is read about twice a second by every worker.
PROMPT = 1.5


@database_sync_to_async
def as_(actor, method: str, path: str, data: dict | None = None):
    client = Client()
    client.force_login(actor)
    if data is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, json.dumps(data), content_type="application/json")


async def assert_thread_removed(ws, thread_id: str, started: float) -> None:
    frame = await ws.receive_json_from(timeout=TIMEOUT)
    assert frame == {"type": "thread.removed", "thread": thread_id}
    assert time.monotonic() - started < PROMPT
    await ws.send_json_to({"type": "subscribe", "thread": thread_id, "after": 0})
    refused = await ws.receive_json_from(timeout=TIMEOUT)
    assert (refused["type"], refused["code"]) == ("error", "not_found")


async def assert_disconnected(ws) -> None:
    frame = await ws.receive_json_from(timeout=TIMEOUT)
    assert (frame["type"], frame["code"]) == ("error", "access_ended"), frame
    assert await ws.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}


async def test_a_person_taken_out_of_one_of_their_accounts_loses_it_and_keeps_the_other(
    people, acme, globex
):
    member = people["client_member"]
    await database_sync_to_async(client_accounts.membership_add)(
        actor=None, account=globex, user=member
    )
    acme_general = await database_sync_to_async(general_of)(acme)
    globex_general = await database_sync_to_async(general_of)(globex)
    ws, _ = await connected(member)
    await subscribe(ws, acme_general.public_id)
    await subscribe(ws, globex_general.public_id)

    started = time.monotonic()
    path = reverse("api:account_person", args=[acme.public_id, member.public_id])
    response = await as_(people["client_admin"], "delete", path)
    assert response.json() == {"user": member.public_id, "deactivated": False}
    await assert_thread_removed(ws, acme_general.public_id, started)
    # Still in Globex: the socket stays, and Globex's thread with it.
    assert await ws.receive_nothing(timeout=0.5)
    await ws.send_json_to({"type": "subscribe", "thread": globex_general.public_id, "after": 0})
    assert (await ws.receive_json_from(timeout=TIMEOUT))["type"] == "subscribed"
    await ws.disconnect()


async def test_a_client_taken_out_of_their_last_account_is_disconnected_their_words_stay(
    people, acme
):
    member = people["client_member"]
    general = await database_sync_to_async(general_of)(acme)
    await database_sync_to_async(messaging_services.message_send)(
        actor=member, thread_id=general.public_id, body="Thanks, looks good.", client_id=uuid4()
    )
    ws, _ = await connected(member)
    await subscribe(ws, general.public_id)
    second, _ = await connected(member)  # another tab, another session

    path = reverse("api:account_person", args=[acme.public_id, member.public_id])
    response = await as_(people["staff_on_team"], "delete", path)
    assert response.json() == {"user": member.public_id, "deactivated": True}
    await assert_disconnected(ws)
    await assert_disconnected(second)

    # The thread still holds what they said, under their name.
    events = await database_sync_to_async(thread_selectors.events_after)(general, 0)
    said = [json.loads(frame) for _, frame in events if '"message.new"' in frame]
    assert said and "Morgan Member" in json.dumps(said[-1])
    assert "Thanks, looks good." in json.dumps(said[-1])


async def test_staff_taken_off_the_team_lose_the_account_at_once(people, acme):
    sam = people["staff_on_team"]
    general = await database_sync_to_async(general_of)(acme)
    ws, _ = await connected(sam)
    await subscribe(ws, general.public_id)
    started = time.monotonic()
    path = reverse("api:account_team_member", args=[acme.public_id, sam.public_id])
    assert (await as_(people["firm_admin"], "delete", path)).status_code == 204
    await assert_thread_removed(ws, general.public_id, started)
    await ws.disconnect()


async def test_a_firm_admin_made_staff_loses_the_accounts_whose_team_they_are_not_on(
    people, acme, globex
):
    demoted = people["firm_admin"]
    other_admin = await database_sync_to_async(
        lambda: type(demoted).objects.create_user(
            "second@firm.test", name="Second Admin", firm_role="admin"
        )
    )()
    await database_sync_to_async(client_accounts.team_assign)(
        actor=None, account=acme, user=demoted
    )
    acme_general = await database_sync_to_async(general_of)(acme)
    globex_general = await database_sync_to_async(general_of)(globex)
    ws, _ = await connected(demoted)
    await subscribe(ws, acme_general.public_id)
    await subscribe(ws, globex_general.public_id)
    started = time.monotonic()
    client = Client()
    await database_sync_to_async(client.force_login)(other_admin)
    response = await database_sync_to_async(client.post)(
        reverse("frontend:firm_person", args=[demoted.public_id]),
        {"action": "role", "firm_role": "staff"},
    )
    assert response.status_code == 302
    await assert_thread_removed(ws, globex_general.public_id, started)
    assert await ws.receive_nothing(timeout=0.5)  # Acme's team: they keep it
    await ws.disconnect()


async def test_staff_switched_off_on_the_people_page_are_disconnected(people, acme):
    sam = people["staff_on_team"]
    ws, _ = await connected(sam)
    client = Client()
    await database_sync_to_async(client.force_login)(people["firm_admin"])
    response = await database_sync_to_async(client.post)(
        reverse("frontend:firm_person", args=[sam.public_id]),
        {"action": "deactivate", "confirm": "on"},
    )
    assert response.status_code == 302
    await assert_disconnected(ws)
