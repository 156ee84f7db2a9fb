"""Who may do what to which thread over the WebSocket, and what an open socket sees when
access ends while it is connected (docs/protocol.md, "Access changes"; accounts.permissions).

Threads are account-scoped items: an ordinary thread is visible to whoever sees its account;
a privileged one only with an explicit per-user grant on the thread *and* access to its
account. A thread one may not see answers ``not_found`` to every frame, stores nothing and
delivers nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from channels.db import database_sync_to_async

from accounts import permissions
from accounts.models import ClientAccount, User
from accounts.services import client_accounts, users
from messaging import access, events, services
from messaging.models import Event, Message, ReadState, Thread
from tests import factories
from tests.messaging.sockets import TIMEOUT, connected
from tests.messaging.test_protocol import receive_types, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

ROLES = factories.ROLES

# The threads of the matrix. "*_granted" is privileged and granted to the user under test
# (for a user who cannot see that account, a stale grant that must open nothing);
# "*_walled" is privileged and granted to everybody *but* the user under test.
THREAD_NAMES = ["acme", "globex", "acme_granted", "globex_granted", "acme_walled", "globex_walled"]

VISIBLE = {
    "firm_admin": {"acme", "globex", "acme_granted", "globex_granted"},
    "staff_on_team": {"acme", "acme_granted"},
    "staff_off_team": {"globex", "globex_granted"},
    "client_admin": {"acme", "acme_granted"},
    "client_member": {"acme", "acme_granted"},
    "other_client": {"globex", "globex_granted"},
}


@dataclass
class World:
    user: User
    author: User  # a firm admin holding every grant: sees all six threads
    threads: dict[str, Thread]
    messages: dict[str, str]  # thread name -> public id of the author's message in it

    def id(self, name: str) -> str:
        return self.threads[name].public_id


def general_of(account: ClientAccount) -> Thread:
    return Thread.objects.get(account=account, is_general=True)


def privileged_thread(account: ClientAccount, title: str) -> Thread:
    return services.thread_create(actor=None, account=account, title=title, privileged=True)


@database_sync_to_async
def build_world(people: dict, acme: ClientAccount, globex: ClientAccount, role: str) -> World:
    user = people[role]
    author = factories.firm_admin(name="Archie Author")
    threads = {"acme": general_of(acme), "globex": general_of(globex)}
    for account_name, account in (("acme", acme), ("globex", globex)):
        granted = privileged_thread(account, f"{account_name} granted")
        walled = privileged_thread(account, f"{account_name} walled")
        for thread in (granted, walled):
            permissions.privileged_grant(thread, author)
        permissions.privileged_grant(granted, user)
        for person in people.values():
            if person != user:
                permissions.privileged_grant(walled, person)
        threads[f"{account_name}_granted"] = granted
        threads[f"{account_name}_walled"] = walled
    messages = {}
    for name, thread in threads.items():
        result = services.message_send(
            actor=author, thread_id=thread.public_id, client_id=uuid.uuid4(), body=f"in {name}"
        )
        messages[name] = result.message_id
    threads = {name: Thread.objects.get(pk=t.pk) for name, t in threads.items()}
    return World(user=user, author=author, threads=threads, messages=messages)


@database_sync_to_async
def stored_state() -> dict:
    """Everything a refused frame must leave alone."""
    return {
        "seqs": dict(Thread.objects.values_list("public_id", "last_seq")),
        "messages": sorted(Message.objects.values_list("public_id", "body", "deleted_at")),
        "events": Event.objects.count(),
        "reads": sorted(ReadState.objects.values_list("user_id", "thread_id", "last_read_seq")),
    }


async def answer(ws, frame: dict) -> dict:
    await ws.send_json_to(frame)
    return await ws.receive_json_from(timeout=TIMEOUT)


async def assert_error(ws, frame: dict, code: str) -> None:
    reply = await answer(ws, {**frame, "ref": "r"})
    assert reply == {"type": "error", "code": code, "message": reply["message"], "ref": "r"}


def send_frame(thread: str, body: str = "hello") -> dict:
    return {"type": "message.send", "thread": thread, "client_id": str(uuid.uuid4()), "body": body}


# --- the matrix ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_hello_lists_exactly_the_visible_threads(people, acme, globex, role):
    world = await build_world(people, acme, globex, role)
    ws, hello = await connected(world.user)
    listed = {t["id"]: t for t in hello["threads"]}
    assert set(listed) == {world.id(name) for name in VISIBLE[role]}
    for name in VISIBLE[role]:
        summary = listed[world.id(name)]
        assert summary["privileged"] == name.endswith("_granted")
        assert summary["general"] == (name in {"acme", "globex"})
        assert (summary["last_seq"], summary["unread"]) == (1, 1)
    await ws.disconnect()


@pytest.mark.parametrize("role", ROLES)
async def test_invisible_threads_refuse_every_frame_and_leak_nothing(people, acme, globex, role):
    world = await build_world(people, acme, globex, role)
    observer, _ = await connected(world.author)
    for name in THREAD_NAMES:
        await subscribe(observer, world.id(name))
    ws, _ = await connected(world.user)
    before = await stored_state()

    for name in sorted(set(THREAD_NAMES) - VISIBLE[role]):
        thread, message = world.id(name), world.messages[name]
        await assert_error(ws, {"type": "subscribe", "thread": thread, "after": 0}, "not_found")
        await assert_error(ws, send_frame(thread, "sneaky"), "not_found")
        await assert_error(ws, {"type": "history", "thread": thread}, "not_found")
        await assert_error(ws, {"type": "read", "thread": thread, "seq": 1}, "not_found")
        await assert_error(ws, {"type": "typing", "thread": thread}, "not_subscribed")
        # Someone else's message in a thread one cannot see is "not found", never
        # "not_author": the answer tells nothing about the thread.
        edit = {"type": "message.edit", "id": message, "body": "defaced"}
        await assert_error(ws, edit, "not_found")
        await assert_error(ws, {"type": "message.delete", "id": message}, "not_found")

    assert await stored_state() == before
    assert await ws.receive_nothing()
    assert await observer.receive_nothing()
    await ws.disconnect()
    await observer.disconnect()


@pytest.mark.parametrize("role", ROLES)
async def test_visible_threads_answer_every_frame(people, acme, globex, role):
    world = await build_world(people, acme, globex, role)
    ws, _ = await connected(world.user)
    for name in sorted(VISIBLE[role]):
        thread, message = world.id(name), world.messages[name]
        replay = await subscribe(ws, thread)
        assert [(f["type"], f["seq"], f["message"]["body"]) for f in replay] == [
            ("message.new", 1, f"in {name}")
        ]
        history = await answer(ws, {"type": "history", "thread": thread})
        assert [e["message"]["id"] for e in history["events"]] == [message]
        await ws.send_json_to({"type": "read", "thread": thread, "seq": 1})
        got = await receive_types(ws, "ok", "read")
        assert got["ok"]["seq"] == got["read"]["seq"] == 1
        await assert_error(ws, {"type": "message.edit", "id": message, "body": "x"}, "not_author")
        await assert_error(ws, {"type": "message.delete", "id": message}, "not_author")
        await ws.send_json_to(send_frame(thread, f"reply in {name}"))
        got = await receive_types(ws, "message.ack", "message.new")
        assert got["message.ack"]["seq"] == got["message.new"]["seq"] == 2
    assert await ws.receive_nothing()
    await ws.disconnect()


async def test_firm_admin_does_not_see_a_privileged_thread_without_a_grant(people, acme):
    thread = await database_sync_to_async(privileged_thread)(acme, "Board minutes")
    admin = people["firm_admin"]
    assert admin.is_superuser
    ws, hello = await connected(admin)
    assert thread.public_id not in {t["id"] for t in hello["threads"]}
    await assert_error(ws, {"type": "subscribe", "thread": thread.public_id}, "not_found")
    await assert_error(ws, send_frame(thread.public_id), "not_found")
    await ws.disconnect()

    await database_sync_to_async(services.thread_grant)(actor=None, thread=thread, user=admin)
    ws, hello = await connected(admin)
    assert thread.public_id in {t["id"] for t in hello["threads"]}
    assert await subscribe(ws, thread.public_id) == []
    await ws.disconnect()


# --- access ending mid-connection -------------------------------------------------------------


@dataclass
class Revocation:
    """Who loses which threads, and how, while their socket is open."""

    user: User
    sender: User  # still sees every lost thread; writes to them afterwards
    lost: list[Thread]
    kept: list[Thread]  # still visible after the revocation
    revoke: Callable[[], None]  # run on the database thread


def revocation(kind: str, people: dict, acme: ClientAccount) -> Revocation:
    """Build the situation for one kind of revocation (runs on the database thread)."""
    general = general_of(acme)
    privileged = privileged_thread(acme, "Privileged")
    staff, member = people["staff_on_team"], people["client_member"]
    services.thread_grant(actor=None, thread=privileged, user=staff)
    if kind == "membership_removed":
        services.thread_grant(actor=None, thread=privileged, user=member)
        return Revocation(
            user=member,
            sender=staff,
            lost=[general, privileged],
            kept=[],
            revoke=lambda: client_accounts.membership_remove(actor=None, account=acme, user=member),
        )
    if kind == "team_unassigned":
        # Someone else at the firm keeps the privileged thread, or Sam could not leave.
        services.thread_grant(actor=None, thread=privileged, user=people["firm_admin"])
        return Revocation(
            user=staff,
            sender=people["firm_admin"],
            lost=[general],
            kept=[],
            revoke=lambda: client_accounts.team_unassign(actor=None, account=acme, user=staff),
        )
    if kind == "grant_withdrawn":
        services.thread_grant(actor=None, thread=privileged, user=member)
        return Revocation(
            user=member,
            sender=staff,
            lost=[privileged],
            kept=[general],
            revoke=lambda: services.thread_revoke(actor=staff, thread=privileged, user=member),
        )
    raise AssertionError(kind)


KINDS = ["membership_removed", "team_unassigned", "grant_withdrawn"]


async def send_as(user: User, thread: Thread, body: str) -> None:
    await database_sync_to_async(services.message_send)(
        actor=user, thread_id=thread.public_id, client_id=uuid.uuid4(), body=body
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_revocation_removes_the_thread_from_the_open_socket(people, acme, kind):
    case = await database_sync_to_async(revocation)(kind, people, acme)
    ws, hello = await connected(case.user)
    listed = {t["id"] for t in hello["threads"]}
    for thread in case.lost + case.kept:
        assert thread.public_id in listed
        await subscribe(ws, thread.public_id)

    await database_sync_to_async(case.revoke)()

    removed = set()
    for _ in case.lost:
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        assert frame["type"] == "thread.removed"
        removed.add(frame["thread"])
    assert removed == {t.public_id for t in case.lost}
    assert await ws.receive_nothing()

    # Later events of a lost thread never arrive; a kept thread goes on as before.
    for thread in case.lost:
        await send_as(case.sender, thread, "after you left")
    for thread in case.kept:
        await send_as(case.sender, thread, "still here")
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        assert (frame["type"], frame["thread"]) == ("message.new", thread.public_id)
        assert frame["message"]["body"] == "still here"
    assert await ws.receive_nothing()

    # The next frame on a lost thread is refused, and refused frames store nothing.
    before = await stored_state()
    for thread in case.lost:
        await assert_error(ws, {"type": "subscribe", "thread": thread.public_id}, "not_found")
        await assert_error(ws, send_frame(thread.public_id), "not_found")
        await assert_error(ws, {"type": "history", "thread": thread.public_id}, "not_found")
        await assert_error(ws, {"type": "typing", "thread": thread.public_id}, "not_subscribed")
    assert await stored_state() == before

    # A fresh connection agrees.
    again, hello = await connected(case.user)
    listed = {t["id"] for t in hello["threads"]}
    assert listed.isdisjoint(t.public_id for t in case.lost)
    assert {t.public_id for t in case.kept} <= listed
    await again.disconnect()
    await ws.disconnect()


async def test_deactivation_ends_the_socket_with_access_ended(people, acme):
    member, staff = people["client_member"], people["staff_on_team"]
    general = await database_sync_to_async(general_of)(acme)
    ws, _ = await connected(member)
    await subscribe(ws, general.public_id)
    other_tab, _ = await connected(member)

    await database_sync_to_async(users.user_deactivate)(user=member)

    for socket in (ws, other_tab):
        error = await socket.receive_json_from(timeout=TIMEOUT)
        assert (error["type"], error["code"]) == ("error", "access_ended")
        assert await socket.receive_output(timeout=TIMEOUT) == {
            "type": "websocket.close",
            "code": 4403,
        }
    # Until the client completes the close, nothing more is pushed to it.
    await send_as(staff, general, "after deactivation")
    assert await ws.receive_nothing()
    assert await other_tab.receive_nothing()


# --- the notice itself lost -------------------------------------------------------------------


@pytest.fixture
def lost_notices(monkeypatch):
    """Every per-user notice is lost on its way (the layer dropped it), and the worker does
    not read the access-change log either (``tests/messaging/test_access_watch.py`` has
    that path): what is left is the check before the next frame."""
    monkeypatch.setattr(events, "publish_user_notice", lambda **kwargs: None)
    monkeypatch.setattr(access, "POLL_SECONDS", 3600.0)


NEXT_FRAMES = {
    "subscribe": lambda thread: {"type": "subscribe", "thread": thread, "after": 0},
    "message.send": lambda thread: send_frame(thread, "after the revocation"),
    "history": lambda thread: {"type": "history", "thread": thread},
    "read": lambda thread: {"type": "read", "thread": thread, "seq": 1},
    "typing": lambda thread: {"type": "typing", "thread": thread},
}


# Every kind of revocation with one frame, and every frame with one kind: each frame is
# checked against the user's access as it is now, whatever took it away.
LOST_NOTICE_CASES = [(kind, "message.send") for kind in KINDS] + [
    ("grant_withdrawn", frame) for frame in NEXT_FRAMES if frame != "message.send"
]


@pytest.mark.parametrize(("kind", "frame"), LOST_NOTICE_CASES)
async def test_without_the_notice_the_next_frame_is_still_refused(
    people, acme, lost_notices, kind, frame
):
    case = await database_sync_to_async(revocation)(kind, people, acme)
    watcher, _ = await connected(case.sender)
    ws, _ = await connected(case.user)
    thread = case.lost[0]
    await subscribe(watcher, thread.public_id)
    await subscribe(ws, thread.public_id)

    await database_sync_to_async(case.revoke)()
    assert await ws.receive_nothing()  # no thread.removed: the notice was lost

    before = await stored_state()
    await assert_error(ws, NEXT_FRAMES[frame](thread.public_id), "not_found")
    assert await stored_state() == before
    assert await watcher.receive_nothing()  # not even a typing indicator got through

    # Refused once, the thread is dropped from the socket: its later events stay away.
    await send_as(case.sender, thread, "after the refusal")
    assert (await watcher.receive_json_from(timeout=TIMEOUT))["type"] == "message.new"
    assert await ws.receive_nothing()
    await ws.disconnect()
    await watcher.disconnect()


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "ping"},
        {"type": "subscribe", "thread": "GENERAL"},
        {"type": "typing", "thread": "GENERAL"},
    ],
    ids=["ping", "subscribe", "typing"],
)
async def test_without_the_notice_a_deactivated_users_next_frame_ends_the_socket(
    people, acme, lost_notices, frame
):
    member = people["client_member"]
    general = await database_sync_to_async(general_of)(acme)
    ws, _ = await connected(member)
    await subscribe(ws, general.public_id)

    await database_sync_to_async(users.user_deactivate)(user=member)
    assert await ws.receive_nothing()

    frame = {k: general.public_id if v == "GENERAL" else v for k, v in frame.items()}
    await assert_error(ws, frame, "access_ended")
    assert await ws.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
    await send_as(people["staff_on_team"], general, "after deactivation")
    assert await ws.receive_nothing()
