"""The ``viewing`` frame: who has a page about a thread open right now, told to the thread's
other subscribers only, never stored, and withdrawn when the socket leaves the page, the
thread, its access or the connection."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async

from accounts.services import client_accounts
from messaging.consumers import viewing
from tests.messaging.sockets import TIMEOUT, connected
from tests.messaging.test_protocol import general, subscribe
from tests.messaging.test_ws_frames import chat, second_acme_thread, stored  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "apr_aaaabbbbccccddddeeeeffff"


@pytest.fixture
def clock(monkeypatch):
    now = SimpleNamespace(value=5_000.0)
    monkeypatch.setattr(viewing, "time", SimpleNamespace(monotonic=lambda: now.value))
    return now


def person(user) -> dict:
    return {"id": user.public_id, "name": user.name, "initials": user.initials, "avatar": None}


async def answer(ws, frame: dict) -> dict:
    await ws.send_json_to(frame)
    return await ws.receive_json_from(timeout=TIMEOUT)


async def test_here_and_left_reach_the_threads_other_subscribers(chat, people, clock):  # noqa: F811
    idle_ws, _ = await connected(people["client_admin"])  # connected, not subscribed
    await chat.member_ws.send_json_to(
        {"type": "viewing", "thread": chat.thread, "page": PAGE, "hello": True}
    )
    here = await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    socket = here.pop("socket")
    assert here == {
        "type": "viewing",
        "thread": chat.thread,
        "page": PAGE,
        "state": "here",
        "hello": True,
        "user": person(chat.member),
    }
    assert len(socket) == 16
    assert await chat.member_ws.receive_nothing()  # not echoed
    assert await idle_ws.receive_nothing()

    # The staff member answers the hello; then the member leaves the page.
    await chat.staff_ws.send_json_to({"type": "viewing", "thread": chat.thread, "page": PAGE})
    answered = await chat.member_ws.receive_json_from(timeout=TIMEOUT)
    assert (answered["state"], answered["hello"], answered["user"]["id"]) == (
        "here",
        False,
        chat.staff.public_id,
    )
    await chat.member_ws.send_json_to(
        {"type": "viewing", "thread": chat.thread, "page": PAGE, "state": "left"}
    )
    left = await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    assert (left["state"], left["socket"], left["page"]) == ("left", socket, PAGE)
    # Leaving a page one does not show says nothing.
    await chat.member_ws.send_json_to(
        {"type": "viewing", "thread": chat.thread, "page": PAGE, "state": "left"}
    )
    assert await chat.staff_ws.receive_nothing()
    assert (await stored(chat.thread))["last_seq"] == 0
    await idle_ws.disconnect()


async def test_a_burst_of_heres_is_passed_on_once_a_second(chat, clock):  # noqa: F811
    frame = {"type": "viewing", "thread": chat.thread, "page": PAGE}
    await chat.member_ws.send_json_to(frame)
    assert (await chat.staff_ws.receive_json_from(timeout=TIMEOUT))["state"] == "here"
    clock.value += 0.5
    await chat.member_ws.send_json_to(frame)
    assert await chat.staff_ws.receive_nothing()
    clock.value += 0.6
    await chat.member_ws.send_json_to(frame)
    assert (await chat.staff_ws.receive_json_from(timeout=TIMEOUT))["state"] == "here"


async def test_another_page_in_the_same_thread_replaces_the_first(chat, clock):  # noqa: F811
    other = "apr_aaaabbbbccccddddeeee2222"
    await chat.member_ws.send_json_to({"type": "viewing", "thread": chat.thread, "page": PAGE})
    await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    await chat.member_ws.send_json_to({"type": "viewing", "thread": chat.thread, "page": other})
    left = await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    here = await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    assert (left["state"], left["page"]) == ("left", PAGE)
    assert (here["state"], here["page"]) == ("here", other)


@pytest.mark.parametrize("how", ["unsubscribe", "disconnect"])
async def test_leaving_the_thread_or_closing_withdraws_the_viewer(chat, clock, how):  # noqa: F811
    await chat.member_ws.send_json_to({"type": "viewing", "thread": chat.thread, "page": PAGE})
    await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    if how == "unsubscribe":
        await chat.member_ws.send_json_to({"type": "unsubscribe", "thread": chat.thread})
    else:
        await chat.member_ws.disconnect()
    left = await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    assert (left["type"], left["state"], left["user"]["id"]) == (
        "viewing",
        "left",
        chat.member.public_id,
    )


async def test_losing_access_withdraws_the_viewer(people, clock):
    member, staff = people["client_member"], people["staff_on_team"]
    member_ws, hello = await connected(member)
    staff_ws, _ = await connected(staff)
    thread = general(hello, "Acme")
    await subscribe(member_ws, thread)
    await subscribe(staff_ws, thread)
    await member_ws.send_json_to({"type": "viewing", "thread": thread, "page": PAGE})
    await staff_ws.receive_json_from(timeout=TIMEOUT)

    @database_sync_to_async
    def remove():
        from accounts.models import ClientAccount

        acme = ClientAccount.objects.get(name="Acme")
        client_accounts.membership_remove(actor=None, account=acme, user=member)

    await remove()
    frames = [await staff_ws.receive_json_from(timeout=TIMEOUT)]
    assert [(f["type"], f.get("state")) for f in frames] == [("viewing", "left")]
    await member_ws.disconnect()
    await staff_ws.disconnect()


@pytest.mark.parametrize(
    ("frame", "code", "field"),
    [
        ({"page": PAGE}, "bad_field", "thread"),
        ({"thread": "THREAD"}, "bad_field", "page"),
        ({"thread": "THREAD", "page": "not an id"}, "bad_field", "page"),
        ({"thread": "THREAD", "page": PAGE, "state": "gone"}, "bad_field", "state"),
        ({"thread": "THREAD", "page": PAGE, "hello": "yes"}, "bad_field", "hello"),
    ],
)
async def test_malformed_viewing_frames_are_refused_and_the_socket_stays(
    chat,  # noqa: F811
    frame,
    code,
    field,
):
    frame = {k: chat.thread if v == "THREAD" else v for k, v in frame.items()}
    error = await answer(chat.member_ws, {"type": "viewing", "ref": 7, **frame})
    assert (error["type"], error["code"], error["ref"]) == ("error", code, 7)
    assert field in error["message"]
    assert await chat.staff_ws.receive_nothing()
    pong = await answer(chat.member_ws, {"type": "ping"})
    assert pong["type"] == "pong"


async def test_viewing_a_thread_not_subscribed_is_refused(chat):  # noqa: F811
    second = await second_acme_thread()
    error = await answer(chat.member_ws, {"type": "viewing", "thread": second, "page": PAGE})
    assert error["code"] == "not_subscribed"
    assert await chat.staff_ws.receive_nothing()
