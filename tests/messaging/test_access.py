"""What a socket remembers of its user's access between frames (``messaging.access``), and
that remembering never lets a frame through that the user's access no longer allows.

A socket asks ``services.thread_for`` once per thread and the user once per connection;
whatever reduces access writes a new stamp for the user, and the next frame after it asks
the database again, with or without the notice.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from guardian.utils import get_user_obj_perms_model

from accounts.services import client_accounts, users
from messaging import access, events, selectors, services
from tests.messaging.sockets import TIMEOUT, connected
from tests.messaging.test_protocol import general, subscribe
from tests.messaging.test_ws_permissions import (
    answer,
    assert_error,
    general_of,
    privileged_thread,
    send_frame,
    stored_state,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def thread_checks(monkeypatch) -> list[str]:
    """The thread ids ``services.thread_for`` was asked about, by anyone."""
    asked: list[str] = []
    real = services.thread_for

    def counting(user, public_id):
        asked.append(public_id)
        return real(user, public_id)

    monkeypatch.setattr(services, "thread_for", counting)
    return asked


@pytest.fixture
def confirmations(monkeypatch) -> list[set[int]]:
    """The thread ids sockets asked ``selectors.visible_thread_ids`` to confirm."""
    asked: list[set[int]] = []
    real = selectors.visible_thread_ids

    def counting(user, thread_ids):
        asked.append(set(thread_ids))
        return real(user, thread_ids)

    monkeypatch.setattr(selectors, "visible_thread_ids", counting)
    return asked


@pytest.fixture
def lost_notices(monkeypatch):
    """Notices are lost and the worker does not read the access-change log: the stamp and
    the check before each frame are what is tested here."""
    monkeypatch.setattr(events, "publish_user_notice", lambda **kwargs: None)
    monkeypatch.setattr(access, "POLL_SECONDS", 3600.0)


async def acked(ws, thread: str) -> dict:
    """Send on a subscribed socket; returns the ack once the socket's own copy came too."""
    frame = send_frame(thread)
    await ws.send_json_to(frame)
    got = {}
    while len(got) < 2:
        reply = await ws.receive_json_from(timeout=TIMEOUT)
        assert reply["type"] in ("message.ack", "message.new"), reply
        got[reply["type"]] = reply
    assert got["message.new"]["message"]["client_id"] == frame["client_id"]
    return got["message.ack"]


async def test_threads_listed_in_hello_are_not_checked_again_until_access_changes(
    people, acme, thread_checks, confirmations, lost_notices
):
    member = people["client_member"]
    ws, hello = await connected(member)
    thread = general(hello, "Acme")
    await subscribe(ws, thread)
    for _ in range(3):
        await acked(ws, thread)
    assert (await answer(ws, {"type": "history", "thread": thread}))["type"] == "history"
    assert thread_checks == []  # hello already said the member may read it
    assert confirmations == []

    # Access reduced (here: of another thread of theirs), notice lost: the stamp changed, so
    # the next frame confirms what the socket remembers, in one query, and goes on.
    walled = await database_sync_to_async(privileged_thread)(acme, "Walled")
    await database_sync_to_async(services.thread_grant)(actor=None, thread=walled, user=member)
    await database_sync_to_async(services.thread_revoke)(actor=None, thread=walled, user=member)
    await acked(ws, thread)
    await acked(ws, thread)
    assert len(confirmations) == 1
    assert thread_checks == []
    await ws.disconnect()


async def test_a_thread_opened_after_hello_is_checked_once_then_remembered(
    people, acme, thread_checks
):
    staff = people["staff_on_team"]
    ws, _ = await connected(staff)
    later = await database_sync_to_async(services.thread_create)(
        actor=staff, account=acme, title="Opened later"
    )
    await subscribe(ws, later.public_id)
    await acked(ws, later.public_id)
    await acked(ws, later.public_id)
    assert thread_checks == [later.public_id]
    await ws.disconnect()


async def test_a_refused_thread_is_not_remembered(people, globex, thread_checks):
    member = people["client_member"]
    foreign = await database_sync_to_async(general_of)(globex)
    ws, _ = await connected(member)
    for _ in range(2):
        await assert_error(ws, send_frame(foreign.public_id), "not_found")
    assert thread_checks == [foreign.public_id, foreign.public_id]
    await ws.disconnect()


async def test_the_remembered_user_is_checked_again_after_deactivation_without_the_notice(
    people, acme, lost_notices
):
    member = people["client_member"]
    ws, hello = await connected(member)
    thread = general(hello, "Acme")
    await subscribe(ws, thread)
    await acked(ws, thread)
    await database_sync_to_async(users.user_deactivate)(user=member)
    before = await stored_state()
    await assert_error(ws, send_frame(thread), "access_ended")
    assert await ws.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
    assert await stored_state() == before


