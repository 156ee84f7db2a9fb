"""The frames of docs/protocol.md one by one, end to end through the ASGI application: edit
and delete, history paging, read state, typing, the send limit, body and client_id rules,
and catching up after a lost push."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async

from accounts.models import User
from messaging import events, ratelimit, services
from messaging.consumers import messages as message_frames
from messaging.consumers import threads as thread_frames
from messaging.models import Event, Message, ReadState, Thread
from tests.messaging.sockets import TIMEOUT, connected
from tests.messaging.test_protocol import general, receive_types, send, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


async def answer(ws, frame: dict) -> dict:
    await ws.send_json_to(frame)
    return await ws.receive_json_from(timeout=TIMEOUT)


async def sent(ws, thread: str, body: str) -> dict:
    """Send from a subscribed socket; returns the ack (the echoed message.new is consumed)."""
    await send(ws, thread, body)
    return (await receive_types(ws, "message.ack", "message.new"))["message.ack"]


@database_sync_to_async
def post(author: User, thread: str, *bodies: str) -> list[services.SendResult]:
    """Messages written through the service, as another worker would."""
    return [
        services.message_send(actor=author, thread_id=thread, client_id=uuid.uuid4(), body=body)
        for body in bodies
    ]


@database_sync_to_async
def stored(thread: str) -> dict:
    row = Thread.objects.get(public_id=thread)
    return {
        "last_seq": row.last_seq,
        "messages": sorted(Message.objects.filter(thread=row).values_list("seq", "body")),
        "events": list(Event.objects.filter(thread=row).values_list("seq", "type", "frame")),
    }


@database_sync_to_async
def second_acme_thread() -> str:
    acme = Thread.objects.get(is_general=True, account__name="Acme").account
    return services.thread_create(actor=None, account=acme, title="Second").public_id


@pytest.fixture
async def chat(people):
    """The Acme member and the staff member on Acme's team, both subscribed to General."""
    member_ws, hello = await connected(people["client_member"])
    staff_ws, _ = await connected(people["staff_on_team"])
    thread = general(hello, "Acme")
    await subscribe(member_ws, thread)
    await subscribe(staff_ws, thread)
    yield SimpleNamespace(
        member=people["client_member"],
        staff=people["staff_on_team"],
        member_ws=member_ws,
        staff_ws=staff_ws,
        thread=thread,
    )
    await member_ws.disconnect()
    await staff_ws.disconnect()


# --- edit and delete --------------------------------------------------------------------------


async def test_edit_and_delete_reach_every_subscriber_with_the_next_seq(chat):
    ack = await sent(chat.member_ws, chat.thread, "Hello")
    original = await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    message = ack["id"]

    await chat.member_ws.send_json_to(
        {"type": "message.edit", "id": message, "body": "  Hello, world  ", "ref": "e1"}
    )
    got = await receive_types(chat.member_ws, "ok", "message.edited")
    assert got["ok"] == {"type": "ok", "for": "message.edit", "id": message, "seq": 2, "ref": "e1"}
    edited = got["message.edited"]
    assert await chat.staff_ws.receive_json_from(timeout=TIMEOUT) == edited
    assert (edited["thread"], edited["seq"]) == (chat.thread, 2)
    assert edited["message"]["id"] == message
    assert edited["message"]["body"] == "Hello, world"
    assert edited["message"]["edited_at"] is not None
    assert edited["message"]["created_at"] == original["message"]["created_at"]
    assert edited["message"]["deleted"] is False

    await chat.member_ws.send_json_to({"type": "message.delete", "id": message})
    got = await receive_types(chat.member_ws, "ok", "message.deleted")
    assert got["ok"] == {"type": "ok", "for": "message.delete", "id": message, "seq": 3}
    deleted = got["message.deleted"]
    assert await chat.staff_ws.receive_json_from(timeout=TIMEOUT) == deleted
    assert (deleted["seq"], deleted["message"]["id"]) == (3, message)
    assert (deleted["message"]["body"], deleted["message"]["deleted"]) == ("", True)

    # A deleted message can be neither edited nor deleted again; nothing is stored.
    for frame in (
        {"type": "message.edit", "id": message, "body": "back again"},
        {"type": "message.delete", "id": message},
    ):
        error = await answer(chat.member_ws, frame)
        assert (error["type"], error["code"]) == ("error", "message_deleted")
    assert await chat.staff_ws.receive_nothing()

    # The text is gone from storage and from every replay, the edited text included.
    state = await stored(chat.thread)
    assert state["last_seq"] == 3
    assert state["messages"] == [(1, "")]
    assert [(seq, kind) for seq, kind, _ in state["events"]] == [
        (1, "message.new"),
        (2, "message.edited"),
        (3, "message.deleted"),
    ]
    for _, _, frame in state["events"]:
        assert "Hello" not in frame

    fresh, _ = await connected(chat.staff)
    replay = await subscribe(fresh, chat.thread, after=0)
    assert [(f["type"], f["seq"]) for f in replay] == [
        ("message.new", 1),
        ("message.edited", 2),
        ("message.deleted", 3),
    ]
    for frame in replay:
        assert frame["message"]["id"] == message
        assert (frame["message"]["body"], frame["message"]["deleted"]) == ("", True)
    history = await answer(fresh, {"type": "history", "thread": chat.thread})
    assert [
        (e["seq"], e["message"]["body"], e["message"]["deleted"]) for e in history["events"]
    ] == [(1, "", True)]
    await fresh.disconnect()


