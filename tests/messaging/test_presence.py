"""Presence: online / away / offline of the people a user may see, across several tabs."""

from __future__ import annotations

import pytest

from messaging import presence
from tests.messaging.sockets import TIMEOUT, connected

pytestmark = pytest.mark.django_db(transaction=True)


def _clear(settings) -> None:
    presence._memory.entries.clear()
    if settings.REDIS_URL:  # the PostgreSQL + Redis pass keeps presence in Redis
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter("atrium:presence:*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(autouse=True)
def _empty_presence(settings):
    _clear(settings)
    yield
    _clear(settings)


async def watch(ws) -> dict[str, str]:
    await ws.send_json_to({"type": "presence.subscribe", "ref": "p"})
    snapshot = await ws.receive_json_from(timeout=TIMEOUT)
    assert (snapshot["type"], snapshot["ref"]) == ("presence", "p")
    return {u["id"]: u["status"] for u in snapshot["users"]}


async def next_status(ws) -> tuple[str, str]:
    frame = await ws.receive_json_from(timeout=TIMEOUT)
    assert frame["type"] == "presence", frame
    [user] = frame["users"]
    return user["id"], user["status"]


async def set_status(ws, status: str) -> None:
    await ws.send_json_to({"type": "presence.set", "status": status})
    ok = await ws.receive_json_from(timeout=TIMEOUT)
    assert (ok["type"], ok["for"], ok["status"]) == ("ok", "presence.set", status)


async def test_staff_sees_a_client_come_go_and_step_away_across_tabs(people):
    staff, client = people["staff_on_team"], people["client_member"]
    staff_ws, _ = await connected(staff)
    snapshot = await watch(staff_ws)
    assert snapshot[client.public_id] == "offline"
    assert people["other_client"].public_id not in snapshot

    tab1, _ = await connected(client)
    assert await next_status(staff_ws) == (client.public_id, "online")
    tab2, _ = await connected(client)
    await set_status(tab1, "away")
    assert await staff_ws.receive_nothing()  # the other tab is still active
    await set_status(tab2, "away")
    assert await next_status(staff_ws) == (client.public_id, "away")
    await set_status(tab2, "online")
    assert await next_status(staff_ws) == (client.public_id, "online")
    await tab2.disconnect()
    assert await next_status(staff_ws) == (client.public_id, "away")
    await tab1.disconnect()
    assert await next_status(staff_ws) == (client.public_id, "offline")
    await staff_ws.disconnect()


async def test_presence_does_not_cross_accounts(people):
    outsider_ws, _ = await connected(people["other_client"])
    snapshot = await watch(outsider_ws)
    member = people["client_member"]
    assert member.public_id not in snapshot
    member_ws, _ = await connected(member)
    assert await outsider_ws.receive_nothing()
    await member_ws.disconnect()
    await outsider_ws.disconnect()


async def test_without_presence_subscribe_no_presence_frames_arrive(people):
    staff_ws, _ = await connected(people["staff_on_team"])
    client_ws, _ = await connected(people["client_member"])
    assert await staff_ws.receive_nothing()
    await client_ws.disconnect()
    await staff_ws.disconnect()


async def test_a_bad_status_is_refused(people):
    ws, _ = await connected(people["client_member"])
    await ws.send_json_to({"type": "presence.set", "status": "invisible", "ref": 1})
    error = await ws.receive_json_from(timeout=TIMEOUT)
    assert (error["type"], error["code"], error["ref"]) == ("error", "bad_field", 1)
    await ws.disconnect()


async def test_expired_entries_of_a_dead_worker_count_as_offline():
    store = presence.MemoryStore()
    await store.put(1, "socket-a", "online")
    assert (await store.statuses([1])) == {1: "online"}
    store.entries[1]["socket-a"] = ("online", 0.0)
    assert (await store.statuses([1])) == {1: "offline"}
