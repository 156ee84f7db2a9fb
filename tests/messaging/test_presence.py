"""Presence: online / away / offline of the people a user may see, across several tabs."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from accounts.services import client_accounts
from messaging import events, presence
from tests import factories
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


# --- one publication per account, fanned out by each worker's hub --------------------------


@pytest.fixture
def publications(monkeypatch) -> list[dict]:
    """Every presence publication, as it goes to the layer."""
    recorded: list[dict] = []
    real = events.publish_presence

    def recording(*, account_ids, notice):
        recorded.append({"accounts": sorted(account_ids), **notice})
        real(account_ids=account_ids, notice=notice)

    monkeypatch.setattr(events, "publish_presence", recording)
    return recorded


async def test_a_change_is_published_once_per_account_not_once_per_watcher(
    people, acme, publications
):
    watchers = [await connected(people[role]) for role in ("staff_on_team", "client_admin")]
    for ws, _ in watchers:
        await watch(ws)
    publications.clear()  # the watchers' own arrivals

    member = people["client_member"]
    tab1, _ = await connected(member)
    for ws, _ in watchers:
        assert await next_status(ws) == (member.public_id, "online")
    tab2, _ = await connected(member)  # no change: nothing published
    await tab1.disconnect()
    await tab2.disconnect()
    for ws, _ in watchers:
        assert await next_status(ws) == (member.public_id, "offline")
        await ws.disconnect()
    of_member = [p for p in publications if p["user"] == member.public_id]
    assert [(p["status"], p["accounts"]) for p in of_member] == [
        ("online", [acme.pk]),
        ("offline", [acme.pk]),
    ]


async def test_someone_in_two_watched_accounts_is_announced_once(people, acme, globex):
    both = await database_sync_to_async(factories.staff)(accounts=(acme, globex), name="Bea Both")
    admin_ws, _ = await connected(people["firm_admin"])  # sees every account
    assert (await watch(admin_ws))[both.public_id] == "offline"
    ws, _ = await connected(both)
    assert await next_status(admin_ws) == (both.public_id, "online")
    assert await admin_ws.receive_nothing()  # not again through the second account
    await ws.disconnect()
    assert await next_status(admin_ws) == (both.public_id, "offline")
    assert await admin_ws.receive_nothing()
    await admin_ws.disconnect()


async def test_a_watcher_who_loses_an_account_stops_hearing_its_people(people, acme):
    member, staff = people["client_member"], people["staff_on_team"]
    member_ws, _ = await connected(member)
    await watch(member_ws)
    staff_ws, _ = await connected(staff)
    assert await next_status(member_ws) == (staff.public_id, "online")

    await database_sync_to_async(client_accounts.membership_remove)(
        actor=None, account=acme, user=member
    )
    await staff_ws.disconnect()
    assert await member_ws.receive_nothing()
    assert await member_ws.receive_nothing()
    await member_ws.disconnect()


async def test_own_changes_are_not_sent_to_ones_own_watching_tabs(people):
    member = people["client_member"]
    watching, _ = await connected(member)
    snapshot = await watch(watching)
    assert member.public_id not in snapshot
    other_tab, _ = await connected(member)
    await set_status(watching, "away")
    await set_status(other_tab, "away")
    assert await watching.receive_nothing()
    await other_tab.disconnect()
    await watching.disconnect()


async def test_without_the_notice_a_watcher_who_lost_an_account_stops_at_its_next_frame(
    people, acme, monkeypatch
):
    monkeypatch.setattr(events, "publish_user_notice", lambda **kwargs: None)
    member, staff = people["client_member"], people["staff_on_team"]
    member_ws, _ = await connected(member)
    await watch(member_ws)
    await database_sync_to_async(client_accounts.membership_remove)(
        actor=None, account=acme, user=member
    )
    await member_ws.send_json_to({"type": "ping"})
    assert (await member_ws.receive_json_from(timeout=TIMEOUT))["type"] == "pong"
    staff_ws, _ = await connected(staff)
    assert await member_ws.receive_nothing()
    await staff_ws.disconnect()
    await member_ws.disconnect()


async def test_what_waited_through_a_recheck_is_never_overtaken(people, acme, monkeypatch):
    """Live events wait while a socket's access is re-checked, then go out in the order they
    came: one that arrives while the waiting ones are still going out queues behind them.
    (Otherwise "offline" overtook "away" and the person stayed away on every screen.)"""
    from messaging.hub import running_hub

    staff, client = people["staff_on_team"], people["client_member"]
    ws, _ = await connected(staff)
    await watch(ws)
    [consumer] = [c for c in running_hub().groups_of if getattr(c, "user", None) == staff]
    group = events.presence_group(acme.pk)

    def notice(status: str) -> dict:
        user = {"user": client.public_id, "user_pk": client.pk, "status": status}
        return {"type": "hub.presence", "group": group, "notice": user}

    recheck_may_end = asyncio.Event()
    real_recheck = consumer._recheck

    async def held_recheck() -> bool:
        await recheck_may_end.wait()
        return await real_recheck()

    monkeypatch.setattr(consumer, "_recheck", held_recheck)
    real_send, slowed = consumer.send, []

    async def slow_first_send(*args, **kwargs):
        if not slowed:
            slowed.append(True)
            await asyncio.sleep(0.2)  # the first waiting event takes its time going out
        await real_send(*args, **kwargs)

    monkeypatch.setattr(consumer, "send", slow_first_send)

    consumer.access_changed()
    await consumer.hub_message(notice("away"))  # waits for the re-check
    recheck_may_end.set()
    await asyncio.sleep(0.05)  # the re-check is done; "away" is on its way out
    await consumer.hub_message(notice("offline"))
    assert await next_status(ws) == (client.public_id, "away")
    assert await next_status(ws) == (client.public_id, "offline")
    await ws.disconnect()


async def test_synchronous_code_reads_the_same_statuses(people):
    """``statuses_now`` (routing a ticket reads it from a service) answers what a socket's
    presence says, from whichever store the sockets use."""
    staff, member = people["staff_on_team"], people["client_member"]
    ws, _ = await connected(member)
    read = database_sync_to_async(presence.statuses_now)
    assert await read([member.pk, staff.pk]) == {member.pk: "online", staff.pk: "offline"}
    await ws.send_json_to({"type": "presence.set", "status": "away", "ref": "s"})
    assert (await ws.receive_json_from(timeout=TIMEOUT))["type"] == "ok"
    assert (await read([member.pk]))[member.pk] == "away"
    await ws.disconnect()
    assert (await read([member.pk]))[member.pk] == "offline"
    assert await read([]) == {}


def test_synchronous_reads_are_offline_while_redis_fails(monkeypatch):
    import redis
    from django.test import override_settings

    from messaging import redis_clients

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    monkeypatch.setattr(redis_clients, "sync_client", lambda: dead)
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        assert presence.statuses_now([1, 2]) == {1: "offline", 2: "offline"}