async def test_a_replay_shows_an_edited_message_as_it_is_now(chat):
    ack = await sent(chat.member_ws, chat.thread, "first draft")
    for body in ("second draft", "final"):
        await chat.member_ws.send_json_to({"type": "message.edit", "id": ack["id"], "body": body})
        await receive_types(chat.member_ws, "ok", "message.edited")
    fresh, _ = await connected(chat.staff)
    replay = await subscribe(fresh, chat.thread)
    assert [(f["type"], f["message"]["body"]) for f in replay] == [
        ("message.new", "final"),
        ("message.edited", "final"),
        ("message.edited", "final"),
    ]
    await fresh.disconnect()


@pytest.mark.parametrize("kind", ["message.edit", "message.delete"])
async def test_only_the_author_edits_or_deletes(chat, kind):
    ack = await sent(chat.member_ws, chat.thread, "mine")
    await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    before = await stored(chat.thread)
    frame = {"type": kind, "id": ack["id"], "body": "not yours", "ref": 5}
    error = await answer(chat.staff_ws, frame)
    assert (error["type"], error["code"], error["ref"]) == ("error", "not_author", 5)
    assert await stored(chat.thread) == before
    assert await chat.member_ws.receive_nothing()
    assert await chat.staff_ws.receive_nothing()


@pytest.mark.parametrize("kind", ["message.edit", "message.delete"])
async def test_editing_a_missing_message_is_not_found(chat, kind):
    frame = {"type": kind, "id": "msg_doesnotexist", "body": "x"}
    error = await answer(chat.member_ws, frame)
    assert (error["type"], error["code"]) == ("error", "not_found")


# --- history ----------------------------------------------------------------------------------


def seqs(history: dict) -> list[int]:
    assert all(e["type"] == "message.new" for e in history["events"])
    return [e["seq"] for e in history["events"]]


async def test_history_pages_backwards_from_the_newest(chat):
    await post(chat.staff, chat.thread, *[f"m{n}" for n in range(1, 8)])
    reader, _ = await connected(chat.member)  # not subscribed: only answers arrive
    newest = await answer(reader, {"type": "history", "thread": chat.thread, "limit": 3})
    assert (newest["thread"], newest["before"], newest["has_more"]) == (chat.thread, 8, True)
    assert seqs(newest) == [5, 6, 7]
    assert [e["message"]["body"] for e in newest["events"]] == ["m5", "m6", "m7"]

    page = await answer(
        reader, {"type": "history", "thread": chat.thread, "before": 5, "limit": 3, "ref": "p2"}
    )
    assert (seqs(page), page["has_more"], page["before"], page["ref"]) == ([2, 3, 4], True, 5, "p2")
    page = await answer(reader, {"type": "history", "thread": chat.thread, "before": 2, "limit": 3})
    assert (seqs(page), page["has_more"]) == ([1], False)
    page = await answer(reader, {"type": "history", "thread": chat.thread, "before": 1})
    assert (seqs(page), page["has_more"]) == ([], False)

    everything = await answer(reader, {"type": "history", "thread": chat.thread})
    assert (seqs(everything), everything["has_more"]) == ([1, 2, 3, 4, 5, 6, 7], False)
    # History is an answer, not a subscription: nothing live follows it.
    await post(chat.staff, chat.thread, "m8")
    assert await reader.receive_nothing()
    await reader.disconnect()


