"""Presence and access changes with two real workers: a person's presence is published once
per client account and each worker's hub hands it to its own watching sockets; tabs on
different workers count together; an access change made in one process refuses the next
frame on a socket of any worker, and access or a session that ends in another process ends
passive sockets on every worker within a second.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.db import connection
from websockets.exceptions import ConnectionClosed

from accounts.models import ClientAccount, User
from accounts.services import client_accounts
from tests.scaleout.conftest import Scene, Workers, session_cookie
from tests.scaleout.test_two_workers import LIMIT, Socket

pytestmark = pytest.mark.services

# The promise is one second; the bound leaves room for a busy test machine.
PROMPT = 1.5


async def watch(socket: Socket) -> dict[str, str]:
    await socket.ws.send(json.dumps({"type": "presence.subscribe", "ref": "p"}))
    snapshot = await socket.until_frame(
        lambda f: f["type"] == "presence" and f.get("ref") == "p", "presence snapshot"
    )
    return {u["id"]: u["status"] for u in snapshot["users"]}


async def next_status(socket: Socket) -> tuple[str, str]:
    frame = await socket.until_frame(lambda f: f["type"] == "presence", "presence")
    [user] = frame["users"]
    return user["id"], user["status"]


async def nothing_more(socket: Socket, seconds: float = 1.0) -> None:
    try:
        async with asyncio.timeout(seconds):
            frame = json.loads(await socket.ws.recv())
    except TimeoutError:
        return
    raise AssertionError(f"{socket.name} got {frame}")


@sync_to_async
def public_ids(scene: Scene) -> tuple[str, str]:
    try:
        staff = User.objects.get(pk=scene.staff_pk)
        member = User.objects.exclude(pk=scene.staff_pk).get(memberships__isnull=False)
        return staff.public_id, member.public_id
    finally:
        connection.close()


@sync_to_async
def remove_the_member(scene: Scene) -> None:
    try:
        member = User.objects.exclude(pk=scene.staff_pk).get(memberships__isnull=False)
        account = ClientAccount.objects.get(threads__public_id=scene.thread)
        client_accounts.membership_remove(actor=None, account=account, user=member)
    finally:
        connection.close()


async def test_presence_of_tabs_on_both_workers_reaches_a_watcher_on_either(
    scene: Scene, workers: Workers
):
    a, b = workers
    _, member_id = await public_ids(scene)
    watcher = await Socket.open("staff@A", a, scene.staff)
    tabs: list[Socket] = []
    try:
        assert (await watch(watcher))[member_id] == "offline"
        tabs.append(await Socket.open("member@B", b, scene.member))
        assert await next_status(watcher) == (member_id, "online")
        tabs.append(await Socket.open("member@A", a, scene.member))
        await tabs[0].close()  # still online through the tab on A
        await nothing_more(watcher)
        await tabs[1].close()
        assert await next_status(watcher) == (member_id, "offline")
        await nothing_more(watcher)
    finally:
        for socket in (watcher, *tabs):
            await socket.close()


async def test_losing_access_in_another_process_refuses_the_next_frame_on_any_worker(
    scene: Scene, workers: Workers
):
    a, b = workers
    member = await Socket.open("member@B", b, scene.member)
    writer = await Socket.open("staff@A", a, scene.staff)
    try:
        await member.subscribe(scene.thread)
        await writer.subscribe(scene.thread)
        await member.until_acked([await member.send_message(scene.thread, "before")])
        await writer.until_seq(1)

        await remove_the_member(scene)
        removed = await member.until_frame(lambda f: f["type"] == "thread.removed", "removal")
        assert removed["thread"] == scene.thread
        await member.ws.send(
            json.dumps(
                {
                    "type": "message.send",
                    "thread": scene.thread,
                    "client_id": str(uuid.uuid4()),
                    "body": "after",
                }
            )
        )
        async with asyncio.timeout(LIMIT):
            refusal = json.loads(await member.ws.recv())
        assert (refusal["type"], refusal["code"]) == ("error", "not_found")
        await nothing_more(writer)
    finally:
        await member.close()
        await writer.close()


@sync_to_async
def switch_off_the_member(scene: Scene) -> None:
    """As the admin or a shell would: a plain save, no service."""
    try:
        member = User.objects.exclude(pk=scene.staff_pk).get(memberships__isnull=False)
        member.is_active = False
        member.save()
    finally:
        connection.close()


@sync_to_async
def delete_the_session(cookie: str) -> None:
    try:
        deleted, _ = Session.objects.filter(session_key=cookie.split("=", 1)[1]).delete()
        assert deleted == 1
    finally:
        connection.close()


async def ended(socket: Socket, code: str, within: float = PROMPT) -> None:
    """An ``error`` with ``code``, then the 4403 close, within ``within`` seconds."""
    async with asyncio.timeout(within):
        error = json.loads(await socket.ws.recv())
        with pytest.raises(ConnectionClosed):
            await socket.ws.recv()
    assert (error["type"], error["code"]) == ("error", code), error
    assert socket.ws.close_code == 4403


async def test_a_user_switched_off_by_a_plain_save_loses_passive_sockets_on_every_worker(
    scene: Scene, workers: Workers
):
    a, b = workers
    tabs = [await Socket.open("member@A", a, scene.member)]
    tabs.append(await Socket.open("member@B", b, scene.member))
    staff = await Socket.open("staff@A", a, scene.staff)
    try:
        await switch_off_the_member(scene)
        for tab in tabs:
            await ended(tab, "access_ended")
        await nothing_more(staff)
    finally:
        for socket in (*tabs, staff):
            await socket.close()


async def test_a_deleted_session_ends_its_passive_sockets_on_every_worker(
    scene: Scene, workers: Workers
):
    a, b = workers
    other_session = await sync_to_async(other_session_of_the_member)(scene)
    tabs = [await Socket.open("member@A", a, scene.member)]
    tabs.append(await Socket.open("member@B", b, scene.member))
    elsewhere = await Socket.open("member-elsewhere@B", b, other_session)
    try:
        await delete_the_session(scene.member)
        for tab in tabs:
            await ended(tab, "signed_out")
        await nothing_more(elsewhere)
    finally:
        for socket in (*tabs, elsewhere):
            await socket.close()


def other_session_of_the_member(scene: Scene) -> str:
    try:
        member = User.objects.exclude(pk=scene.staff_pk).get(memberships__isnull=False)
        return session_cookie(member)
    finally:
        connection.close()