async def test_a_change_around_the_application_is_noticed_once_the_answers_expire(
    people, acme, monkeypatch
):
    """A grant removed in SQL (no signal, no note, no stamp) holds only until the remembered
    answers expire; then the next frame is checked against the database."""
    member = people["client_member"]
    walled = await database_sync_to_async(privileged_thread)(acme, "Walled")
    await database_sync_to_async(services.thread_grant)(actor=None, thread=walled, user=member)
    monkeypatch.setattr(access, "MAX_AGE_SECONDS", 0.0)  # every answer expires at once
    monkeypatch.setattr(access, "POLL_SECONDS", 3600.0)  # and the worker does not look
    ws, _ = await connected(member)
    await subscribe(ws, walled.public_id)
    await acked(ws, walled.public_id)

    table = connection.ops.quote_name(get_user_obj_perms_model()._meta.db_table)

    def delete_in_sql() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE user_id = %s", [member.pk])  # noqa: S608

    await database_sync_to_async(delete_in_sql)()
    await assert_error(ws, send_frame(walled.public_id), "not_found")
    await ws.disconnect()


async def test_membership_removed_reaches_every_tab_and_refuses_their_next_frames(
    people, acme, lost_notices
):
    member = people["client_member"]
    tabs = [await connected(member) for _ in range(2)]
    thread = general(tabs[0][1], "Acme")
    for ws, _ in tabs:
        await subscribe(ws, thread)
    await database_sync_to_async(client_accounts.membership_remove)(
        actor=None, account=acme, user=member
    )
    for ws, _ in tabs:
        await assert_error(ws, send_frame(thread), "not_found")
        await assert_error(ws, {"type": "subscribe", "thread": thread}, "not_found")
        await ws.disconnect()


def test_a_stamp_changes_with_every_reduction(db):
    async def read(user_id: int) -> str | None:
        return await access.stamp_of(user_id)

    from asgiref.sync import async_to_sync

    user_id = 10_000 + uuid.uuid4().int % 1000
    first = async_to_sync(read)(user_id)
    access.stamps_bump([user_id])
    second = async_to_sync(read)(user_id)
    access.stamps_bump([user_id])
    third = async_to_sync(read)(user_id)
    assert len({first, second, third}) == 3
    assert second is not None and third is not None


async def test_a_user_switched_off_by_a_plain_save_is_refused_at_the_next_frame(
    people, acme, lost_notices, monkeypatch
):
    """Not through ``user_deactivate``: the admin saves the user inactive. With the notice
    lost and before the worker reads the access-change log, the stamp refuses the next
    frame."""
    monkeypatch.setattr(access, "POLL_SECONDS", 3600.0)
    member = people["client_member"]
    ws, hello = await connected(member)
    thread = general(hello, "Acme")
    await subscribe(ws, thread)
    await acked(ws, thread)

    def switch_off() -> None:
        member.is_active = False
        member.save()

    await database_sync_to_async(switch_off)()
    await assert_error(ws, send_frame(thread), "access_ended")
    assert await ws.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}


async def test_an_unreadable_stamp_makes_every_frame_confirm(people, monkeypatch, confirmations):
    member = people["client_member"]
    ws, hello = await connected(member)
    thread = general(hello, "Acme")
    await subscribe(ws, thread)

    async def unreadable(user_id):
        return access.UNREADABLE

    monkeypatch.setattr(access, "stamp_of", unreadable)
    before = len(confirmations)
    await acked(ws, thread)
    await acked(ws, thread)
    assert len(confirmations) == before + 2
    await ws.disconnect()


async def test_unreadable_stamps_are_logged_once_per_outage(monkeypatch, caplog):
    """While Redis is away every frame reads a stamp: one warning for the outage, one line
    when it is back, not a line per frame."""
    down = True

    class Flaky:
        async def get(self, key):
            if down:
                raise ConnectionError("Redis is not answering")
            return b"stamp"

    monkeypatch.setattr(access.redis_clients, "configured", lambda: True)
    monkeypatch.setattr(access.redis_clients, "async_client", Flaky)
    monkeypatch.setattr(access, "_stamps_unreadable", False)
    with caplog.at_level(logging.INFO, logger=access.log.name):
        for user_id in range(20):
            assert await access.stamp_of(user_id) is access.UNREADABLE
        down = False
        assert await access.stamp_of(1) == "stamp"
        assert await access.stamp_of(2) == "stamp"
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("access stamps unreadable")
    assert lines[1] == "access stamps readable again"