async def test_history_lists_messages_as_they_are_now(chat):
    acks = [await sent(chat.member_ws, chat.thread, body) for body in ("one", "two", "three")]
    await chat.member_ws.send_json_to({"type": "message.edit", "id": acks[0]["id"], "body": "1"})
    await receive_types(chat.member_ws, "ok", "message.edited")
    await chat.member_ws.send_json_to({"type": "message.delete", "id": acks[1]["id"]})
    await receive_types(chat.member_ws, "ok", "message.deleted")
    reader, _ = await connected(chat.staff)
    history = await answer(reader, {"type": "history", "thread": chat.thread})
    await reader.disconnect()
    assert seqs(history) == [1, 2, 3]
    assert history["before"] == 6
    assert [(e["message"]["body"], e["message"]["deleted"]) for e in history["events"]] == [
        ("1", False),
        ("", True),
        ("three", False),
    ]


async def test_history_limit_defaults_to_50_and_is_capped_at_100(chat):
    await post(chat.staff, chat.thread, *[f"m{n}" for n in range(1, 106)])
    reader, _ = await connected(chat.member)
    default = await answer(reader, {"type": "history", "thread": chat.thread})
    assert (seqs(default), default["has_more"]) == (list(range(56, 106)), True)
    capped = await answer(reader, {"type": "history", "thread": chat.thread, "limit": 500})
    assert (seqs(capped), capped["has_more"]) == (list(range(6, 106)), True)
    rest = await answer(
        reader, {"type": "history", "thread": chat.thread, "before": 6, "limit": 100}
    )
    assert (seqs(rest), rest["has_more"]) == ([1, 2, 3, 4, 5], False)
    await reader.disconnect()


BAD_HISTORY_FIELDS = {
    "limit_string": ({"limit": "10"}, "limit"),
    "limit_negative": ({"limit": -1}, "limit"),
    "limit_float": ({"limit": 2.5}, "limit"),
    "limit_bool": ({"limit": True}, "limit"),
    "limit_null": ({"limit": None}, "limit"),
    "before_string": ({"before": "9"}, "before"),
    "before_negative": ({"before": -3}, "before"),
    "before_list": ({"before": [9]}, "before"),
    "thread_missing": ({"thread": None}, "thread"),
    "thread_number": ({"thread": 7}, "thread"),
    "thread_empty": ({"thread": ""}, "thread"),
}


@pytest.mark.parametrize("case", list(BAD_HISTORY_FIELDS))
async def test_history_with_a_bad_field_is_refused_by_name(chat, case):
    fields, name = BAD_HISTORY_FIELDS[case]
    frame = {"type": "history", "thread": chat.thread, **fields, "ref": case}
    if fields.get("thread", "") is None:
        del frame["thread"]
    error = await answer(chat.member_ws, frame)
    assert (error["type"], error["code"], error["ref"]) == ("error", "bad_field", case)
    assert name in error["message"]


# --- read state -------------------------------------------------------------------------------


async def summary(user: User, thread: str) -> dict:
    ws, hello = await connected(user)
    await ws.disconnect()
    return next(t for t in hello["threads"] if t["id"] == thread)


async def test_read_moves_forward_only_clamps_and_reaches_every_tab(chat):
    await post(chat.staff, chat.thread, "one", "two", "three")
    for _ in range(3):
        await chat.member_ws.receive_json_from(timeout=TIMEOUT)
        await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    other_tab, _ = await connected(chat.member)  # not subscribed to anything
    first = await summary(chat.member, chat.thread)
    assert (first["last_seq"], first["last_read_seq"], first["unread"]) == (3, 0, 3)

    for asked, position, unread in ((2, 2, 1), (1, 2, 1), (99, 3, 0), (0, 3, 0)):
        await chat.member_ws.send_json_to(
            {"type": "read", "thread": chat.thread, "seq": asked, "ref": asked}
        )
        got = await receive_types(chat.member_ws, "ok", "read")
        assert got["ok"] == {
            "type": "ok",
            "for": "read",
            "thread": chat.thread,
            "seq": position,
            "ref": asked,
        }
        notice = {"type": "read", "thread": chat.thread, "seq": position}
        assert got["read"] == notice
        assert await other_tab.receive_json_from(timeout=TIMEOUT) == notice
        now = await summary(chat.member, chat.thread)
        assert (now["last_read_seq"], now["unread"]) == (position, unread)
    # Read state is the reader's own: nobody else hears of it.
    assert await chat.staff_ws.receive_nothing()
    assert await other_tab.receive_nothing()
    assert (await summary(chat.staff, chat.thread))["last_read_seq"] == 3  # the author's own
    await other_tab.disconnect()


async def test_sending_marks_the_thread_read_for_its_author(chat):
    await post(chat.staff, chat.thread, "one", "two")
    await sent(chat.member_ws, chat.thread, "three")
    now = await summary(chat.member, chat.thread)
    assert (now["last_seq"], now["last_read_seq"], now["unread"]) == (3, 3, 0)


@pytest.mark.parametrize("seq", [None, "2", -1, 1.0, True], ids=repr)
async def test_read_with_a_bad_seq_is_refused(chat, seq):
    frame = {"type": "read", "thread": chat.thread, "seq": seq}
    if seq is None:
        del frame["seq"]
    error = await answer(chat.member_ws, frame)
    assert (error["code"], "seq" in error["message"]) == ("bad_field", True)
    count = await database_sync_to_async(ReadState.objects.filter(user=chat.member).count)()
    assert count == 0


# --- typing -----------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """The consumer's monotonic clock, moved by hand (the event loop keeps the real one)."""
    now = SimpleNamespace(value=1_000.0)
    monkeypatch.setattr(message_frames, "time", SimpleNamespace(monotonic=lambda: now.value))
    return now


async def test_typing_reaches_other_subscribers_at_most_every_3_seconds(chat, people, clock):
    admin_ws, _ = await connected(people["client_admin"])
    await subscribe(admin_ws, chat.thread)
    idle_ws, _ = await connected(people["client_admin"])  # connected, not subscribed
    member = chat.member
    expected = {
        "type": "typing",
        "thread": chat.thread,
        "user": {
            "id": member.public_id,
            "name": member.name,
            "initials": member.initials,
            "avatar": None,
        },
    }
    typing = {"type": "typing", "thread": chat.thread}

    await chat.member_ws.send_json_to(typing)
    assert await chat.staff_ws.receive_json_from(timeout=TIMEOUT) == expected
    assert await admin_ws.receive_json_from(timeout=TIMEOUT) == expected
    assert await chat.member_ws.receive_nothing()  # not echoed to the sender

    clock.value += 2.9
    await chat.member_ws.send_json_to(typing)  # within 3 s: dropped silently
    assert await chat.member_ws.receive_nothing()
    assert await chat.staff_ws.receive_nothing()

    clock.value += 0.2
    await chat.member_ws.send_json_to(typing)
    assert await chat.staff_ws.receive_json_from(timeout=TIMEOUT) == expected
    assert await admin_ws.receive_json_from(timeout=TIMEOUT) == expected

    # Per socket: the staff member typing at the same moment is passed on.
    await chat.staff_ws.send_json_to(typing)
    assert (await chat.member_ws.receive_json_from(timeout=TIMEOUT))["user"]["id"] == (
        chat.staff.public_id
    )
    assert await idle_ws.receive_nothing()
    assert await chat.member_ws.receive_nothing()

    # Never stored.
    assert (await stored(chat.thread))["events"] == []
    assert (await stored(chat.thread))["last_seq"] == 0
    await admin_ws.disconnect()
    await idle_ws.disconnect()


async def test_typing_is_limited_per_thread(chat, clock):
    second = await second_acme_thread()
    await subscribe(chat.member_ws, second)
    await subscribe(chat.staff_ws, second)
    for thread in (chat.thread, second):
        await chat.member_ws.send_json_to({"type": "typing", "thread": thread})
        frame = await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
        assert (frame["type"], frame["thread"]) == ("typing", thread)


async def test_typing_without_subscribing_is_not_subscribed(chat, clock):
    second = await second_acme_thread()
    error = await answer(chat.member_ws, {"type": "typing", "thread": second, "ref": 1})
    assert (error["type"], error["code"], error["ref"]) == ("error", "not_subscribed", 1)
    unsubscribed = await answer(chat.member_ws, {"type": "unsubscribe", "thread": chat.thread})
    assert unsubscribed == {"type": "unsubscribed", "thread": chat.thread}
    error = await answer(chat.member_ws, {"type": "typing", "thread": chat.thread})
    assert error["code"] == "not_subscribed"
    assert await chat.staff_ws.receive_nothing()


# --- the send limit ---------------------------------------------------------------------------


@pytest.fixture
def three_per_window(settings, monkeypatch):
    """Three sends or edits per user per window; the window never turns during the test."""
    settings.ATRIUM_RATE_LIMITS = {"message": (3, 60)}
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 6_000_000.0))


async def test_the_send_limit_is_per_user_across_tabs(chat, three_per_window):
    second_tab, _ = await connected(chat.member)
    acks = [
        await sent(chat.member_ws, chat.thread, "one"),
        await sent(chat.member_ws, chat.thread, "two"),
    ]
    await send(second_tab, chat.thread, "three")
    assert (await second_tab.receive_json_from(timeout=TIMEOUT))["type"] == "message.ack"
    assert (await chat.member_ws.receive_json_from(timeout=TIMEOUT))["seq"] == 3
    for _ in range(3):
        await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    before = await stored(chat.thread)

    for ws in (chat.member_ws, second_tab):
        attempt = await send(ws, chat.thread, "one too many")
        error = await ws.receive_json_from(timeout=TIMEOUT)
        assert (error["type"], error["code"]) == ("error", "rate_limited")
        assert error["ref"] == attempt["client_id"]
    # Edits count against the same limit.
    edit = {"type": "message.edit", "id": acks[0]["id"], "body": "changed"}
    assert (await answer(chat.member_ws, edit))["code"] == "rate_limited"
    assert await stored(chat.thread) == before
    assert await chat.staff_ws.receive_nothing()

    # Someone else's limit is their own.
    assert (await sent(chat.staff_ws, chat.thread, "I can still write"))["seq"] == 4
    await second_tab.disconnect()


# --- message bodies and client ids ------------------------------------------------------------

BAD_BODIES = {
    "empty": ("", "empty_body"),
    "whitespace": (" \n\t \u00a0 ", "empty_body"),
    "too_long": ("x" * 10_001, "body_too_long"),
    "too_long_inside_spaces": ("  " + "y" * 10_001 + "  ", "body_too_long"),
    "number": (42, "bad_field"),
    "null": (None, "bad_field"),
    "list": (["hello"], "bad_field"),
    "object": ({"text": "hello"}, "bad_field"),
    "missing": (..., "bad_field"),
    # NUL is not text; PostgreSQL could not store it either.
    "nul": ("a\x00b", "bad_field"),
}


def with_body(frame: dict, body) -> dict:
    return frame if body is ... else {**frame, "body": body}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_a_bad_body_is_refused_and_nothing_is_stored(chat, case):
    body, code = BAD_BODIES[case]
    ack = await sent(chat.member_ws, chat.thread, "to be edited")
    await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    before = await stored(chat.thread)
    client_id = str(uuid.uuid4())
    frame = {"type": "message.send", "thread": chat.thread, "client_id": client_id}
    error = await answer(chat.member_ws, with_body(frame, body))
    assert (error["type"], error["code"], error["ref"]) == ("error", code, client_id)
    edit = with_body({"type": "message.edit", "id": ack["id"]}, body)
    assert (await answer(chat.member_ws, edit))["code"] == code
    assert await stored(chat.thread) == before
    assert await chat.staff_ws.receive_nothing()


async def test_a_body_of_exactly_the_limit_is_stored_trimmed(chat):
    ack = await sent(chat.member_ws, chat.thread, "\n  " + "z" * 10_000 + "  \n")
    new = await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    assert new["message"]["body"] == "z" * 10_000
    assert (await stored(chat.thread))["messages"] == [(ack["seq"], "z" * 10_000)]


NUL_IDS = {
    "subscribe": {"type": "subscribe", "thread": "thr_\x00"},
    "unsubscribe": {"type": "unsubscribe", "thread": "thr_\x00"},
    "history": {"type": "history", "thread": "\x00"},
    "read": {"type": "read", "thread": "thr_\x00", "seq": 1},
    "typing": {"type": "typing", "thread": "thr_\x00"},
    "message.send": {
        "type": "message.send",
        "thread": "thr_\x00",
        "client_id": "5f1c3a52-0c1e-4b7e-9a7f-1f7d2b0a9c10",
        "body": "hi",
    },
    "message.edit": {"type": "message.edit", "id": "msg_\x00", "body": "hi"},
    "message.delete": {"type": "message.delete", "id": "msg_\x00"},
    "thread.mute": {"type": "thread.mute", "thread": "thr_\x00", "muted": True},
    "notification.read": {"type": "notification.read", "ids": ["ntf_\x00"]},
}


@pytest.mark.parametrize("kind", list(NUL_IDS))
async def test_an_id_with_a_nul_character_is_a_bad_field(chat, kind):
    """Refused before any query: PostgreSQL raises on NUL in a parameter, which would
    otherwise end the socket."""
    error = await answer(chat.member_ws, {**NUL_IDS[kind], "ref": kind})
    assert (error["type"], error["code"], error["ref"]) == ("error", "bad_field", kind)
    assert (await stored(chat.thread))["last_seq"] == 0
    assert (await answer(chat.member_ws, {"type": "ping"}))["type"] == "pong"


def strict_json(text: str):
    """Parse as a browser would: NaN and Infinity are not JSON."""

    def refuse(name: str):
        raise AssertionError(f"{name} sent to the client: {text}")

    return json.loads(text, parse_constant=refuse)


NOT_VALID_TEXT = {
    "lone_surrogate_in_an_id": '{"type": "message.delete", "id": "msg_\\ud800"}',
    "lone_surrogate_in_a_body": (
        '{"type": "message.send", "thread": "THREAD", "body": "a\\udc00b",'
        ' "client_id": "5f1c3a52-0c1e-4b7e-9a7f-1f7d2b0a9c10"}'
    ),
    "lone_surrogate_in_a_thread": '{"type": "subscribe", "thread": "\\ud800"}',
    "lone_surrogate_in_ref": '{"type": "ping", "ref": "\\ud800"}',
    "lone_surrogate_in_a_key": '{"type": "ping", "\\udfff": 1}',
    "float_overflow_in_ref": '{"type": "ping", "ref": 1e999}',
    "negative_overflow": '{"type": "history", "thread": "THREAD", "limit": -1e400}',
}


@pytest.mark.parametrize("case", list(NOT_VALID_TEXT))
async def test_json_that_cannot_be_text_again_is_bad_json(chat, case):
    """Half a surrogate pair cannot be stored or sent as UTF-8, and 1e999 would come back
    as Infinity: both are refused as the frame arrives, and the socket stays open."""
    await chat.member_ws.send_to(text_data=NOT_VALID_TEXT[case].replace("THREAD", chat.thread))
    error = strict_json(await chat.member_ws.receive_from(timeout=TIMEOUT))
    assert (error["type"], error["code"]) == ("error", "bad_json")
    assert "ref" not in error
    assert (await answer(chat.member_ws, {"type": "ping"}))["type"] == "pong"
    assert (await stored(chat.thread))["last_seq"] == 0
    assert await chat.staff_ws.receive_nothing()


async def test_a_surrogate_pair_escape_is_an_ordinary_character(chat):
    text = (
        '{"type": "message.send", "thread": "THREAD", "body": "ok \\ud83d\\ude00",'
        ' "client_id": "5f1c3a52-0c1e-4b7e-9a7f-1f7d2b0a9c10"}'
    )
    await chat.member_ws.send_to(text_data=text.replace("THREAD", chat.thread))
    got = await receive_types(chat.member_ws, "message.ack", "message.new")
    assert got["message.new"]["message"]["body"] == "ok \U0001f600"
    assert (await stored(chat.thread))["messages"] == [(1, "ok \U0001f600")]


@pytest.mark.parametrize(
    "client_id", ["not-a-uuid", "", 12345, None, ["7d1c"], "7d1c" * 20], ids=repr
)
async def test_a_client_id_that_is_not_a_uuid_is_refused(chat, client_id):
    frame = {"type": "message.send", "thread": chat.thread, "body": "hi", "ref": "c"}
    if client_id is not None:
        frame["client_id"] = client_id
    error = await answer(chat.member_ws, frame)
    assert (error["type"], error["code"], error["ref"]) == ("error", "bad_field", "c")
    assert "client_id" in error["message"]
    assert (await stored(chat.thread))["last_seq"] == 0


async def test_a_client_id_is_unique_per_sender_and_thread(chat):
    second = await second_acme_thread()
    first = await sent(chat.member_ws, chat.thread, "once")
    client_id = first["client_id"]
    await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    # The same sender, another thread: refused, nothing stored there.
    frame = {"type": "message.send", "thread": second, "client_id": client_id, "body": "again"}
    error = await answer(chat.member_ws, frame)
    assert (error["code"], error["ref"]) == ("client_id_reused", client_id)
    assert (await stored(second))["last_seq"] == 0
    # Another sender may happen to use the same client_id.
    await send(chat.staff_ws, chat.thread, "mine", client_id)
    got = await receive_types(chat.staff_ws, "message.ack", "message.new")
    assert (got["message.ack"]["duplicate"], got["message.ack"]["seq"]) == (False, 2)
    assert got["message.ack"]["id"] != first["id"]


# --- catching up after a lost push ------------------------------------------------------------


@pytest.fixture
def pushes(monkeypatch):
    """Thread-event pushes, with a switch to lose them on the way (the database keeps them)."""
    state = SimpleNamespace(lose=set(), lost=[])
    real_send = events._send

    def maybe_send(group: str, message: dict) -> None:
        if message.get("type") == "hub.thread_event" and message["seq"] in state.lose:
            state.lost.append((group, message))
            return
        real_send(group, message)

    monkeypatch.setattr(events, "_send", maybe_send)
    return state


async def test_a_lost_push_is_replayed_in_order_with_nothing_doubled(chat, pushes):
    pushes.lose = {2, 3}
    await post(chat.staff, chat.thread, "one", "two", "three")
    assert (await chat.member_ws.receive_json_from(timeout=TIMEOUT))["seq"] == 1
    assert await chat.member_ws.receive_nothing()  # 2 and 3 never arrived

    await post(chat.staff, chat.thread, "four")
    frames = [await chat.member_ws.receive_json_from(timeout=TIMEOUT) for _ in range(3)]
    assert [(f["type"], f["seq"], f["message"]["body"]) for f in frames] == [
        ("message.new", 2, "two"),
        ("message.new", 3, "three"),
        ("message.new", 4, "four"),
    ]
    assert await chat.member_ws.receive_nothing()

    # The lost pushes turning up late, or twice, are not shown again (sent the way other
    # workers' pushes arrive).
    for group, message in pushes.lost * 2:
        await events.agroup_send(group, message)
    assert await chat.member_ws.receive_nothing()
    await post(chat.staff, chat.thread, "five")
    assert (await chat.member_ws.receive_json_from(timeout=TIMEOUT))["seq"] == 5
    assert await chat.member_ws.receive_nothing()


async def test_a_later_seq_published_by_hand_triggers_the_replay(chat, pushes):
    pushes.lose = {1, 2}
    await post(chat.staff, chat.thread, "one", "two")
    assert await chat.member_ws.receive_nothing()
    group, message = pushes.lost[-1]  # seq 2, published before seq 1 ever was
    await events.agroup_send(group, message)
    frames = [await chat.member_ws.receive_json_from(timeout=TIMEOUT) for _ in range(2)]
    assert [f["seq"] for f in frames] == [1, 2]
    assert [json.dumps(f, sort_keys=True) for f in frames] == [
        json.dumps(json.loads(text), sort_keys=True)
        for _, _, text in (await stored(chat.thread))["events"]
    ]
    assert await chat.member_ws.receive_nothing()


# --- what a send over the socket writes -------------------------------------------------------


async def test_a_mention_over_the_socket_names_the_thread(chat):
    """The socket's send hands the service the thread as stored: the notification pushed to
    the person mentioned carries the thread's title."""
    await sent(chat.staff_ws, chat.thread, f"@{chat.member.name} please have a look")
    frames = await receive_types(chat.member_ws, "message.new", "notification")
    notification = frames["notification"]
    assert notification["kind"] == "mention"
    assert notification["thread_title"] == "General"
    assert notification["thread"] == chat.thread


async def test_a_user_deactivated_in_the_database_cannot_post_from_an_open_socket(chat):
    """No signal, no stamp, nothing pushed: the socket still remembers an active user, and
    the write itself refuses them, ends the socket and stores nothing."""
    await sent(chat.member_ws, chat.thread, "before")
    await chat.staff_ws.receive_json_from(timeout=TIMEOUT)
    await database_sync_to_async(
        lambda: User.objects.filter(pk=chat.member.pk).update(is_active=False)
    )()
    before = await stored(chat.thread)
    await send(chat.member_ws, chat.thread, "after")
    error = await chat.member_ws.receive_json_from(timeout=TIMEOUT)
    assert (error["type"], error["code"]) == ("error", "access_ended")
    closed = await chat.member_ws.receive_output(timeout=TIMEOUT)
    assert closed == {"type": "websocket.close", "code": 4403}
    assert await stored(chat.thread) == before
    assert await chat.staff_ws.receive_nothing()


# --- subscribing a long way behind -------------------------------------------------------------


@pytest.fixture
def replay_of_five(monkeypatch):
    monkeypatch.setattr(thread_frames, "REPLAY_LIMIT", 5)


async def test_a_subscribe_far_behind_replays_the_newest_batch_and_says_so(chat, replay_of_five):
    await post(chat.staff, chat.thread, *[f"m{n}" for n in range(1, 13)])
    third, _ = await connected(chat.member)
    replay = await subscribe_answer(third, chat.thread, after=0)
    *events, subscribed = replay
    assert [e["seq"] for e in events] == [8, 9, 10, 11, 12]
    assert subscribed == {
        "type": "subscribed",
        "thread": chat.thread,
        "last_seq": 12,
        "truncated": True,
        "first_seq": 8,
        "ref": "s1",
    }
    # What came before is paged with history, up to the first event replayed.
    page = await answer(third, {"type": "history", "thread": chat.thread, "before": 8})
    assert [e["seq"] for e in page["events"]] == [1, 2, 3, 4, 5, 6, 7]
    # Live events go on from there, once each.
    await post(chat.staff, chat.thread, "m13")
    assert (await third.receive_json_from(timeout=TIMEOUT))["seq"] == 13
    assert await third.receive_nothing()
    await third.disconnect()


async def test_a_reconnect_within_the_batch_catches_up_exactly_once_in_order(chat, replay_of_five):
    await post(chat.staff, chat.thread, "m1", "m2", "m3")
    third, _ = await connected(chat.member)
    await subscribe(third, chat.thread, after=3)
    await third.disconnect()
    await post(chat.staff, chat.thread, "m4", "m5", "m6", "m7", "m8")  # five: the batch
    again, _ = await connected(chat.member)
    *events, subscribed = await subscribe_answer(again, chat.thread, after=3)
    assert [(e["seq"], e["message"]["body"]) for e in events] == [
        (4, "m4"),
        (5, "m5"),
        (6, "m6"),
        (7, "m7"),
        (8, "m8"),
    ]
    assert subscribed == {"type": "subscribed", "thread": chat.thread, "last_seq": 8, "ref": "s1"}
    assert await again.receive_nothing()
    await again.disconnect()


async def test_subscribes_are_rate_limited_per_user(chat, settings, monkeypatch):
    settings.ATRIUM_RATE_LIMITS = {"message": (30, 10), "subscribe": (2, 60)}
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 6_000_000.0))
    await post(chat.staff, chat.thread, "hello")
    tab, _ = await connected(chat.member)
    for _ in range(2):
        assert (await subscribe_answer(tab, chat.thread, after=1))[-1]["type"] == "subscribed"
    refused = await subscribe_answer(tab, chat.thread, after=0)
    assert refused == [
        {"type": "error", "code": "rate_limited", "message": refused[0]["message"], "ref": "s1"}
    ]
    assert await tab.receive_nothing()
    # Another person's subscribes are their own.
    staff_tab, _ = await connected(chat.staff)
    assert (await subscribe_answer(staff_tab, chat.thread, after=1))[-1]["type"] == "subscribed"
    await tab.disconnect()
    await staff_tab.disconnect()


async def subscribe_answer(ws, thread: str, after: int) -> list[dict]:
    """Subscribe with a ref; every frame up to and including the answer (or the error)."""
    await ws.send_json_to({"type": "subscribe", "thread": thread, "after": after, "ref": "s1"})
    frames = []
    while True:
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        frames.append(frame)
        if frame["type"] in ("subscribed", "error"):
            return frames
